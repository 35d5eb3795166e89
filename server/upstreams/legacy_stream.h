// The client side of MCP's HTTP+SSE transport (2024-11-05), which many MCP
// servers still serve: a GET opens an event stream whose first event,
// "endpoint", names the URL the client POSTs its messages to; every message
// of the server's -- responses, notifications, requests -- arrives on that
// one stream, as "message" events. The stream is the session: when it ends,
// the session is gone. mcp_client (mcp_client.h) speaks MCP over it; this
// class only carries messages.
//
// The endpoint must be on the stream's origin (scheme, host and port): a
// server may not send litemcp's messages and headers elsewhere.
//
// Threading: post(), alive() and close() from any thread; on_message and
// on_end run on the HTTP client's thread, one at a time, never after
// on_end. Lifetime: shared; the GET exchange holds the stream while it is
// open.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"
#include "server/upstreams/upstream_failure.h"
#include "transport/http_client.h"

namespace litemcp::server {

class legacy_stream : public std::enable_shared_from_this<legacy_stream> {
public:
    struct options {
        std::string url;  // the stream's, as registered
        std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
        // Until the endpoint event has come, and for each POST to be taken.
        std::chrono::milliseconds request_timeout{60'000};
        std::size_t max_message_bytes = 8 * 1024 * 1024;  // the largest event
        // Runs f after a delay (the bound on the endpoint event). Unset: no
        // bound -- mcp_client always sets one for this transport.
        std::function<void(std::chrono::milliseconds, std::function<void()>)> later;
    };
    using opened_fn = std::function<void(std::expected<std::shared_ptr<legacy_stream>, upstream_failure>)>;

    // Opens the stream. opened runs once: with the stream when its endpoint
    // event has come; or why not -- refused: not an event stream, no
    // endpoint, an endpoint elsewhere; unreachable: no answer in time. Then
    // each message of the server's goes to on_message, in order, and on_end
    // runs once when the stream ends (not when it never opened).
    static void open(std::shared_ptr<transport::http_client> http, options o, std::function<void(json)> on_message,
                     std::function<void(std::string why)> on_end, opened_fn opened);

    // POSTs one message to the endpoint; taken runs once, with the answer's
    // body when the server took it (a 2xx: usually 202 and empty; some
    // servers answer a request right there), else why not. A 400 or 404
    // means the server does not know the session: the stream is closed (a
    // new one is a new session). The handle cancels the POST.
    std::shared_ptr<transport::client_exchange> post(const json& message,
                                                     std::function<void(std::expected<std::string, upstream_failure>)> taken);
    bool alive() const { return alive_.load(); }
    // Ends the stream (on_end runs).
    void close();
    const std::string& endpoint() const { return endpoint_; }

    legacy_stream(std::shared_ptr<transport::http_client> http, options o) : http_(std::move(http)), opts_(std::move(o)) {}

private:
    // The endpoint event's URL, resolved against the stream's; an error
    // when it is not a URL or names another origin.
    std::expected<std::string, std::string> resolve(const std::string& endpoint) const;

    std::shared_ptr<transport::http_client> http_;
    const options opts_;
    std::string endpoint_;  // set once, before opened runs
    std::atomic<bool> alive_{false};
    std::mutex mu_;
    std::shared_ptr<transport::client_exchange> get_;  // the GET, until it ends
    bool ended_ = false;
};

}  // namespace litemcp::server
