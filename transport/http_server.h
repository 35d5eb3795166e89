// The HTTP/1.1 server (Boost.Beast, optionally TLS) that carries litemcp's
// endpoints. It parses requests within bounds, hands each to the request
// handler with a responder, and writes either one response or an SSE stream.
// It knows HTTP and SSE framing, nothing of MCP methods.
//
// Threading: an io_context runs on `threads` threads; each connection lives
// on its own strand. The handler is called on the connection's strand and may
// answer later from any thread through its responder. One request at a time
// per connection (no pipelining); the next is read after the answer is sent.
// Lifetime: start() binds and runs; stop() stops accepting, lets in-flight
// requests finish for the grace period, closes streams, joins the threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <expected>
#include <string>
#include <vector>

#include "transport/errc.h"
#include "transport/http_message.h"
#include "transport/sse_stream.h"

namespace litemcp::transport {

// One event of an SSE answer that is complete when it starts
// (responder::respond_events).
struct sse_event {
    std::string id;    // the "id:" line; none when empty
    std::string data;  // the "data:" lines
    // A priming event (SEP-1699): the id, this retry hint and empty data.
    std::chrono::milliseconds retry{0};
    bool priming = false;
};

// Answers one request: exactly one of respond(), respond_events() or
// start_sse(), once.
class responder {
public:
    virtual ~responder() = default;
    virtual void respond(http_response response) = 0;
    // Sends a 200 text/event-stream header (with the no-buffering headers and
    // any extra ones) and returns the stream to write events into.
    virtual std::shared_ptr<sse_stream> start_sse(header_list extra_headers) = 0;
    // A whole SSE stream at once: the header start_sse() sends, the events and
    // the stream's end, in one write -- the same bytes as start_sse(), the
    // sends and close(), without a stream object. For an answer known in full
    // when it starts (a tools/call answered on the I/O thread).
    virtual void respond_events(header_list extra_headers, std::vector<sse_event> events) = 0;
    // Runs f later on the connection's strand, the thread the handler was
    // called on: for a request that continues there once some other thread
    // (the store's appender) has done its part. f must not block.
    virtual void post(std::function<void()> f) = 0;
    // For a request that will be answered with respond(): calls f once, on
    // the connection's strand, if the client closes the connection before the
    // answer is written (a pending read watches the socket; not over TLS). An
    // SSE stream has its own: sse_stream::on_closed.
    virtual void on_disconnect(std::function<void()> f) = 0;
};

// The request is the handler's to move from (it is not copied on the way).
using request_handler = std::function<void(http_request&&, std::shared_ptr<responder>)>;
// Builds the body of an error the transport answers by itself (413, 431, 400, 503).
using error_builder = std::function<http_response(unsigned status, std::string message)>;

struct server_options {
    std::string host = "127.0.0.1";  // Default: loopback only
    std::uint16_t port = 8080;       // Default: 8080; 0 picks a free port (see http_server::port())
    unsigned threads = 0;            // I/O threads. Default: 0 = one per core
    std::size_t max_body_bytes = 4u << 20;    // Default: 4 MiB (413 beyond)
    std::size_t max_header_bytes = 16u << 10; // Default: 16 KiB (431 beyond)
    std::chrono::milliseconds request_timeout{30'000};  // to receive one whole request. Default: 30 s
    std::chrono::milliseconds idle_timeout{120'000};    // keep-alive connection with no request. Default: 120 s
    std::size_t sse_queue_bytes = 4u << 20;   // unwritten bytes per SSE stream before it is dropped. Default: 4 MiB
    std::chrono::milliseconds sse_keepalive{15'000};    // ":" comment on idle streams. Default: 15 s; 0 = off
    // At the maximum, connections idle for a second or more (waiting for a
    // request, none of it received) are closed, oldest first, to let new
    // ones in; with none idle, a new connection gets 503. Default: 20,000
    std::size_t max_connections = 20'000;
    // Bytes held for clients over all connections: request bodies (from
    // their header until their answer), header buffers above 4 KiB, SSE
    // queues and answers not yet read. Beyond it a request body is refused
    // with 503 and Retry-After, and SSE streams stalled for a second are
    // dropped (their clients resume); a body or stream above
    // 64 KiB may use only 7/8 of it, so small requests always fit. Computed
    // answers are never refused. Must be at least 8/7 of the larger of
    // max_body_bytes and sse_queue_bytes. Default: 1 GiB.
    std::size_t max_buffered_bytes = std::size_t{1} << 30;
    // Descriptors kept for everything but connections (the store's files,
    // logs, pipes). start() raises the soft RLIMIT_NOFILE towards
    // max_connections + this and, if the hard limit is lower, lowers
    // max_connections to fit (with a warning). Default: 640.
    std::size_t descriptor_reserve = 640;
    // retry: hint written to every open SSE stream before a shutdown closes it,
    // so clients wait that long and resume. Default: 1 s.
    std::chrono::milliseconds shutdown_retry{1000};
    std::string tls_cert_file;  // PEM chain; with tls_key_file enables TLS. Default: none (plain HTTP)
    std::string tls_key_file;   // PEM private key
    error_builder errors;       // Default: a short text/plain body
};

struct server_stats {
    std::uint64_t connections = 0;  // open now
    std::uint64_t streams = 0;      // SSE streams open now
    std::uint64_t requests = 0;     // since start
    std::uint64_t buffered_bytes = 0;    // held for clients now (server_options::max_buffered_bytes)
    std::uint64_t buffered_limit = 0;    // max_buffered_bytes
    std::uint64_t buffer_refusals = 0;   // request bodies refused with 503 at the bound, since start
    std::uint64_t buffer_drops = 0;      // SSE streams dropped at the bound, since start
    std::uint64_t idle_reclaimed = 0;    // idle connections closed at max_connections for new ones, since start
};

// Whether host:port can be listened on now (a port in use, an address
// this machine does not have, a privileged port): checked before anything
// is written to disk, so a bad address fails the start at once.
std::expected<void, std::string> check_listen_address(const std::string& host, std::uint16_t port);

class http_server {
public:
    static result<std::unique_ptr<http_server>> start(server_options options, request_handler handler);
    ~http_server();

    std::uint16_t port() const;
    // Stops accepting new connections and closes idle ones and SSE streams
    // (each stream gets a retry: hint first). Requests being answered go on.
    void stop_accepting();
    // stop_accepting(), then waits up to grace for the remaining connections,
    // then stops the I/O threads. Every responder and sse_stream handed out
    // must be released before the server is destroyed.
    void stop(std::chrono::milliseconds grace);
    server_stats stats() const;

    class impl;

private:
    explicit http_server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace litemcp::transport
