// litemcp as an MCP client of one upstream server over Streamable HTTP.
// The 2025 revisions: initialize and notifications/initialized, the
// Mcp-Session-Id and MCP-Protocol-Version headers, answers as JSON or as an
// event stream carrying the server's notifications and requests before the
// response, resuming such a stream with Last-Event-ID when the server ends
// it early (SEP-1699), a new session when the server forgot ours (404, or
// 400 as some SDK servers answer), and servers that keep no session at all.
// A server that refuses initialize and answers server/discover with
// 2026-07-28 is spoken to in that revision: no session, every request built
// as modern_request.h says (the _meta envelope, the routing headers); a
// cancellation is the end of the request's stream. A server that refuses
// both but opens an event stream on a GET is spoken to over the HTTP+SSE
// transport of 2024-11-05 (legacy_stream.h): every request is POSTed to the
// stream's endpoint and answered on the stream, where responses find their
// request by id and progress by its token; a log message or a request of
// the server's goes to the one call running (the transport does not say
// which call it is about; with several running, such a request is refused).
//
// Threading: every method may be called from any thread and never blocks;
// the callbacks run on the HTTP client's thread, must not block, and are
// never called with a lock of this class held. Whatever the server sends,
// nothing here throws: a message that is not what MCP says is the
// exchange's failure. Lifetime: shared; an exchange holds the client (and
// the client the HTTP client) until its response callback has run.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"
#include "server/upstreams/legacy_stream.h"
#include "server/upstreams/modern_request.h"
#include "server/upstreams/upstream_failure.h"
#include "transport/http_client.h"

namespace litemcp::server {

// How one request of mcp_client's is bounded.
struct mcp_request_options {
    // The whole exchange's bound instead of the request timeout.
    std::optional<std::chrono::milliseconds> timeout;
    // Once the server streams its answer it may stay silent for any time (a
    // forwarded call waiting for a client's answer: the caller bounds it);
    // otherwise silence is bounded by the timeout too.
    bool patient = false;
};

class mcp_client : public std::enable_shared_from_this<mcp_client> {
public:
    struct options {
        std::string url;
        std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
        // How long the server may take to answer a request of litemcp's own
        // (initialize, lists, ping) and to start answering any. Default: 60 s.
        std::chrono::milliseconds request_timeout{60'000};
        // The largest message the server may send (one JSON answer or event). Default: 8 MiB.
        std::size_t max_message_bytes = 8 * 1024 * 1024;
        // Runs f after a delay: the server's retry hint before resuming a
        // stream (unset: at once), and the bounds of the HTTP+SSE transport
        // (the endpoint event, each response on the stream; unset: none --
        // set it wherever such a server may be met, as upstreams does).
        std::function<void(std::chrono::milliseconds, std::function<void()>)> later;
    };
    using request_options = mcp_request_options;
    // A message of the server's within one exchange: a notification, or a
    // request to the client (sampling, elicitation, roots).
    using message_fn = std::function<void(json message)>;
    // The JSON-RPC response (a result or an error object), or why none came.
    using response_fn = std::function<void(std::expected<json, upstream_failure>)>;

    // One request in flight; cancel() ends it (its response_fn gets kind::cancelled).
    class exchange {
    public:
        void cancel();

    private:
        friend class mcp_client;
        // The HTTP exchange carrying it now (the POST, or a GET resuming
        // it); false when cancelled already.
        bool carry(std::shared_ptr<transport::client_exchange> x);
        std::mutex mu_;
        std::shared_ptr<transport::client_exchange> current_;
        bool cancelled_ = false;
    };

    static std::shared_ptr<mcp_client> make(std::shared_ptr<transport::http_client> http, options o);
    mcp_client(std::shared_ptr<transport::http_client> http, options o) : http_(std::move(http)), opts_(std::move(o)) {}

    // initialize, then notifications/initialized; done gets the server's
    // InitializeResult once the server took both. A server that refuses
    // initialize is asked server/discover; one that speaks 2026-07-28 gets
    // done with an InitializeResult made of its DiscoverResult
    // (protocolVersion, capabilities, serverInfo, instructions).
    void connect(std::function<void(std::expected<json, upstream_failure>)> done);
    // A request with the caller's id (unique among those in flight).
    // Messages of the server about it go to on_message, in order, before the
    // response.
    std::shared_ptr<exchange> request(const std::string& method, json params, json id, message_fn on_message,
                                      response_fn on_response, request_options o = {});
    // A notification or a response of ours (POSTed; the server answers 202).
    void send(json message);
    // The server's own stream (a GET): its notifications that belong to no
    // request (list_changed), each to on_message. on_end runs once when it
    // ends: no_stream is true when the server offers none (405, or no
    // session), so trying again is useless. Silence is not bounded here:
    // the caller's pings say the server lives.
    std::shared_ptr<exchange> listen(message_fn on_message, std::function<void(bool no_stream, std::string why)> on_end);
    // Every page of a list (tools/list, resources/list, prompts/list): the
    // items of `field` from all pages (at most 10,000 items, 100 pages).
    void list_all(const std::string& method, const std::string& field,
                  std::function<void(std::expected<json, upstream_failure>)> done);
    // Ends the session at the server (DELETE), if it keeps one.
    void close();

    std::string protocol_version() const;
    std::string session_id() const;
    // Whether the server speaks 2026-07-28 (stateless, no ping: server/discover
    // says it lives; no notifications of the client's).
    bool modern() const;
    // The server's tools as it lists them: in 2026-07-28 a tools/call carries
    // the arguments a tool's inputSchema marks with x-mcp-header again as
    // Mcp-Param-<name> headers.
    void take_tools(const json& tools);
    // Whether the server runs this tool of its only as a task (a 2025-11-25
    // server's execution.taskSupport "required"): it is called with
    // params.task.
    bool needs_task(const std::string& tool) const;

private:
    struct exchange_state;
    class legacy_wait;
    // One POST of a message; once more on a new session after the server
    // said it does not know ours.
    void post(json message, std::shared_ptr<exchange> ex, message_fn on_message, response_fn on_response,
              bool may_reconnect, request_options o);
    // The answer's stream ended after event `last_id` without the response:
    // a GET with Last-Event-ID, after the server's retry hint.
    void resume(std::shared_ptr<exchange_state> st);
    transport::client_request make_request(const json& message, const request_options& o) const;
    // server/discover at 2026-07-28 after initialize was refused (why).
    void discover(std::string why, std::function<void(std::expected<json, upstream_failure>)> done);
    void list_page(const std::string& method, const std::string& field, json cursor, json items, int pages,
                   std::function<void(std::expected<json, upstream_failure>)> done);
    // initialize and notifications/initialized; fall_back: a refusal asks
    // server/discover (and then tries the HTTP+SSE transport).
    void initialize(std::function<void(std::expected<json, upstream_failure>)> done, bool fall_back);

    // ---- the HTTP+SSE transport (2024-11-05) ----
    bool legacy() const;
    // Opens a stream and initializes over it; why: what was refused before (for the message).
    void open_legacy(std::string why, std::function<void(std::expected<json, upstream_failure>)> done);
    // A new stream and session once the last has ended: one at a time, the
    // callers meanwhile wait for the same one.
    void reconnect_legacy(std::function<void(std::expected<json, upstream_failure>)> then);
    void post_legacy(std::shared_ptr<exchange_state> st);
    void on_stream_message(json m, const legacy_stream* via);
    void on_stream_end(const legacy_stream* via, const std::string& why);
    // Drops st from pending_ (answered, failed or cancelled).
    void unpend(const std::string& key, const std::shared_ptr<exchange_state>& st);

    std::shared_ptr<transport::http_client> http_;
    const options opts_;
    mutable std::mutex mu_;
    std::string session_;   // Mcp-Session-Id; empty: the server keeps none
    std::string version_;   // negotiated in initialize (or 2026-07-28, discovered)
    bool modern_ = false;
    modern_request::tool_header_params header_params_;
    std::set<std::string> task_tools_;  // needs_task()
    std::uint64_t generation_ = 0;  // bumps with each new session
    std::atomic<std::uint64_t> next_id_{1};  // ids of the client's own requests (initialize, lists, ping)
    // The HTTP+SSE transport: set once the server was found to speak it.
    bool legacy_ = false;
    std::shared_ptr<legacy_stream> stream_;  // the session's stream; null or ended: open a new one
    struct pending {
        std::shared_ptr<exchange_state> st;
        const legacy_stream* via;  // the stream it was sent on: fails when that one ends
    };
    std::map<std::string, pending> pending_;  // requests awaiting their response, by id (JSON text)
    message_fn listener_;                     // listen()'s, for the messages of no request
    std::function<void(bool, std::string)> listen_end_;
    bool reconnecting_ = false;  // a new stream is being opened and initialized
    std::vector<std::function<void(std::expected<json, upstream_failure>)>> reconnect_waiters_;
    bool closed_ = false;  // close() was called: no stream is opened any more
};

}  // namespace litemcp::server
