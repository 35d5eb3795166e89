// The reply channel of a task's run (call.h, task_table.h): the handler's
// messages are records of the task's topic, its input comes back in rounds
// (tasks/update, or tasks/result asking on a legacy session's stream), and
// its answer settles the task: completed, failed, input_required or
// cancelled (task_runner.h). Nothing is written to a client here: clients
// poll with tasks/get or read status notifications.
//
// Threading: thread-safe (the task table is). Lifetime: owned by the call;
// it keeps the task.
#pragma once

#include <functional>
#include <memory>

#include "server/mcp/call.h"
#include "server/tasks/task_table.h"

namespace litemcp::server {

class task_channel : public reply_channel {
public:
    // Applies a run's outcome to its task (call: the run, for the input it
    // found missing).
    using settle_fn = std::function<void(const std::shared_ptr<task>&, const call*, call_outcome)>;
    struct parts {
        task_table& tasks;
        const settle_fn& settle;
    };
    // Takes who asked from the task's record (t->mu is taken).
    task_channel(parts p, std::shared_ptr<task> t);

    const std::string& version() const override { return version_; }
    const json& capabilities() const override { return capabilities_; }
    const std::string& principal() const override { return principal_; }
    era rules() const override { return rules_; }
    call_origin origin() const override { return {call_origin::kind::task, id_, {}}; }
    bool wants_log(log_level) const override { return false; }  // nobody reads log messages of a task
    std::shared_ptr<task> owning_task() const override { return task_; }

    void open(const std::shared_ptr<call>&) override {}
    void emit(const std::shared_ptr<call>& c, const json& msg) override;
    rpc_result request(const std::shared_ptr<call>& c, std::string method, json params,
                       std::chrono::milliseconds timeout) override;
    input_outcome ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) override;
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override;

private:
    parts parts_;
    std::shared_ptr<task> task_;
    std::string id_, version_, principal_;
    json capabilities_;
    era rules_;
};

}  // namespace litemcp::server
