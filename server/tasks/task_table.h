// Tasks: long-running tools/call requests whose state outlives the HTTP
// exchange that started them (the 2026-07-28 Tasks extension and the
// experimental tasks of 2025-11-25 share this one implementation).
//
// A task T owns the lite topic mcp.task/T: every status transition, progress
// notification, input request and the final result is a record there, in
// order. The latest state is also kept in the index (key task/T), so
// tasks/get is one read; a task is durable (both written) before its handle
// is returned to the client.
// Expiry: a task lives ttlMs from its creation, whatever its status; a
// deadline key (taskexp/<ms>/T) lets expire_due() find the expired ones
// without scanning, and it removes the topic and the record together.
//
// Several servers may change one task (a JetStream store: input given
// through one server, a cancellation through another, the handler running
// on a third). So the index record is the truth and every change is a
// compare-and-set on it (update()): a server whose copy is stale reads the
// record again and applies its change to what it finds, or finds nothing to
// do (the task ended meanwhile). After each change the others hear a
// "t-changed" signal (store::signal) and re-read their copies (refresh()).
//
// Threading: task_table is thread-safe. A task's mutable parts are guarded
// by its own mutex; update() and refresh() must be called with that mutex
// held, so the records of one task are written in the order of its
// transitions. Lifetime: unfinished tasks stay in memory; finished ones are
// read from the index on demand.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <expected>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/rpc/json_rpc.h"
#include "store/store.h"

namespace litemcp::server {

struct call;

enum class task_status { working, input_required, completed, failed, cancelled };
std::string_view to_string(task_status s);
std::optional<task_status> parse_task_status(std::string_view s);
inline bool terminal(task_status s) {
    return s == task_status::completed || s == task_status::failed || s == task_status::cancelled;
}

// What the index keeps of a task.
struct task_record {
    std::string id;                 // 128 random bits, hex
    task_status status = task_status::working;
    std::string status_message;
    std::int64_t created_ms = 0, updated_ms = 0, ttl_ms = 0, poll_interval_ms = 0;
    std::string principal;          // who created it (authentication on); empty otherwise
    std::string session;            // the legacy session that created it; empty for 2026-07-28
    std::string version;            // the protocol version of the request
    json client_capabilities = json::object();
    json params = json::object();   // the tools/call params (name, arguments), to run it again
    json answers = json::object();          // input the client gave (key -> result)
    json input_requests = json::object();   // input still wanted (key -> {method, params})
    std::optional<json> result;     // completed: the CallToolResult
    std::optional<json> error;      // failed: {code, message, data?}
    std::string worker;             // the worker serving it, once handed over

    json to_json() const;
    static std::optional<task_record> from_json(const json& j);
};

struct task {
    std::mutex mu;
    std::condition_variable changed;  // notified on every saved transition
    task_record rec;
    std::string stored;               // the record as the index holds it (what update() compares)
    std::shared_ptr<call> running;    // the handler's call while one runs here
    bool cancel_requested = false;
    std::chrono::steady_clock::time_point asked{};  // last t-live question about it (shared stores)
};

struct task_table_options {
    std::uint64_t max_active = 10'000;  // unfinished tasks at once. Default: 10,000
};

class task_table {
public:
    task_table(store::store& st, task_table_options options);

    // Writes a new task (its first topic record, then its index record);
    // nullptr with a message when the table is full or the store failed.
    std::expected<std::shared_ptr<task>, std::string> create(task_record rec);
    // An unfinished task from memory, or any task from the index; nullptr
    // when there is none (or it expired). On a shared store the copy in
    // memory is read again first.
    std::shared_ptr<task> find(const std::string& id);
    // An unfinished task already in memory (no store read); nullptr if none.
    std::shared_ptr<task> loaded(const std::string& id) const;
    // One transition of task t. `change` edits a copy of its record and
    // names the event (nullopt: nothing to change, the record is left
    // alone); the copy replaces the index record if that still holds what t
    // last saw, else t is read again and `change` runs on the new state.
    // Then the event (with the state and detail) is appended to the task's
    // topic and the other servers are told. Returns the event recorded, or
    // nullopt; an error when the store failed or the task is gone.
    // Caller holds t.mu.
    using change_fn = std::function<std::optional<std::string>(task_record&)>;
    store::result<std::optional<std::string>> update(task& t, const change_fn& change, json detail = nullptr);
    // Reads t's record again when other servers may have changed it (a shared
    // store); true when it had changed. A task found cancelled elsewhere has
    // its running handler cancelled. Caller holds t.mu.
    bool refresh(task& t);
    // Appends a record to the task's topic without changing its state
    // (progress, log messages).
    void note(const task& t, json message);
    // Task records, by id, after `after`, for which keep() holds.
    std::vector<task_record> list(const std::function<bool(const task_record&)>& keep, const std::string& after,
                                  std::size_t limit);
    // Unfinished tasks found in the index at start (they are loaded into memory).
    std::vector<std::shared_ptr<task>> load_unfinished();
    // Removes tasks whose lifetime ended; returns how many.
    std::size_t expire_due();
    // The store reclaimed mcp.task/<id> (idle beyond the parent's TTL).
    void reclaimed(std::string_view topic);
    std::size_t active() const;
    // Tasks created since start, and tasks that ended, by final status.
    struct counts {
        std::uint64_t created = 0, completed = 0, failed = 0, cancelled = 0, expired = 0;
    };
    counts totals() const;
    // Called after every saved transition, with the task's mutex held: it
    // must not block (status notifications are appended asynchronously).
    // Set once, before the table is used.
    void on_saved(std::function<void(const task_record&)> f) { on_saved_ = std::move(f); }
    // The unfinished tasks in memory now.
    std::vector<std::shared_ptr<task>> unfinished() const;

    static constexpr std::string_view parent = "mcp.task";
    // What the servers sharing a store tell each other about tasks
    // (store::signal; the payload is the task id):
    //   t-changed  its record changed: read it again (task_runner)
    //   t-live     a question: "1" from a server whose handler runs it
    static constexpr std::string_view changed_signal = "t-changed";
    static constexpr std::string_view live_question = "t-live";
    static constexpr std::chrono::milliseconds live_wait{250};
    bool shared() const { return st_.shared(); }
    // Asks the other servers whether one runs task id's handler; done runs
    // on a store thread.
    void ask_live(const std::string& id, std::function<void(bool)> done);
    // The answer to t-live here: never blocks (a task being changed counts
    // as running).
    std::optional<std::string> answer_live(const std::string& id) const;

private:
    // Every unexpired task record after `after`, in id order, with its text,
    // until each returns false.
    void scan(const std::function<bool(task_record&&, std::string&&)>& each, const std::string& after);
    // Reads t's record from the index into t; false when it is gone.
    store::result<bool> reread(task& t);
    // After t's record changed (here or elsewhere): counts, memory, waiters.
    void changed(task& t, bool here);
    void forget(const std::string& id, std::int64_t deadline_ms);
    store::store& st_;
    task_table_options options_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<task>> live_;  // unfinished tasks
    std::function<void(const task_record&)> on_saved_;
    std::atomic<std::uint64_t> created_{0}, completed_{0}, failed_{0}, cancelled_{0}, expired_{0};
};

}  // namespace litemcp::server
