// Private to transport/: the state of a running http_server, which the
// connections (connection.h) point back at, and the base they share for
// shutdown.
#pragma once

#include "transport/beast/common.h"
#include "transport/beast/wire_format.h"
#include "transport/buffer_budget.h"

namespace litemcp::transport {

class connection_base {
public:
    virtual ~connection_base() = default;
    virtual void shutdown() = 0;  // from http_server::stop, any thread
    // Ends the connection's SSE stream, if it has one (any thread).
    virtual void drop_stream() = 0;
    // Closes the connection if it is still idle (any thread).
    virtual void reclaim() = 0;

    // Since when (steady-clock nanoseconds; 0: not idle) the connection has
    // waited for a request without a byte of one: read by
    // impl::reclaim_idle from any thread.
    std::atomic<std::int64_t> idle_since{0};

    // What the connection's SSE stream holds unwritten, and since when
    // (steady-clock nanoseconds; 0: no write in flight) its current write
    // has waited for the client: read by impl::drop_stalled from any thread.
    std::atomic<std::size_t> stream_held{0};
    std::atomic<std::int64_t> stream_write_since{0};
};

// Owned by http_server. Connections point back at it with a plain pointer:
// it outlives them, because destroying its io_context (declared after
// everything a connection touches, so destroyed first) destroys them.
class http_server::impl {
public:
    server_options opts;
    request_handler handler;
    std::optional<ssl::context> tls;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> connections{0}, streams{0}, requests{0};
    std::atomic<std::uint64_t> reclaimed{0};  // idle connections closed at max_connections
    std::mutex conns_mu;
    std::uint64_t next_conn_id = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection_base>> conns;
    // --max-buffered-bytes: what every connection holds; the last scan for
    // stalled streams and log line about the bound (steady ns); and the
    // bytes the last scan's drops will give back that takers may still
    // count on until the next scan. Before ioc: connections destroyed with
    // it give their bytes back.
    buffer_budget budget;
    std::atomic<std::int64_t> last_stall_scan{0}, last_budget_log{0};
    std::atomic<std::int64_t> room_promised{0};
    // The concurrency hint is the number of threads that run it: with one,
    // Asio queues what that thread posts privately, without its lock.
    explicit impl(unsigned threads, std::size_t max_buffered)
        : budget(max_buffered), ioc(static_cast<int>(threads)), io_threads(threads) {}
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
    unsigned io_threads;

    // Descriptors: a spare one, given up to accept and refuse a connection
    // when the process has none left (EMFILE, ENFILE), and the pause
    // before accepting again; refusals since the last log line.
    int spare_fd = -1;
    net::steady_timer accept_pause{ioc};
    std::uint64_t descriptor_refusals = 0;
    std::chrono::steady_clock::time_point last_descriptor_log{};

    std::int64_t last_idle_scan = 0;  // (the accept loop's own)
    ~impl() {
        if (spare_fd >= 0) ::close(spare_fd);
    }

    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);
    void out_of_descriptors(const beast::error_code& ec);
    // Answers status on a just-accepted socket and closes it.
    void refuse(tcp::socket& socket, unsigned status, std::string message);
    // Makes room for `wanted` bytes by dropping the SSE streams whose write
    // has waited at least a second for their client, all of them (never
    // `except`, the connection asking). At most one scan per 100 ms; in
    // between, what the last one freed beyond its own need is lent to
    // others. true: `wanted` bytes will be given back, and the caller may
    // take them now (buffer_budget::take).
    bool drop_stalled(std::size_t wanted, std::uint64_t except);
    // One warning per 10 s while the bound is reached.
    void log_over_budget();
    // At max_connections: closes up to `n` connections that have waited
    // longest (at least a second) for a request, so a new client gets in,
    // as nginx reuses keep-alive connections. At most one scan per 100 ms;
    // returns how many were closed. On the accept loop.
    std::size_t reclaim_idle(std::size_t n);
    // The open connections, copied out under conns_mu for the caller to
    // look at after it: the last reference to a connection dropped inside
    // the lock would destroy it, and its forget() takes the same lock.
    std::vector<std::pair<std::uint64_t, std::shared_ptr<connection_base>>> live_connections();
    void forget(std::uint64_t id) {
        std::lock_guard lock(conns_mu);
        conns.erase(id);
    }
    http_response error(unsigned status, std::string message) const {
        return opts.errors ? opts.errors(status, std::move(message)) : default_error(status, std::move(message));
    }
};


}  // namespace litemcp::transport
