// The instance of an upstream's worker inside litemcp (docs/workers.md,
// "Register your MCP server"): the hub delivers the worker's calls to it as
// it would to a worker's instance -- it is one, to the hub -- and it
// forwards each call to the upstream server with litemcp's MCP client. What
// comes back is reported as a worker would answer: progress and log
// messages, the result (or the server's JSON-RPC error), or a failed
// attempt when the server could not be reached, which the hub retries. The
// server's requests while it works on a call (sampling, elicitation, roots)
// go to the calling client, and its answer back to the server; a 2026-07-28
// server's input_required rounds are asked of the calling client the same
// way, and the request sent again with the answers. A call the server runs
// as a task (a tool whose execution.taskSupport is "required" at a
// 2025-11-25 server, or whatever a 2026-07-28 server makes one of) is
// followed to its end: polled with tasks/get, its input asked of the
// calling client, its result the call's (upstream_tasks.cpp).
//
// Each forwarded request carries the call's id as an idempotency key in
// _meta ("io.litemcp/deliveryId") and the attempt ("io.litemcp/attempt"):
// at-least-once means a server may see a call twice.
//
// Threading: the instance_channel methods may be called from any thread, with the
// hub's mutex held: they never block and never call the hub; reports go
// through `report`, which must not call the hub on the caller's thread
// either (upstreams posts them to its own thread). Lifetime: shared by the
// hub (as an instance) and upstreams; it ends when either closes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/json/json.h"
#include "server/upstreams/mcp_client.h"
#include "server/upstreams/upstream_definition.h"
#include "server/workers/instance_channel.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

class upstream_instance : public instance_channel, public std::enable_shared_from_this<upstream_instance> {
public:
    struct parts {
        upstream_definition definition;
        std::shared_ptr<mcp_client> client;
        // An answer for the hub, as worker_hub::answer_as_instance takes it.
        std::function<void(const std::string& call_id, const std::string& action, json body)> report;
        // The server could not be reached for a call (upstreams checks its health).
        std::function<void(const std::string& why)> unreachable;
        // A request of the server's to the calling client (sampling,
        // elicitation, roots): done gets {"result"} or {"error"} to send back.
        std::function<void(const std::string& call_id, std::string method, json params, std::function<void(json)> done)>
            ask;
        // Any other notification of the server's sent while it answers a
        // call (list_changed): the same as on its own stream.
        std::function<void(json notification)> notice;
        // Runs a function later, off the caller's thread (on_closed callbacks).
        std::function<void(std::function<void()>)> later;
        // Runs a function after a delay, off the caller's thread (polling a task).
        std::function<void(std::chrono::milliseconds, std::function<void()>)> after;
    };
    explicit upstream_instance(parts p) : p_(std::move(p)) {}

    // ---- instance_channel: the hub's side ----
    bool send(std::string_view offset, const json& message) override;
    void close() override;
    void abort() override { close(); }
    bool is_open() const override;
    void on_closed(std::function<void()> f) override;

    std::size_t in_flight() const;
    // The calls forwarded and not answered yet (their invisibility is
    // extended while the server works on them: the open exchange says it does).
    std::vector<std::string> call_ids() const;

private:
    // False when this instance is closed (the hub then counts no delivery).
    bool forward(worker_messages::delivered_call call);
    // Sends the flight of call_id, if rpc_id is still its attempt.
    void send_flight(const std::string& call_id, const std::string& rpc_id);
    // A 2026-07-28 input_required result: each input asked of the calling
    // client, then the request again with the answers (at most 8 rounds).
    void input_round(const std::string& call_id, const std::string& rpc_id, const json& result);
    // Asks each of a server's inputRequests of the calling client (at most
    // 4 at once, 8 rounds a call): then() gets the answers by key; the first
    // error fails the call.
    void gather_inputs(const std::string& call_id, const std::string& rpc_id, const json& requests,
                       std::function<void(json responses)> then);
    struct flight;
    // Removes call_id's flight, if rpc_id is its attempt.
    std::optional<flight> take_flight(const std::string& call_id, const std::string& rpc_id);
    // Ends call_id's flight, if rpc_id is its attempt, with a JSON-RPC error for the client.
    void fail_call(const std::string& call_id, const std::string& rpc_id, int code, const std::string& message,
                   std::optional<json> data = std::nullopt);

    // ---- a call the server runs as a task (upstream_tasks.cpp) ----
    // Whether a tools/call result is a task's handle (2025-11-25: {task};
    // 2026-07-28: resultType "task").
    static bool is_task_handle(const json& result);
    // The task inside a handle: 2025-11-25 wraps it in "task", 2026-07-28 does not.
    static const json& task_of(const json& result);
    // The call's answer is a task's handle: the task is followed from there.
    void task_started(const std::string& call_id, const std::string& rpc_id, const json& result);
    // What to do with the task's state (its handle, or a tasks/get answer).
    void task_status(const std::string& call_id, const std::string& rpc_id, const json& task);
    // Sends a request about call_id's task as the flight's next exchange.
    void task_request(const std::string& call_id, const std::string& rpc_id, const std::string& method, json params);
    void on_task_answer(const std::string& call_id, const std::string& rpc_id, const std::string& method,
                        std::expected<json, upstream_failure> r);
    // Ends the flight (if rpc_id is its attempt) with r as the call's answer.
    void task_ended(const std::string& call_id, const std::string& rpc_id, std::expected<json, upstream_failure> r);
    // tasks/cancel for a task the server made of a call given up (none: nothing).
    void cancel_task(const std::string& rpc_id, const std::string& task_id);
    void cancel(const std::string& call_id, const std::string& reason);
    // A message of the server's while it works on a call.
    void on_message(const std::string& call_id, const std::string& rpc_id, json m);
    void on_response(const std::string& call_id, const std::string& rpc_id, std::expected<json, upstream_failure> r);
    // The call's answer (its flight ended): a result, the server's error, or a failed attempt.
    void conclude(const std::string& call_id, const std::string& rpc_id, std::expected<json, upstream_failure> r,
                  const std::string& asked_uri, const std::string& listed_uri);
    static std::uint64_t wall_ms();
    // Whether rpc_id is the attempt of call_id in flight here.
    bool current(const std::string& call_id, const std::string& rpc_id) const;

    parts p_;
    mutable std::mutex mu_;
    struct flight {
        std::string rpc_id;  // the request's id at the server: call id "/" attempt, "#" round
        std::shared_ptr<mcp_client::exchange> exchange;
        std::string method;  // the request, kept to send again with a 2026-07-28 server's input
        json params;
        mcp_client::request_options options;
        int rounds = 0;
        std::string listed_uri;  // resources/read: the URI as litemcp lists it (namespaced or not)
        std::uint64_t deadline_ms = 0;  // the call's, ms since the epoch; 0: none
        // The task the server made of the call, how often to ask how it
        // does, and how many requests about it were sent (rpc ids "#t<n>").
        std::string task_id;
        std::chrono::milliseconds poll{1'000};
        int task_requests = 0;
        // The inputs answered with the last tasks/update, until the task
        // is seen working again: a server that records them a moment later
        // may still list them as asked, and the client is not asked twice.
        std::set<std::string> answered_inputs;
    };
    std::map<std::string, flight> flights_;  // by call id
    bool open_ = true;
    std::vector<std::function<void()>> closed_;
};

}  // namespace litemcp::server
