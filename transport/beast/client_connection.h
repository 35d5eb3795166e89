// Private to transport/: one connection of http_client to a server, plain or
// TLS, with its read buffer.
//
// Ownership: an exchange owns it while it sends a request and reads the
// response; then, if the response ended cleanly and the server keeps the
// connection open, the connection_pool owns it until the next exchange takes
// it. It has no pending operation whenever it changes hands.
// Threading: used by one exchange at a time, with completion handlers bound
// to that exchange's strand; its socket's own executor is the io_context's.
#pragma once

#include "transport/beast/common.h"

namespace litemcp::transport {

class client_connection {
public:
    using clock = std::chrono::steady_clock;

    // buffer_bytes bounds the read buffer: the parser consumes every body
    // byte it is given, so only an unfinished head or chunk header stays.
    client_connection(net::io_context& ioc, std::string origin, std::uint64_t id, std::size_t buffer_bytes)
        : origin_(std::move(origin)), id_(id), plain_(ioc), buffer_(buffer_bytes) {}
    ~client_connection() { close(); }

    const std::string& origin() const { return origin_; }
    std::uint64_t id() const { return id_; }
    bool secure() const { return tls_ != nullptr; }
    beast::flat_buffer& buffer() { return buffer_; }
    tcp::socket& socket() { return tls_ ? beast::get_lowest_layer(*tls_) : plain_; }
    beast::ssl_stream<tcp::socket>& tls() { return *tls_; }  // after start_tls

    // Calls f with the stream to read and write: the TLS stream or the socket.
    template <class F>
    void with_stream(F&& f) {
        if (tls_) f(*tls_);
        else f(plain_);
    }

    // After the TCP connect: wraps the socket in TLS, sending the host name
    // (SNI) and, with verify, checking the certificate's name against it
    // (the chain is checked as the context says).
    void start_tls(ssl::context& ctx, const std::string& host, bool ip_literal, bool verify) {
        tls_ = std::make_unique<beast::ssl_stream<tcp::socket>>(std::move(plain_), ctx);
        if (!ip_literal) SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());  // no SNI for addresses (RFC 6066)
        if (verify) {
            beast::error_code ignore;  // only fails for a null callback
            tls_->set_verify_callback(ssl::host_name_verification(host), ignore);
        }
    }

    // Whether an idle connection still looks usable: nothing to read and no
    // end of stream. An idle connection has no response pending, so any
    // byte (a TLS close_notify, garbage) or an EOF means it is done.
    bool looks_alive() {
        auto& s = socket();
        if (!s.is_open()) return false;
        beast::error_code ec;
        char byte;
        s.non_blocking(true, ec);
        if (ec) return false;
        s.receive(net::buffer(&byte, 1), tcp::socket::message_peek, ec);
        return ec == net::error::would_block || ec == net::error::try_again;
    }

    // Closes the socket: a pending operation ends with operation_aborted.
    // No TLS close_notify: the peer sees the TCP close.
    void close() {
        beast::error_code ignore;
        auto& s = socket();
        if (!s.is_open()) return;
        s.shutdown(tcp::socket::shutdown_both, ignore);
        s.close(ignore);
    }

    clock::time_point idle_since{};  // set by the pool

private:
    std::string origin_;
    std::uint64_t id_;
    tcp::socket plain_;
    std::unique_ptr<beast::ssl_stream<tcp::socket>> tls_;
    beast::flat_buffer buffer_;
};

}  // namespace litemcp::transport
