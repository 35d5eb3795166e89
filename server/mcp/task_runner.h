// Tasks on the /mcp endpoint: when a tools/call becomes a task, how a
// task's handler runs and settles, what each era's client sees of a task.
// The tasks/* methods are methods/tasks.cpp; the state lives in task_table
// (one lite topic per task, task_table.h).
//
// When a call becomes a task:
//  * 2025-11-25: the client asks (params.task) for a tool whose
//    execution.taskSupport is "optional" or "required";
//  * 2026-07-28: the server decides, for clients that declared the
//    extension: a "required" tool is a task from the start; an "optional"
//    one runs as a plain request and becomes a task if it is still running
//    after task_promote (so quick calls, and input asked for at once, stay
//    synchronous).
// A task's handler may ask for input: the task waits in input_required,
// tasks/update brings the answers, and the handler runs again from the
// start with them (request_context::ask). After a restart, tasks that were
// working run again (at-least-once); a worker's task is finished by the
// worker hub, which keeps its calls.
//
// Threading: thread-safe; handlers run on the handler pool, promotions on
// the timer thread. Lifetime: the server's; stop() before the parts it
// refers to go.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "server/mcp/call.h"
#include "server/config/config.h"
#include "server/mcp/task_channel.h"
#include "server/tasks/task_table.h"
#include "server/util/timer_queue.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

inline constexpr std::string_view tasks_extension = "io.modelcontextprotocol/tasks";
inline constexpr std::string_view related_task_key = "io.modelcontextprotocol/related-task";

// What a client sees of a task: the 2025-11-25 Task or the 2026-07-28 one
// (modern), and the 2026-07-28 tasks/get result (without resultType).
json task_view(const task_record& r, bool modern);
json task_detail(const task_record& r);
// Whether a 2026-07-28 client declared the Tasks extension, and the error
// data that says it must.
bool declares_tasks_extension(const json& capabilities);
json missing_tasks_extension();

class task_runner {
public:
    struct parts {
        const mcp_options& options;
        task_table& tasks;
        worker_hub& workers;
        work_pool& handlers;
        timer_queue& timers;
        // With authentication on, a task is its principal's.
        bool authenticated;
        // Runs a call's handler (the dispatcher's run).
        std::function<call_outcome(const std::shared_ptr<call>&)> run_handler;
    };
    explicit task_runner(parts p);

    // Decides whether a tools/call runs as a task: nullopt to run it as a
    // request, else the call's answer (a CreateTaskResult or an error).
    std::optional<rpc_result> gate(const std::shared_ptr<call>& c, const tool& t);
    // Runs (or runs again) a task's handler on the handler pool.
    void run(const std::shared_ptr<task>& t);
    // Applies a run's outcome to the task (c: the run, for the input it
    // found missing; null for a worker's answer after a restart).
    void settle(const std::shared_ptr<task>& t, const call* c, call_outcome outcome);
    // The worker call that c's request filed under `from` now belongs to
    // task t (a promoted call): filed under the task, and the task record
    // names its worker.
    void hand_to_worker(const std::shared_ptr<task>& t, const call_origin& from, const call& c);
    // Another server changed task `id` (its t-changed signal): the copy here
    // is read again, and a handler running here for a task cancelled there
    // is cancelled. Reads the store: not on an I/O or signal thread.
    void changed_elsewhere(const std::string& id);
    // On a shared store: when task t is working with no handler here and no
    // worker, asks whether another server runs it (at most every
    // orphan_recheck per task); when none answers, this server claims it
    // (a compare-and-set on its record, so one server wins) and runs it
    // again, as a restart would. Returns at once.
    void recover_if_orphaned(const std::shared_ptr<task>& t);
    static constexpr std::chrono::seconds orphan_recheck{5};
    // Whether the client of call c may see task r.
    bool visible(const task_record& r, const call& c) const;
    // Runs again the tasks that were working when the server stopped (on a
    // shared store, those no other server runs: recover_if_orphaned).
    void resume();
    // Shutdown, first step: no call becomes a task any more.
    void stop_promotions();
    // Shutdown, once the grace period is over: running tasks are cancelled
    // and no outcome is recorded any more (they stay working and run again
    // after a restart).
    void interrupt();

    // A task's run gets a task_channel made with these.
    task_channel::parts channel_parts() { return {parts_.tasks, settle_fn_}; }
    task_table& table() { return parts_.tasks; }
    worker_hub& workers() { return parts_.workers; }
    const mcp_options& options() const { return parts_.options; }

private:
    // Creates the task for c (durable) and starts it; its CreateTaskResult.
    rpc_result start(const std::shared_ptr<call>& c);
    // A 2026-07-28 call still running when task_promote ends becomes a task.
    void promote(const std::shared_ptr<call>& c);
    // Runs task t again if it is still working with no handler anywhere.
    void claim_and_run(const std::shared_ptr<task>& t);
    // Records that `worker` serves task t. Caller holds t.mu.
    void record_worker(task& t, const std::string& worker);

    parts parts_;
    task_channel::settle_fn settle_fn_;
    std::atomic<bool> promotions_stopped_{false}, interrupted_{false};
};

}  // namespace litemcp::server
