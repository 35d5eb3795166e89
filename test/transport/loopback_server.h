// The loopback HTTP servers that the HTTP client's tests
// (http_client*_test.cpp) talk to: blocking Asio sockets on 127.0.0.1, port
// 0, a thread per connection, each test's server scripted by a function of
// the accepted socket; the raw HTTP such a script reads and writes; and
// exchange() and get() to drive the client against it.
//
// Threading: a server's script runs on the server's own threads; exchange()
// blocks the test's thread until the client's on_done has run. Lifetime: a
// server lives in the test's scope and joins its threads when it ends.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "transport/http_client.h"

namespace litemcp::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Accepts connections on 127.0.0.1 and runs `serve` for each on a thread of
// its own. The destructor wakes whatever is still blocked (a silent server)
// by shutting its sockets down, and joins.
class loopback_server {
public:
    using serve_fn = std::function<void(tcp::socket&, int connection)>;

    explicit loopback_server(serve_fn serve)
        : serve_(std::move(serve)), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~loopback_server() {
        stop_ = true;
        {
            tcp::socket wake(ioc_);
            boost::system::error_code ec;
            wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
        }
        accept_thread_.join();
        {
            std::lock_guard lock(mu_);
            for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : connections_) t.join();
    }

    std::uint16_t port() const { return port_; }
    int accepted() const { return accepted_; }
    std::string url(std::string_view path = "/mcp") const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }

private:
    void accept_loop() {
        for (;;) {
            tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (stop_ || ec) return;
            const int n = ++accepted_;
            {
                std::lock_guard lock(mu_);
                open_fds_.push_back(s.native_handle());
            }
            connections_.emplace_back([this, n, s = std::move(s)]() mutable {
                serve_(s, n);
                std::lock_guard lock(mu_);
                std::erase(open_fds_, s.native_handle());
                boost::system::error_code ignore;
                s.shutdown(tcp::socket::shutdown_both, ignore);
                s.close(ignore);
            });
        }
    }

    serve_fn serve_;
    net::io_context ioc_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread accept_thread_;
    std::vector<std::thread> connections_;
    std::mutex mu_;
    std::vector<int> open_fds_;
};

inline std::size_t content_length(std::string_view head) {
    std::string lower(head);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(lower.substr(at + 17));
}

// Reads one request (head and Content-Length body) from s; what follows it
// stays in buf. Empty at the end of the connection.
template <class Stream>
std::optional<std::string> read_request(Stream& s, std::string& buf) {
    for (;;) {
        if (auto end = buf.find("\r\n\r\n"); end != std::string::npos) {
            const auto need = end + 4 + content_length(std::string_view(buf).substr(0, end + 2));
            if (buf.size() >= need) {
                std::string req = buf.substr(0, need);
                buf.erase(0, need);
                return req;
            }
        }
        char tmp[4096];
        boost::system::error_code ec;
        const auto n = s.read_some(net::buffer(tmp), ec);
        if (ec) return std::nullopt;
        buf.append(tmp, n);
    }
}

template <class Stream>
void send_text(Stream& s, std::string_view text) {
    boost::system::error_code ignore;
    net::write(s, net::buffer(text), ignore);
}

inline std::string json_answer(std::string_view body, unsigned status = 200, std::string_view reason = "OK") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
}

inline std::string chunk(std::string_view data) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx", data.size());
    return std::string(size) + "\r\n" + std::string(data) + "\r\n";
}

// Answers every request on the connection with a small JSON body.
inline void answer_all(tcp::socket& s, int) {
    std::string buf;
    while (read_request(s, buf)) send_text(s, json_answer(R"({"ok":true})"));
}

// Sends r and waits for on_done (failing the test after 10 s).
inline transport::result<transport::client_response> exchange(transport::http_client& client,
                                                               transport::client_request r,
                                                               transport::client_handlers h = {}) {
    using answer = transport::result<transport::client_response>;
    auto done = std::make_shared<std::promise<answer>>();
    auto f = done->get_future();
    h.on_done = [done](answer res) { done->set_value(std::move(res)); };
    client.send(std::move(r), std::move(h));
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
}

inline transport::client_request get(std::string url, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    transport::client_request r;
    r.method = "GET";
    r.url = std::move(url);
    r.timeout = timeout;
    return r;
}

}  // namespace litemcp::test
