// An asynchronous HTTP/1.1 client (plain and TLS) for talking to upstream
// servers: one request, one response per exchange, the response either
// collected whole or handed over in chunks as it arrives (an SSE stream,
// read with transport/sse_parser.h). Connections are kept alive and reused
// per scheme, host and port.
//
// Threading: the client runs its own io_context on `threads` threads. send()
// may be called from any thread and never blocks; every handler of an
// exchange runs on one of the client's threads, one at a time per exchange,
// never after its on_done. Handlers must not block and must not throw.
// Lifetime: the client owns its threads, its connections and every exchange
// in flight. Destroying it (or shutdown()) cancels the exchanges still
// running (each on_done runs, with errc::cancelled), closes the idle
// connections and joins the threads; an exchange handle kept after that is
// inert. A client destroyed by a handler's last reference, on its own
// thread, cannot join that thread: it is then left to end on its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "transport/errc.h"
#include "transport/http_message.h"

namespace litemcp::transport {

struct client_options {
    // Threads running the client's I/O and handlers. Default: 1; 0 counts as 1.
    unsigned threads = 1;
    // Idle keep-alive connections kept per scheme+host+port; the oldest is
    // closed beyond. 0 disables reuse. Default: 32.
    std::size_t max_idle_per_host = 32;
    // Bound on a response's status line and headers (errc::too_large beyond).
    // Default: 64 KiB.
    std::size_t max_header_bytes = 64u << 10;
    // Bound on a collected response body (errc::too_large beyond). A streamed
    // body has no total bound: it is handed over as it is read. Default: 16 MiB.
    std::size_t max_body_bytes = 16u << 20;
    // To resolve the host, connect and complete the TLS handshake
    // (errc::timed_out beyond). Default: 5 s.
    std::chrono::milliseconds connect_timeout{5000};
    // How long an unused keep-alive connection stays in the pool. Keep it
    // below the upstream's own keep-alive timeout. Default: 30 s.
    std::chrono::milliseconds idle_timeout{30000};
    // Verify an https server's certificate chain against the system's
    // default trust store and its name against the URL's host. Turn off only
    // for tests and self-signed upstreams. Default: true.
    bool verify_tls = true;
};

struct client_request {
    std::string method = "POST";  // an HTTP token: "GET", "POST", "DELETE", ...
    // http://host[:port]/path?query or https://...; an IPv6 host in brackets.
    // Userinfo is refused; a #fragment is not sent.
    std::string url;
    // Sent as given, after Host and User-Agent. A Host or User-Agent here
    // replaces the client's own (the URL's host, "litemcp"). Content-Length,
    // Transfer-Encoding and Connection are the client's and are dropped here.
    header_list headers;
    // Sent with a Content-Length (also "0" for an empty POST, PUT or PATCH).
    std::string body;
    // Until the response head has arrived, and then for a collected body:
    // the whole exchange, connecting included (connect_timeout also holds
    // for the connecting). For a streamed body, after the head: the longest
    // silence allowed between two reads. 0 = none (the caller then bounds the
    // exchange itself, with cancel()). errc::timed_out beyond. Default: 30 s.
    std::chrono::milliseconds timeout{30000};
    // For a streamed body, after the head, the longest silence allowed
    // between two reads when it differs from timeout (a stream that may
    // rightly stay silent for long, bounded by its caller). 0 = none.
    // Default: unset (timeout).
    std::optional<std::chrono::milliseconds> stream_timeout;
};

struct client_response {
    unsigned status = 0;
    header_list headers;
    std::string body;  // the collected body; empty when it was streamed
};

struct client_handlers {
    // The head has arrived (status and headers; body empty). Return true to
    // receive the body in chunks through on_data as it is read (an event
    // stream), false to have it collected into client_response::body,
    // bounded by max_body_bytes. Not called for 1xx interim responses.
    // Default (empty): collect.
    std::function<bool(const client_response& head)> on_head;
    // A piece of a streamed body, in order, as read; never empty. The bytes
    // are only valid during the call.
    std::function<void(std::string_view chunk)> on_data;
    // Exactly once, always, last. Any complete response is a success, an
    // HTTP error status too (a 404 is status 404). Errors: bad_url,
    // invalid_argument (a method or header name that is not a token),
    // connect_failed, tls_failed, timed_out, too_large, protocol_error,
    // closed (the connection ended before the response did), cancelled.
    std::function<void(result<client_response>)> on_done;
};

// One request and its response, in flight.
class client_exchange {
public:
    virtual ~client_exchange() = default;
    // Any thread, any time, also from the exchange's own handlers. Ends the
    // exchange: on_done gets errc::cancelled unless it has already run (then
    // nothing happens). Once cancel() has returned, on_head and on_data are
    // not called again (a call already running on a client thread finishes).
    // The connection is closed, not reused.
    virtual void cancel() = 0;
};

class http_client {
public:
    explicit http_client(client_options options = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // Cancels every exchange (each on_done runs, errc::cancelled), closes
    // the idle connections and joins the threads; afterwards send() answers
    // nothing (its handlers never run). For an owner that must know the
    // handlers are done while others still hold the client. Idempotent.
    void shutdown();

    // Starts an exchange and returns at once; the outcome, errors included
    // (a bad URL too), arrives through the handlers. Dropping the returned
    // handle does not cancel the exchange.
    std::shared_ptr<client_exchange> send(client_request request, client_handlers handlers);

    // Whether the calling thread is one of the client's own: a handler that
    // may finish its work there instead of handing it to another thread.
    bool on_client_thread() const;

    class impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace litemcp::transport
