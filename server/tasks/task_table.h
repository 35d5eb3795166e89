// Tasks: long-running tools/call requests whose state outlives the HTTP
// exchange that started them (the 2026-07-28 Tasks extension and the
// experimental tasks of 2025-11-25 share this one implementation).
//
// A task T owns the lite topic mcp.task/T: every status transition, progress
// notification, input request and the final result is a record there, in
// order. The latest state is also kept in the index (key task/T), so
// tasks/get is one read; it is written after the topic record, and a task is
// durable (both written) before its handle is returned to the client.
// Expiry: a task lives ttlMs from its creation, whatever its status; a
// deadline key (taskexp/<ms>/T) lets expire_due() find the expired ones
// without scanning, and it removes the topic and the record together.
//
// Threading: task_table is thread-safe. A task's mutable parts are guarded
// by its own mutex; save() must be called with that mutex held, so the
// records of one task are written in the order of its transitions.
// Lifetime: unfinished tasks stay in memory; finished ones are read from the
// index on demand.
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
    std::shared_ptr<call> running;    // the handler's call while one runs here
    bool cancel_requested = false;
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
    // when there is none (or it expired).
    std::shared_ptr<task> find(const std::string& id);
    // Records the task's current state after a transition: appends `event`
    // (with the state) to its topic, then rewrites its index record.
    // Caller holds t.mu.
    store::result<void> save(task& t, std::string_view event, json detail = nullptr);
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

private:
    void forget(const std::string& id, std::int64_t deadline_ms);
    store::store& st_;
    task_table_options options_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<task>> live_;  // unfinished tasks
    std::function<void(const task_record&)> on_saved_;
    std::atomic<std::uint64_t> created_{0}, completed_{0}, failed_{0}, cancelled_{0}, expired_{0};
};

}  // namespace litemcp::server
