// Private to transport/: the state of a running http_server, which the
// connections (connection.h) point back at, and the base they share for
// shutdown.
#pragma once

#include "transport/beast/common.h"
#include "transport/beast/wire_format.h"

namespace litemcp::transport {

class connection_base {
public:
    virtual ~connection_base() = default;
    virtual void shutdown() = 0;  // from http_server::stop, any thread
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
    std::mutex conns_mu;
    std::uint64_t next_conn_id = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection_base>> conns;
    // The concurrency hint is the number of threads that run it: with one,
    // Asio queues what that thread posts privately, without its lock.
    explicit impl(unsigned threads) : ioc(static_cast<int>(threads)), io_threads(threads) {}
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
    ~impl() {
        if (spare_fd >= 0) ::close(spare_fd);
    }

    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);
    void out_of_descriptors(const beast::error_code& ec);
    // Answers status on a just-accepted socket and closes it.
    void refuse(tcp::socket& socket, unsigned status, std::string message);
    void forget(std::uint64_t id) {
        std::lock_guard lock(conns_mu);
        conns.erase(id);
    }
    http_response error(unsigned status, std::string message) const {
        return opts.errors ? opts.errors(status, std::move(message)) : default_error(status, std::move(message));
    }
};


}  // namespace litemcp::transport
