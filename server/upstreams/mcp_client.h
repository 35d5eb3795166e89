// litemcp as an MCP client of one upstream server over Streamable HTTP
// (2025 revisions): initialize and notifications/initialized, the
// Mcp-Session-Id and MCP-Protocol-Version headers, answers as JSON or as an
// event stream carrying the server's notifications and requests before the
// response, a new session when the server forgot ours (404), and servers
// that keep no session at all (no Mcp-Session-Id: every request stands alone).
//
// Threading: every method may be called from any thread and never blocks;
// the callbacks run on the HTTP client's thread, must not block, and are
// never called with a lock of this class held. Lifetime: shared; an exchange
// holds the client until its response callback has run.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"
#include "transport/http_client.h"

namespace litemcp::server {

// Why a request got no JSON-RPC response.
struct upstream_failure {
    enum class kind {
        unreachable,  // no connection, a timeout, a broken stream: the request may be sent again
        refused,      // the server answered with an HTTP error that a retry will not mend (4xx but 404/408/429)
        garbage,      // the server's answer is not MCP (not JSON, no response)
        cancelled,    // cancel() was called
    };
    kind what = kind::unreachable;
    std::string message;
};

class mcp_client : public std::enable_shared_from_this<mcp_client> {
public:
    struct options {
        std::string url;
        std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
        // The longest silence while the server answers one request. Default: 60 s.
        std::chrono::milliseconds request_timeout{60'000};
        // The largest message the server may send (one JSON answer or event). Default: 8 MiB.
        std::size_t max_message_bytes = 8 * 1024 * 1024;
    };
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
        std::mutex mu_;
        std::shared_ptr<transport::client_exchange> current_;
        bool cancelled_ = false;
    };

    static std::shared_ptr<mcp_client> make(transport::http_client& http, options o);

    // initialize, then notifications/initialized; done gets the server's
    // InitializeResult. Again after the server forgot the session.
    void connect(std::function<void(std::expected<json, upstream_failure>)> done);
    // A request with the caller's id (unique among those in flight).
    // Messages of the server about it go to on_message, in order, before the
    // response.
    std::shared_ptr<exchange> request(const std::string& method, json params, json id, message_fn on_message,
                                      response_fn on_response);
    // A notification or a response of ours (POSTed; the server answers 202).
    void send(json message);
    // Every page of a list (tools/list, resources/list, prompts/list): the
    // items of `field` from all pages.
    void list_all(const std::string& method, const std::string& field,
                  std::function<void(std::expected<json, upstream_failure>)> done);

    std::string protocol_version() const;
    std::string session_id() const;

    mcp_client(transport::http_client& http, options o) : http_(http), opts_(std::move(o)) {}

private:
    // One POST of a message; retried once on a new session after a 404.
    void post(json message, std::shared_ptr<exchange> ex, message_fn on_message, response_fn on_response,
              bool may_reconnect);
    transport::client_request make_request(const json& message) const;
    void list_page(const std::string& method, const std::string& field, json cursor, json items,
                   std::function<void(std::expected<json, upstream_failure>)> done);

    transport::http_client& http_;
    const options opts_;
    mutable std::mutex mu_;
    std::string session_;   // Mcp-Session-Id; empty: the server keeps none
    std::string version_;   // negotiated in initialize
    std::uint64_t generation_ = 0;  // bumps with each new session
    std::atomic<std::uint64_t> next_id_{1};  // ids of the client's own requests (initialize, lists, ping)
};

}  // namespace litemcp::server
