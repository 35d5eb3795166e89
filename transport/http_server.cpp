// Boost.Beast implementation of transport/http_server.h: the listener and
// its accept loop, the descriptor budget, start and stop. The connections
// and the SSE writer are transport/beast/connection.h (plain and TLS:
// connection_kinds.h), the wire format
// beast/wire_format.h. The only translation unit of the server that
// includes Beast (http_client.cpp is the client's).
#include "transport/http_server.h"

#include <algorithm>

#include "transport/beast/common.h"
#include "transport/beast/connection_kinds.h"
#include "transport/beast/server_impl.h"

namespace litemcp::transport {

void http_server::impl::do_accept() {
    // A connection's handlers run one at a time on its strand. With a single
    // I/O thread they cannot do otherwise, and the io_context's own executor
    // saves the strand's locking and queueing on every handler.
    auto executor = io_threads == 1 ? net::any_io_executor(ioc.get_executor()) : net::any_io_executor(net::make_strand(ioc));
    acceptor.async_accept(executor, beast::bind_front_handler(&impl::on_accept, this));
}

void http_server::impl::refuse(tcp::socket& socket, unsigned status, std::string message) {
    beast::error_code ignore;
    auto r = error(status, std::move(message));
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    for (auto& [n, v] : r.headers.all()) res.set(n, v);
    res.body() = r.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(socket, res, ignore);
    // What the client already sent is read and dropped first: closing with
    // unread bytes would send a reset, which can overtake the answer.
    socket.non_blocking(true, ignore);
    char sink[4096];
    for (int i = 0; i < 16 && socket.read_some(net::buffer(sink), ignore) > 0;) ++i;
    socket.shutdown(tcp::socket::shutdown_send, ignore);
    socket.close(ignore);
}

void http_server::impl::out_of_descriptors(const beast::error_code& ec) {
    // The connection stays in the backlog and an accept fails again at
    // once: retrying now would spin. The spare descriptor lets one pending
    // client hear why (503) instead of waiting; then accepting pauses.
    ++descriptor_refusals;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_descriptor_log >= std::chrono::seconds(10)) {
        spdlog::error("transport: out of file descriptors ({}): new connections are refused with 503 "
                      "({} times since the last report); raise ulimit -n or lower --max-connections",
                      ec.message(), descriptor_refusals);
        descriptor_refusals = 0;
        last_descriptor_log = now;
    }
    if (spare_fd >= 0) {
        ::close(spare_fd);
        tcp::socket pending(ioc);
        beast::error_code aec;
        acceptor.accept(pending, aec);  // the acceptor is non-blocking: never waits
        if (!aec) refuse(pending, 503, "the server is out of file descriptors; retry later");
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    accept_pause.expires_after(std::chrono::milliseconds(100));
    accept_pause.async_wait([this](beast::error_code e) {
        if (!e && !stopping) do_accept();
    });
}

std::vector<std::pair<std::uint64_t, std::shared_ptr<connection_base>>> http_server::impl::live_connections() {
    std::vector<std::pair<std::uint64_t, std::shared_ptr<connection_base>>> live;
    std::lock_guard lock(conns_mu);
    live.reserve(conns.size());
    for (auto& [id, w] : conns)
        if (auto c = w.lock()) live.emplace_back(id, std::move(c));
    return live;
}

bool http_server::impl::drop_stalled(std::size_t wanted, std::uint64_t except) {
    using namespace std::chrono;
    const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
    auto last = last_stall_scan.load(std::memory_order_relaxed);
    if (now - last < duration_cast<nanoseconds>(milliseconds(100)).count() ||
        !last_stall_scan.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
        // Between scans: room the last one made and nobody has used yet.
        const auto n = static_cast<std::int64_t>(wanted);
        auto left = room_promised.load(std::memory_order_relaxed);
        do {
            if (left < n) return false;
        } while (!room_promised.compare_exchange_weak(left, left - n, std::memory_order_relaxed));
        return true;
    }
    const auto live = live_connections();
    const std::int64_t stall = duration_cast<nanoseconds>(seconds(1)).count();
    std::vector<std::pair<std::size_t, connection_base*>> stalled;
    for (auto& [id, c] : live) {
        const auto since = c->stream_write_since.load(std::memory_order_relaxed);
        if (id != except && since != 0 && now - since >= stall)
            stalled.emplace_back(c->stream_held.load(std::memory_order_relaxed), c.get());
    }
    // Every stalled stream goes (a stream whose client has taken nothing
    // for a second while the server is at its bound): room for this taker
    // and, lent from the rest, the ones that come before the next scan.
    std::size_t freed = 0;
    for (auto& [held, c] : stalled) {
        c->drop_stream();
        freed += held;
        budget.drops++;
    }
    room_promised.store(freed > wanted ? static_cast<std::int64_t>(freed - wanted) : 0, std::memory_order_relaxed);
    return freed >= wanted;
}

std::size_t http_server::impl::reclaim_idle(std::size_t n) {
    using namespace std::chrono;
    const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
    if (now - last_idle_scan < duration_cast<nanoseconds>(milliseconds(100)).count()) return 0;
    last_idle_scan = now;
    const auto live = live_connections();
    const std::int64_t settled = now - duration_cast<nanoseconds>(seconds(1)).count();
    std::vector<std::pair<std::int64_t, connection_base*>> idle;
    for (auto& [id, c] : live)
        if (const auto since = c->idle_since.load(std::memory_order_relaxed); since != 0 && since <= settled)
            idle.emplace_back(since, c.get());
    const auto k = std::min(n, idle.size());
    std::partial_sort(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(k), idle.end());
    for (std::size_t i = 0; i < k; ++i) idle[i].second->reclaim();
    if (k > 0) {
        reclaimed += k;
        spdlog::debug("transport: at --max-connections: {} idle connections closed for new ones", k);
    }
    return k;
}

void http_server::impl::log_over_budget() {
    using namespace std::chrono;
    const std::int64_t now = duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
    auto last = last_budget_log.load(std::memory_order_relaxed);
    if (now - last < duration_cast<nanoseconds>(seconds(10)).count() ||
        !last_budget_log.compare_exchange_strong(last, now, std::memory_order_relaxed))
        return;
    spdlog::warn("transport: {} bytes buffered for clients, at --max-buffered-bytes {}: new request bodies are "
                 "refused with 503 and stalled SSE streams dropped ({} refused, {} dropped since the start)",
                 budget.used(), budget.limit(), budget.refusals.load(), budget.drops.load());
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping) return;
    if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system)
        return out_of_descriptors(ec);
    if (ec) {
        spdlog::warn("transport: accept failed: {}", ec.message());
        return do_accept();
    }
    beast::error_code ignore;
    auto ep = socket.remote_endpoint(ignore);
    std::string peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    // Idle connections make room for new ones; they close on their own
    // strands, so the count may pass the maximum by the few just reclaimed.
    if (connections >= opts.max_connections && reclaim_idle(32) == 0) {
        refuse(socket, 503, "too many connections");  // synchronously: it is tiny
        return do_accept();
    }
    // Responses and SSE events are small writes that must leave at once;
    // Nagle's algorithm would hold them for the peer's delayed ACK (~40 ms).
    socket.set_option(tcp::no_delay(true), ignore);
    connections++;
    std::shared_ptr<connection_base> conn;
    std::uint64_t id;
    {
        std::lock_guard lock(conns_mu);
        id = next_conn_id++;
    }
    if (tls) {
        auto c = std::make_shared<tls_connection>(this, id, std::move(peer), std::move(socket), *tls);
        conn = c;
        c->run();
    } else {
        auto c = std::make_shared<plain_connection>(this, id, std::move(peer), std::move(socket));
        conn = c;
        c->run();
    }
    {
        std::lock_guard lock(conns_mu);
        conns.emplace(id, conn);
    }
    do_accept();
}

namespace {

// Fits max_connections to the descriptors the process may open: the soft
// RLIMIT_NOFILE is raised towards what is wanted; where the hard limit
// stops it, fewer connections are accepted so the reserve stays free.
result<void> fit_descriptors(server_options& o) {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return {};
    const rlim_t wanted = static_cast<rlim_t>(o.max_connections + o.descriptor_reserve);
    if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < wanted) {
        rlimit raised = l;
        raised.rlim_cur = l.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, l.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) l = raised;
    }
    if (l.rlim_cur == RLIM_INFINITY || l.rlim_cur >= wanted) return {};
    if (l.rlim_cur <= o.descriptor_reserve)
        return make_error(errc::invalid_argument,
                          "the descriptor limit (ulimit -n) is " + std::to_string(l.rlim_cur) + ", no more than the " +
                              std::to_string(o.descriptor_reserve) +
                              " kept for the store: raise it, or lower --fd-reserve");
    const auto fit = static_cast<std::size_t>(l.rlim_cur) - o.descriptor_reserve;
    spdlog::warn("transport: --max-connections {} needs {} file descriptors and the limit (ulimit -n) is {}: "
                 "accepting at most {} connections (503 beyond), so {} stay for the store",
                 o.max_connections, wanted, l.rlim_cur, fit, o.descriptor_reserve);
    o.max_connections = fit;
    return {};
}

}  // namespace

result<std::unique_ptr<http_server>> http_server::start(server_options options, request_handler handler) {
    // The share a body or a stream above 64 KiB may use (buffer_budget.h)
    // must hold the largest of either, or they could never be accepted.
    const auto largest = std::max(options.max_body_bytes, options.sse_queue_bytes);
    if (options.max_buffered_bytes - options.max_buffered_bytes / 8 < largest)
        return make_error(errc::invalid_argument,
                          "--max-buffered-bytes " + std::to_string(options.max_buffered_bytes) +
                              " must be at least 8/7 of the larger of --max-body-bytes and --sse-queue-bytes (" +
                              std::to_string(largest) + ")");
    if (auto r = fit_descriptors(options); !r) return std::unexpected(r.error());
    const unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    auto p = std::make_unique<impl>(n, options.max_buffered_bytes);
    p->opts = std::move(options);
    p->handler = std::move(handler);
    if (!p->opts.tls_cert_file.empty() || !p->opts.tls_key_file.empty()) {
        try {
            p->tls.emplace(ssl::context::tls_server);
            p->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            p->tls->use_certificate_chain_file(p->opts.tls_cert_file);
            p->tls->use_private_key_file(p->opts.tls_key_file, ssl::context::pem);
        } catch (const std::exception& e) {
            return make_error(errc::tls_failed, "TLS certificate " + p->opts.tls_cert_file + " / key " +
                                                    p->opts.tls_key_file + ": " + e.what());
        }
    }
    beast::error_code ec;
    auto addr = net::ip::make_address(p->opts.host, ec);
    if (ec) return make_error(errc::invalid_argument, "listen address '" + p->opts.host + "': " + ec.message());
    tcp::endpoint ep{addr, p->opts.port};
    p->acceptor.open(ep.protocol(), ec);
    if (!ec) p->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) p->acceptor.bind(ep, ec);
    if (!ec) p->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) p->acceptor.non_blocking(true, ec);  // for out_of_descriptors' accept; async accepts are unchanged
    if (ec)
        return make_error(errc::bind_failed,
                          "cannot listen on " + p->opts.host + ":" + std::to_string(p->opts.port) + ": " + ec.message());
    p->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->do_accept();
    auto* raw = p.get();
    for (unsigned i = 0; i < n; ++i)
        p->threads.emplace_back([raw] {
            pthread_setname_np(pthread_self(), "http-io");  // as top -H and perf show it
            raw->ioc.run();
        });
    return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() { stop(std::chrono::milliseconds(0)); }

std::uint16_t http_server::port() const {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

void http_server::stop_accepting() {
    if (impl_->threads.empty()) return;
    impl_->stopping = true;
    net::post(impl_->ioc, [p = impl_.get()] {
        beast::error_code ec;
        p->acceptor.close(ec);
        p->accept_pause.cancel();
    });
    for (auto& [id, c] : impl_->live_connections()) c->shutdown();
}

void http_server::stop(std::chrono::milliseconds grace) {
    if (impl_->threads.empty()) return;
    stop_accepting();
    const auto until = std::chrono::steady_clock::now() + grace;
    while (impl_->connections > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    impl_->ioc.stop();
    for (auto& t : impl_->threads) t.join();
    impl_->threads.clear();
}

server_stats http_server::stats() const {
    auto& b = impl_->budget;
    return {impl_->connections.load(), impl_->streams.load(), impl_->requests.load(),
            b.used(),                  b.limit(),             b.refusals.load(),
            b.drops.load(),            impl_->reclaimed.load()};
}

}  // namespace litemcp::transport

