// The in-process provider interface: how tools, resources, resource
// templates, prompts and completions are registered with litemcp, and what a
// handler can do while it runs (request_context).
//
// Threading: the registry is thread-safe (readers share a lock; a change
// notifies the listeners after the lock is released). Handlers run on the
// server's handler pool, one thread per running request, and may block (for
// example while waiting for a sampling answer), unless a tool asks to run on
// the I/O thread (execution::io). Lifetime: the registry is
// owned by the server and outlives every request.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "server/rpc/json_rpc.h"

namespace litemcp::server {

// A JSON-RPC error a handler returns instead of a result.
struct rpc_failure {
    int code = rpc_code::internal_error;
    std::string message;
    std::optional<json> data;
};
using rpc_result = std::expected<json, rpc_failure>;

// The JSON-RPC error response that carries a handler's failure.
inline json error_message(const json& id, const rpc_failure& f) { return make_error(id, f.code, f.message, f.data); }

inline std::unexpected<rpc_failure> fail(int code, std::string message, std::optional<json> data = std::nullopt) {
    return std::unexpected(rpc_failure{code, std::move(message), std::move(data)});
}

// RFC 5424 levels, as MCP's logging uses them.
enum class log_level { debug, info, notice, warning, error, critical, alert, emergency };
std::optional<log_level> parse_log_level(std::string_view s);
std::string_view to_string(log_level l);

// One piece of input a handler needs from the client.
struct input_request {
    std::string key;     // unique within the request (and a task's life)
    std::string method;  // elicitation/create, sampling/createMessage or roots/list
    json params;
};
using input_answers = std::map<std::string, json>;  // key -> the client's result

class request_context {
public:
    virtual ~request_context() = default;
    virtual const std::string& session_id() const = 0;
    virtual const std::string& protocol_version() const = 0;
    virtual const json& client_capabilities() const = 0;
    // notifications/progress for the request's progressToken; nothing without
    // one. Progress must increase; a smaller value is dropped.
    virtual void progress(double progress, std::optional<double> total = std::nullopt,
                          std::optional<std::string> message = std::nullopt) = 0;
    // notifications/message when the session's level lets it through.
    virtual void log(log_level level, json data, std::optional<std::string> logger = std::nullopt) = 0;
    // Any other notification related to this request (sent on its stream).
    virtual void notify(std::string method, json params) = 0;
    // A server-to-client request (sampling/createMessage, elicitation/create,
    // roots/list) on this request's stream; blocks for the client's answer.
    // Fails with -32601 when the client did not declare the capability. In
    // a 2026-07-28 request or a task it is ask() with a key made of the
    // method and the request's place in the handler's sequence.
    virtual rpc_result request(std::string method, json params,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60)) = 0;
    // Asks the client for every input at once; returns the answers, keyed.
    // One API for both eras:
    //  * a legacy session: each input is a real server-to-client request on
    //    the request's stream, and ask() blocks for the answers;
    //  * a 2026-07-28 request or a task: answers the client already gave (in
    //    inputResponses, in the sealed requestState of earlier rounds, or
    //    through tasks/update) are returned; when any is missing, ask()
    //    fails with rpc_code::input_pending, the handler returns that
    //    failure, and the client gets an input_required result (or the task
    //    waits in input_required). The handler runs again from the start
    //    once the answers are in, so it must ask in a deterministic order
    //    and do nothing irreversible before its last ask().
    // Fails with -32021 (missing_capability) when the client did not declare
    // what a method needs (legacy: -32601).
    virtual std::expected<input_answers, rpc_failure> ask(std::vector<input_request> inputs) = 0;
    // True once the client cancelled the request or the session ended.
    virtual bool cancelled() const = 0;
    // Ends the request's SSE stream now (after a retry: hint) while the
    // request goes on; the client resumes with GET + Last-Event-ID and gets
    // the rest from the session's topic. No-op without a stream.
    virtual void close_stream() = 0;
};

// Where a tool's handler runs.
enum class execution {
    // On the handler pool: it may block (sleep, wait for a client's answer).
    pool,
    // On the I/O thread that received the request, with no thread hand-off:
    // for handlers that return in microseconds and never block or wait.
    // request_context::request() fails at once there.
    io,
};

struct tool {
    json definition;  // an MCP Tool: name, title, description, inputSchema, ...
    // Returns a CallToolResult. Argument validation against inputSchema
    // happens before the call.
    std::function<rpc_result(const json& arguments, request_context&)> call;
    execution runs_on = execution::pool;  // Default: pool
    std::string served_by{};  // the worker that serves it; empty for an in-process tool
};

struct resource {
    json definition;  // an MCP Resource: uri, name, mimeType, ...
    std::function<rpc_result(const std::string& uri, request_context&)> read;  // ReadResourceResult
    std::string served_by{};  // the worker that serves it; empty in process
};

struct resource_template {
    json definition;  // an MCP ResourceTemplate: uriTemplate, name, ...
    // Called for a URI matching uriTemplate (simple {var} expansion), with the
    // variables it bound.
    std::function<rpc_result(const std::string& uri, const std::map<std::string, std::string>& vars,
                             request_context&)>
        read;
};

struct prompt {
    json definition;  // an MCP Prompt: name, description, arguments
    std::function<rpc_result(const json& arguments, request_context&)> get;  // GetPromptResult
    std::string served_by{};  // the worker that serves it; empty in process
};

// completion/complete: params as sent; returns a CompleteResult.
using completion_handler = std::function<rpc_result(const json& params, request_context&)>;

enum class list_kind { tools, resources, prompts };

class registry {
public:
    using change_listener = std::function<void(list_kind)>;
    using update_listener = std::function<void(const std::string& uri)>;

    void add_tool(tool t);
    bool remove_tool(const std::string& name);
    void add_resource(resource r);
    void add_resource_template(resource_template t);
    void add_prompt(prompt p);
    void set_completion(completion_handler h);
    // Replaces everything served by a worker (served_by == owner) with these;
    // empty lists remove it. One change notification per list that changed.
    void replace_served(const std::string& owner, std::vector<tool> tools, std::vector<resource> resources,
                        std::vector<prompt> prompts);
    // Tells subscribed sessions that a resource changed (notifications/resources/updated).
    void resource_updated(const std::string& uri);

    // Snapshots in a deterministic order (by name / uri).
    std::vector<std::shared_ptr<const tool>> tools() const;
    std::shared_ptr<const tool> find_tool(const std::string& name) const;
    std::vector<std::shared_ptr<const resource>> resources() const;
    std::shared_ptr<const resource> find_resource(const std::string& uri) const;
    std::vector<std::shared_ptr<const resource_template>> templates() const;
    // The first template whose uriTemplate matches uri, with its variables.
    std::pair<std::shared_ptr<const resource_template>, std::map<std::string, std::string>> match_template(
        const std::string& uri) const;
    std::vector<std::shared_ptr<const prompt>> prompts() const;
    std::shared_ptr<const prompt> find_prompt(const std::string& name) const;
    completion_handler completion() const;

    void on_list_changed(change_listener l);
    void on_resource_updated(update_listener l);

private:
    void changed(list_kind k);
    mutable std::shared_mutex mu_;
    std::map<std::string, std::shared_ptr<const tool>> tools_;
    std::map<std::string, std::shared_ptr<const resource>> resources_;
    std::map<std::string, std::shared_ptr<const resource_template>> templates_;
    std::map<std::string, std::shared_ptr<const prompt>> prompts_;
    completion_handler completion_;
    std::vector<change_listener> change_listeners_;
    std::vector<update_listener> update_listeners_;
};

// Matches uri against an RFC 6570 level-1 template ("test://template/{id}/data").
std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view tmpl, std::string_view uri);

}  // namespace litemcp::server
