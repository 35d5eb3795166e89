// Private to transport/: the two kinds of connection.h's connection, plain
// TCP (with its own deadline timer and lingering close) and TLS (Beast's
// ssl_stream over a tcp_stream).
#pragma once

#include "transport/beast/connection.h"

namespace litemcp::transport {

// A plain connection's deadline is a time, not a timer armed per read or
// write (as Beast's tcp_stream does): its timer is armed once and, when it
// fires before the current deadline, armed again for it. Past the deadline
// the socket is closed and the pending operation ends with operation_aborted.
class plain_connection : public connection<plain_connection> {
public:
    static constexpr bool secure = false;
    using clock = std::chrono::steady_clock;
    plain_connection(http_server::impl* srv, std::uint64_t id, std::string peer, tcp::socket s)
        : connection(srv, id, std::move(peer)), socket_(std::move(s)), timer_(socket_.get_executor()) {
        beast::error_code ignore;
        socket_.non_blocking(true, ignore);  // write_bytes writes synchronously
    }
    tcp::socket& stream() { return socket_; }
    tcp::socket& socket() { return socket_; }
    void run() {
        net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }
    void expire_after(clock::duration d) {
        deadline_ = clock::now() + d;
        if (!armed_ || deadline_ < armed_at_) arm(deadline_);
    }
    void expire_never() { deadline_ = clock::time_point::max(); }
    void close_transport() {
        beast::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        if (linger_ && !ec) return linger();
        socket_.close(ec);
        timer_.cancel();
        armed_ = false;
    }

private:
    // A request refused before it was all read (413, 503, 431): closing
    // with its bytes unread would make the kernel send a reset, which can
    // reach the client before the answer. What still arrives is read and
    // thrown away, for at most 2 s (as nginx's lingering_close).
    void linger() {
        linger_ = false;
        expire_after(std::chrono::seconds(2));  // then the socket is closed and the read ends
        discard();
    }
    void discard() {
        static thread_local char sink[4096];  // the bytes are never looked at
        socket_.async_read_some(net::buffer(sink), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec) return self->discard();
            beast::error_code ignore;
            self->socket_.close(ignore);
            self->timer_.cancel();
            self->armed_ = false;
        });
    }

    void arm(clock::time_point at) {
        armed_ = true;
        armed_at_ = at;
        timer_.expires_at(at);  // a wait armed earlier ends with operation_aborted
        // A weak pointer: a pending wait never keeps a closed connection alive.
        timer_.async_wait([weak = weak_from_this(), at](beast::error_code ec) {
            auto self = weak.lock();
            if (!self || ec || self->armed_at_ != at || !self->armed_) return;
            self->armed_ = false;
            if (self->deadline_ == clock::time_point::max()) return;
            if (clock::now() < self->deadline_) return self->arm(self->deadline_);
            beast::error_code ignore;
            self->socket_.close(ignore);  // the pending read or write fails and closes the connection
        });
    }

    tcp::socket socket_;
    net::steady_timer timer_;
    clock::time_point deadline_ = clock::time_point::max(), armed_at_{};
    bool armed_ = false;
};

class tls_connection : public connection<tls_connection> {
public:
    static constexpr bool secure = true;
    tls_connection(http_server::impl* srv, std::uint64_t id, std::string peer, tcp::socket s,
                   ssl::context& ctx)
        : connection(srv, id, std::move(peer)), stream_(std::move(s), ctx) {}
    beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
    tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }
    void expire_after(std::chrono::steady_clock::duration d) { beast::get_lowest_layer(stream_).expires_after(d); }
    void expire_never() { beast::get_lowest_layer(stream_).expires_never(); }
    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            beast::get_lowest_layer(self->stream_).expires_after(self->srv_->opts.request_timeout);
            self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
                if (ec) return self->close_transport();
                self->do_read();
            });
        });
    }
    void close_transport() {
        beast::error_code ec;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

private:
    beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace litemcp::transport
