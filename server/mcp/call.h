// One client request being executed (a call) and where its messages and its
// answer go (its reply channel).
//
// A call is the request alone: its id, method and parameters, its cancel
// flag, the input a 2026-07-28 handler gathered so far. Everything that
// depends on who asked and how the answer travels is the channel's, and
// there are three kinds of it:
//  * session_channel (session_channel.h): a legacy session's request. Each
//    message is appended to the session's topic, then written to the POST
//    stream; the answer is the stream's final record. Server-to-client
//    requests are real requests on that stream.
//  * direct_channel (direct_channel.h): a 2026-07-28 request. Messages go
//    straight to the response (SSE or one JSON body); nothing is stored.
//    Input comes back in rounds; the call may become a task while it runs.
//  * task_channel (task_channel.h): a task's run. Messages go to the task's
//    topic; the answer settles the task.
// The handler's context (dispatcher.h) and the worker hub reach the client
// only through the channel.
//
// Threading: a call is shared by its handler and the store callbacks that
// record its messages; its cancel flag and hand-off mark are atomics, the
// rest is set before the handler runs. A channel is thread-safe (each says
// how). Lifetime: a call lives while anything refers to it; its channel as
// long as the call.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/workers/call_origin.h"
#include "server/mcp/method_table.h"
#include "server/rpc/provider.h"

namespace litemcp::server {

class metrics;
class reply_channel;
struct session_state;
struct task;

// A handler's outcome: its result or its error; nullopt when the call was
// cancelled (a cancelled request gets no response).
using call_outcome = std::optional<rpc_result>;

// The outcome a JSON-RPC response message carries (a worker's answer).
call_outcome outcome_of(std::optional<json> response);

struct call {
    json id;
    std::string id_key;  // the id's JSON text (its key in session_state::running)
    std::string method;
    json params;
    std::optional<json> progress_token;
    std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    execution runs_on = execution::pool;
    // Its entry in the method table and, for tools/call, the registry's
    // tool, looked up once by placement() (entry null: not looked up yet or
    // no such method; placed_tool null: not registered in-process, maybe a
    // worker's; nullopt: not looked up).
    const mcp_method* entry = nullptr;
    std::optional<std::shared_ptr<const tool>> placed_tool;
    // When it arrived (for the duration metric); nullopt for a call
    // restored after a restart.
    std::optional<std::chrono::steady_clock::time_point> arrived = std::chrono::steady_clock::now();
    // Handed to a worker: the worker's answer completes the call later, and
    // it no longer counts as in flight here.
    std::atomic<bool> deferred{false};
    // Input of a multi round-trip request (2026-07-28 or a task): the
    // answers the client gave so far (key -> result), what the handler's
    // last ask() found missing (key -> {method, params}), and the request()
    // calls made so far, which name their keys.
    json answers = json::object();
    json input_requests = json::object();
    int requests_made = 0;
    std::shared_ptr<reply_channel> channel;
};

// How a call may ask its client for input.
using input_outcome = std::expected<input_answers, rpc_failure>;

class reply_channel {
public:
    virtual ~reply_channel() = default;

    // ---- who asked ----
    virtual const std::string& version() const = 0;    // the protocol version
    virtual const json& capabilities() const = 0;      // the client's capabilities
    virtual const std::string& principal() const = 0;  // who is authenticated (empty without authentication)
    // The era whose rules the call follows.
    virtual era rules() const = 0;
    virtual call_origin origin() const = 0;
    // Whether a notifications/message at this level goes out.
    virtual bool wants_log(log_level level) const = 0;
    // True once nobody can get the answer any more (the session ended).
    virtual bool ended() const { return false; }
    // The legacy session the call belongs to; null for a 2026-07-28
    // request or a task's run.
    virtual session_state* session() const { return nullptr; }
    // The task the call runs for (a task's run, or a 2026-07-28 call that
    // became one); null otherwise.
    virtual std::shared_ptr<task> owning_task() const { return nullptr; }

    // ---- the call's life ----
    // Before the handler runs: the response stream starts, if it has one.
    virtual void open(const std::shared_ptr<call>& c) = 0;
    // A message the handler produced; messages go out in the order emitted.
    virtual void emit(const std::shared_ptr<call>& c, const json& msg) = 0;
    // request_context::request and ask (provider.h): real server-to-client
    // requests on a session, input rounds otherwise.
    virtual rpc_result request(const std::shared_ptr<call>& c, std::string method, json params,
                               std::chrono::milliseconds timeout) = 0;
    virtual input_outcome ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) = 0;
    // request_context::close_stream: ends the response stream early.
    virtual void close_stream() {}
    // Why the answer cannot come later from elsewhere (a worker); nullopt
    // when it can.
    virtual std::optional<std::string> why_not_later(const call&) const { return std::nullopt; }
    // The answer; called once.
    virtual void finish(const std::shared_ptr<call>& c, call_outcome outcome) = 0;

    // ---- becoming a task (2026-07-28, task_promote) ----
    // Arms the promotion of a running call; false when the channel cannot
    // become a task.
    virtual bool arm_promotion() { return false; }
    // What a promotion made: the task's channel and its handle (a
    // CreateTaskResult).
    struct promoted_to {
        std::shared_ptr<reply_channel> channel;
        json handle;
    };
    using task_maker = std::function<std::expected<promoted_to, rpc_failure>()>;
    // When the call is armed and not answered yet: runs make (with the call
    // held unanswered; make must not use this channel) and answers the
    // client with the handle, or with make's error (and cancels the call).
    // True when the call is a task now.
    virtual bool promote(const std::shared_ptr<call>&, const task_maker&) { return false; }
};

// What the server counts of the calls it answers: how many are in flight
// (a graceful stop waits for them) and how long each took.
// Threading: thread-safe. Lifetime: the server's.
class call_meter {
public:
    explicit call_meter(metrics& m) : metrics_(m) {}
    void arrived() { in_flight_++; }
    // A call answered: its duration is observed; it leaves the count unless
    // it left when it was handed to a worker.
    void answered(const call& c);
    // A call handed to a worker, or refused before it ran.
    void left() { in_flight_--; }
    std::uint64_t in_flight() const { return in_flight_.load(); }

private:
    metrics& metrics_;
    std::atomic<std::uint64_t> in_flight_{0};
};

}  // namespace litemcp::server
