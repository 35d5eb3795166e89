// The HTTP client against tiny loopback servers started here: blocking Asio
// sockets on port 0, a thread per connection, each test's server scripted
// by a function of the accepted socket.
#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "transport/beast/client_url.h"
#include "transport/http_client.h"
#include "transport/sse_parser.h"

using namespace litemcp::transport;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

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

std::size_t content_length(std::string_view head) {
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

std::string json_answer(std::string_view body, unsigned status = 200, std::string_view reason = "OK") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
}

std::string chunk(std::string_view data) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx", data.size());
    return std::string(size) + "\r\n" + std::string(data) + "\r\n";
}

// Answers every request on the connection with a small JSON body.
void answer_all(tcp::socket& s, int) {
    std::string buf;
    while (read_request(s, buf)) send_text(s, json_answer(R"({"ok":true})"));
}

// Sends r and waits for on_done (failing the test after 10 s).
result<client_response> exchange(http_client& client, client_request r, client_handlers h = {}) {
    auto done = std::make_shared<std::promise<result<client_response>>>();
    auto f = done->get_future();
    h.on_done = [done](result<client_response> res) { done->set_value(std::move(res)); };
    client.send(std::move(r), std::move(h));
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
}

client_request get(std::string url, std::chrono::milliseconds timeout = 5000ms) {
    client_request r;
    r.method = "GET";
    r.url = std::move(url);
    r.timeout = timeout;
    return r;
}

}  // namespace

TEST_CASE("a URL gives its scheme, host, port and target") {
    auto u = parse_client_url("http://Example.COM/mcp?x=1#frag");
    REQUIRE(u);
    CHECK(!u->secure);
    CHECK(u->host == "example.com");
    CHECK(u->port == 80);
    CHECK(u->target == "/mcp?x=1");
    CHECK(u->authority() == "example.com");
    CHECK(u->origin() == "http://example.com:80");

    auto s = parse_client_url("HTTPS://[::1]:8443");
    REQUIRE(s);
    CHECK(s->secure);
    CHECK(s->ipv6);
    CHECK(s->host == "::1");
    CHECK(s->port == 8443);
    CHECK(s->target == "/");
    CHECK(s->authority() == "[::1]:8443");

    auto q = parse_client_url("https://10.0.0.1:443?a=b");
    REQUIRE(q);
    CHECK(q->target == "/?a=b");
    CHECK(q->authority() == "10.0.0.1");
    CHECK(parse_client_url("http://h:/p")->port == 80);  // an empty port is the default

    for (const char* bad : {"ftp://h/", "h/p", "http:///p", "http://user:pw@h/", "http://h:0/", "http://h:65536/",
                            "http://h:8x/", "http://[::1/", "http://[nothex]/", "http://[::1]x/", "http://h p/",
                            "http://h/a b", "http://h/\r\nX: y", "http://h\xC3\xA9/", "http://h%41/",
                            "http://[fe80::1%25eth0]/"}) {
        auto r = parse_client_url(bad);
        CHECK_MESSAGE(!r, bad);
        if (!r) CHECK(r.error().code == errc::bad_url);
    }
}

TEST_CASE("a JSON answer is collected, with the request's headers as sent") {
    std::promise<std::string> seen;
    loopback_server server([&](tcp::socket& s, int) {
        std::string buf;
        auto req = read_request(s, buf);
        seen.set_value(req.value_or(""));
        send_text(s, json_answer(R"({"jsonrpc":"2.0","id":1,"result":{}})"));
    });
    http_client client;
    client_request r;
    r.url = server.url("/mcp?q=1");
    r.body = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
    r.headers.set("Content-Type", "application/json");
    r.headers.set("Accept", "application/json, text/event-stream");
    r.headers.set("Content-Length", "999");  // the client's to set
    std::thread::id handler_thread;
    client_handlers h;
    h.on_head = [&](const client_response& head) {
        handler_thread = std::this_thread::get_id();
        CHECK(head.status == 200);
        CHECK(head.body.empty());
        return false;
    };
    auto res = exchange(client, r, h);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->headers.get("content-type") == "application/json");
    CHECK(res->body == R"({"jsonrpc":"2.0","id":1,"result":{}})");
    CHECK(handler_thread != std::this_thread::get_id());  // on the client's thread

    auto req = seen.get_future().get();
    CHECK(req.starts_with("POST /mcp?q=1 HTTP/1.1\r\n"));
    CHECK(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    CHECK(req.find("\r\nUser-Agent: litemcp\r\n") != std::string::npos);
    CHECK(req.find("\r\nAccept: application/json, text/event-stream\r\n") != std::string::npos);
    CHECK(req.find("\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n") != std::string::npos);
    CHECK(req.find("999") == std::string::npos);
    CHECK(req.ends_with("\r\n\r\n" + r.body));
}

TEST_CASE("a chunked event stream arrives chunk by chunk, before the response ends") {
    std::promise<void> first_seen;
    auto first_seen_f = first_seen.get_future();
    loopback_server server([&](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         chunk("id: 0\nretry: 500\ndata: \n\nid: 1\ndata: {\"a\""));
        // The rest only once the client has shown it got the first part.
        if (first_seen_f.wait_for(10s) != std::future_status::ready) return;
        send_text(s, chunk(":1}\n\n") + chunk("id: 2\ndata: end\n\n") + "0\r\n\r\n");
    });
    http_client client;
    sse_parser parser;
    std::vector<sse_event_in> events;
    std::vector<std::string> chunks;
    bool signalled = false;
    client_handlers h;
    h.on_head = [&](const client_response& head) {
        return head.headers.get("Content-Type").value_or("").starts_with("text/event-stream");
    };
    h.on_data = [&](std::string_view data) {
        chunks.emplace_back(data);
        CHECK(parser.feed(data, [&](sse_event_in&& e) { events.push_back(std::move(e)); }));
        if (!signalled) {
            signalled = true;
            first_seen.set_value();
        }
    };
    auto res = exchange(client, get(server.url()), h);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body.empty());
    CHECK(chunks.size() >= 2);
    REQUIRE(events.size() == 3);
    CHECK(events[0].id == "0");
    CHECK(events[0].data.empty());
    CHECK(events[0].retry == 500ms);
    CHECK(events[1].data == R"({"a":1})");
    CHECK(events[2].id == "2");
    CHECK(events[2].data == "end");
}

TEST_CASE("a Content-Length body and a body ended by closing the connection are read whole") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end");
    });
    http_client client;
    auto res = exchange(client, get(server.url()));
    REQUIRE(res);
    CHECK(res->body == "until the end");
}

TEST_CASE("two sequential requests share one kept-alive connection") {
    loopback_server server(answer_all);
    http_client client;
    for (int i = 0; i < 3; ++i) {
        auto res = exchange(client, get(server.url()));
        REQUIRE(res);
        CHECK(res->body == R"({"ok":true})");
    }
    CHECK(server.accepted() == 1);
}

TEST_CASE("a connection the server says to close is not reused") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    });
    http_client client;
    REQUIRE(exchange(client, get(server.url())));
    REQUIRE(exchange(client, get(server.url())));
    CHECK(server.accepted() == 2);
}

TEST_CASE("a pooled connection the server has closed: the next request still succeeds") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, json_answer(R"({"n":1})"));  // keep-alive by default, then closed anyway
    });
    http_client client;
    REQUIRE(exchange(client, get(server.url())));
    std::this_thread::sleep_for(50ms);  // the close reaches the client's side
    auto res = exchange(client, get(server.url()));
    REQUIRE(res);
    CHECK(res->body == R"({"n":1})");
    CHECK(server.accepted() == 2);
}

TEST_CASE("a reused connection closed without an answer byte is retried once on a new one") {
    // The first connection answers once, then takes the next request and
    // closes without a byte: the race of a server's keep-alive timeout.
    loopback_server server([](tcp::socket& s, int n) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, json_answer(R"({"from":)" + std::to_string(n) + "}"));
        if (n == 1) read_request(s, buf);
    });
    http_client client;
    REQUIRE(exchange(client, get(server.url())));
    client_request post;
    post.url = server.url();
    post.body = "{}";
    auto res = exchange(client, post);
    REQUIRE(res);
    CHECK(res->body == R"({"from":2})");
    CHECK(server.accepted() == 2);
}

TEST_CASE("a new connection closed without an answer is an error, not retried") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        read_request(s, buf);
    });
    http_client client;
    auto res = exchange(client, get(server.url()));
    REQUIRE(!res);
    CHECK(res.error().code == errc::closed);
    CHECK(server.accepted() == 1);
}

TEST_CASE("a connection closed mid-body is an error") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
    });
    http_client client;
    auto res = exchange(client, get(server.url()));
    REQUIRE(!res);
    CHECK(res.error().code == errc::closed);
}

TEST_CASE("a refused connection is connect_failed") {
    std::uint16_t port;
    {
        net::io_context ioc;
        tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        port = a.local_endpoint().port();
    }  // closed: nothing listens there now
    http_client client;
    auto res = exchange(client, get("http://127.0.0.1:" + std::to_string(port) + "/"));
    REQUIRE(!res);
    CHECK(res.error().code == errc::connect_failed);
}

TEST_CASE("a bad URL or method is reported through on_done") {
    http_client client;
    auto res = exchange(client, get("gopher://x/"));
    REQUIRE(!res);
    CHECK(res.error().code == errc::bad_url);
    client_request r = get("http://127.0.0.1:1/");
    r.method = "GET /x";
    res = exchange(client, r);
    REQUIRE(!res);
    CHECK(res.error().code == errc::invalid_argument);
}

TEST_CASE("a silent server times out within the request's timeout") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        read_request(s, buf);
        read_request(s, buf);  // until the test ends
    });
    http_client client;
    const auto start = std::chrono::steady_clock::now();
    auto res = exchange(client, get(server.url(), 300ms));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!res);
    CHECK(res.error().code == errc::timed_out);
    CHECK(took >= 250ms);
    CHECK(took < 3s);
}

TEST_CASE("a silent server on a reused connection times out within the request's timeout") {
    // The first request is answered; the second, on the same kept-alive
    // connection, never is. (A reused connection once got no deadline.)
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, json_answer(R"({"n":1})"));
        read_request(s, buf);
        read_request(s, buf);  // until the test ends
    });
    http_client client;
    REQUIRE(exchange(client, get(server.url(), 300ms)));
    const auto start = std::chrono::steady_clock::now();
    auto res = exchange(client, get(server.url(), 300ms));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!res);
    CHECK(res.error().code == errc::timed_out);
    CHECK(took >= 250ms);
    CHECK(took < 3s);
    CHECK(server.accepted() == 1);
}

TEST_CASE("a stream silent for longer than the timeout times out after its data") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         chunk("data: 1\n\n"));
        std::this_thread::sleep_for(150ms);  // within the allowed silence
        send_text(s, chunk("data: 2\n\n"));
        read_request(s, buf);  // then silence until the test ends
    });
    http_client client;
    std::string got;
    client_handlers h;
    h.on_head = [](const client_response&) { return true; };
    h.on_data = [&](std::string_view d) { got.append(d); };
    auto res = exchange(client, get(server.url(), 400ms), h);
    REQUIRE(!res);
    CHECK(res.error().code == errc::timed_out);
    CHECK(got == "data: 1\n\ndata: 2\n\n");
}

TEST_CASE("cancel ends the exchange with cancelled, exactly once") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        read_request(s, buf);
        read_request(s, buf);
    });
    http_client client;
    std::atomic<int> calls{0};
    std::promise<result<client_response>> done;
    client_handlers h;
    h.on_done = [&](result<client_response> r) {
        if (++calls == 1) done.set_value(std::move(r));
    };
    auto ex = client.send(get(server.url(), 10000ms), std::move(h));
    std::this_thread::sleep_for(100ms);  // the request is out and waiting
    ex->cancel();
    ex->cancel();
    auto f = done.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto res = f.get();
    REQUIRE(!res);
    CHECK(res.error().code == errc::cancelled);
    std::this_thread::sleep_for(100ms);
    ex->cancel();
    std::this_thread::sleep_for(50ms);
    CHECK(calls == 1);
}

TEST_CASE("cancel from on_data stops the data at once") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        std::string all = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 50; ++i) all += chunk("data: " + std::to_string(i) + "\n\n");
        send_text(s, all);  // in one write: the client parses the chunks in one go
        read_request(s, buf);
    });
    http_client client;
    int chunks = 0;
    std::shared_ptr<client_exchange> ex;
    std::promise<void> have_ex;
    auto have_ex_f = have_ex.get_future().share();
    client_handlers h;
    h.on_head = [](const client_response&) { return true; };
    h.on_data = [&](std::string_view) {
        ++chunks;
        have_ex_f.wait();
        ex->cancel();
    };
    auto done = std::make_shared<std::promise<result<client_response>>>();
    h.on_done = [done](result<client_response> r) { done->set_value(std::move(r)); };
    ex = client.send(get(server.url()), std::move(h));
    have_ex.set_value();
    auto f = done->get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto res = f.get();
    REQUIRE(!res);
    CHECK(res.error().code == errc::cancelled);
    CHECK(chunks == 1);
}

TEST_CASE("destroying the client cancels what is in flight, each on_done running once") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        read_request(s, buf);
        read_request(s, buf);
    });
    std::atomic<int> cancelled{0}, other{0};
    {
        http_client client({.threads = 2});
        for (int i = 0; i < 3; ++i) {
            client_handlers h;
            h.on_done = [&](result<client_response> r) {
                if (!r && r.error().code == errc::cancelled) ++cancelled;
                else ++other;
            };
            client.send(get(server.url(), 10000ms), std::move(h));
        }
        std::this_thread::sleep_for(100ms);
    }
    CHECK(cancelled == 3);
    CHECK(other == 0);
}

TEST_CASE("a body over max_body_bytes is too_large, declared or chunked") {
    loopback_server server([](tcp::socket& s, int n) {
        std::string buf;
        if (!read_request(s, buf)) return;
        if (n == 1) {
            send_text(s, json_answer(std::string(5000, 'x')));
        } else {
            std::string all = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            for (int i = 0; i < 10; ++i) all += chunk(std::string(500, 'y'));
            send_text(s, all + "0\r\n\r\n");
        }
    });
    client_options o;
    o.max_body_bytes = 1000;
    http_client client(o);
    auto declared = exchange(client, get(server.url()));
    REQUIRE(!declared);
    CHECK(declared.error().code == errc::too_large);
    auto chunked = exchange(client, get(server.url()));
    REQUIRE(!chunked);
    CHECK(chunked.error().code == errc::too_large);
}

TEST_CASE("headers over max_header_bytes are too_large") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(4000, 'h') + "\r\nContent-Length: 0\r\n\r\n");
    });
    client_options o;
    o.max_header_bytes = 1024;
    http_client client(o);
    auto res = exchange(client, get(server.url()));
    REQUIRE(!res);
    CHECK(res.error().code == errc::too_large);
}

TEST_CASE("garbage instead of HTTP is a protocol_error") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "SSH-2.0-OpenSSH\r\n\r\n");
    });
    http_client client;
    auto res = exchange(client, get(server.url()));
    REQUIRE(!res);
    CHECK(res.error().code == errc::protocol_error);
}

TEST_CASE("an HTTP error status is a success with that status; 1xx interim answers are skipped") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 100 Continue\r\n\r\n" + json_answer(R"({"error":"no session"})", 404, "Not Found"));
        if (!read_request(s, buf)) return;
        send_text(s, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    });
    http_client client;
    int heads = 0;
    client_handlers h;
    h.on_head = [&](const client_response&) {
        ++heads;
        return false;
    };
    auto res = exchange(client, get(server.url()), h);
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(res->body == R"({"error":"no session"})");
    CHECK(heads == 1);
    auto accepted = exchange(client, get(server.url()));
    REQUIRE(accepted);
    CHECK(accepted->status == 202);
    CHECK(accepted->body.empty());
    CHECK(server.accepted() == 1);
}

namespace {

// A throwaway self-signed certificate for "localhost".
struct self_signed {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    self_signed() {
        key = EVP_EC_gen("P-256");
        cert = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                                   -1, 0);
        X509_set_issuer_name(cert, name);
        X509_sign(cert, key, EVP_sha256());
    }
    ~self_signed() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
};

}  // namespace

TEST_CASE("https: a TLS server is spoken to, and its certificate checked unless told not to") {
    self_signed id;
    net::ssl::context server_ctx(net::ssl::context::tls_server);
    REQUIRE(SSL_CTX_use_certificate(server_ctx.native_handle(), id.cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(server_ctx.native_handle(), id.key) == 1);
    loopback_server server([&](tcp::socket& s, int) {
        net::ssl::stream<tcp::socket&> tls(s, server_ctx);
        boost::system::error_code ec;
        tls.handshake(net::ssl::stream_base::server, ec);
        if (ec) return;
        std::string buf;
        while (read_request(tls, buf)) send_text(tls, json_answer(R"({"tls":true})"));
    });
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/mcp";
    {
        http_client client;  // verify_tls: the self-signed certificate is refused
        auto res = exchange(client, get(url));
        REQUIRE(!res);
        CHECK(res.error().code == errc::tls_failed);
        CHECK(res.error().message.find("certificate") != std::string::npos);
    }
    client_options o;
    o.verify_tls = false;
    http_client client(o);
    auto res = exchange(client, get(url));
    REQUIRE(res);
    CHECK(res->body == R"({"tls":true})");
    REQUIRE(exchange(client, get(url)));
    CHECK(server.accepted() == 2);  // the refused one, then one kept alive
}

TEST_CASE("https to a server that does not speak TLS is tls_failed") {
    loopback_server server([](tcp::socket& s, int) {
        send_text(s, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::string buf;
        read_request(s, buf);
    });
    http_client client;
    auto res = exchange(client, get("https://127.0.0.1:" + std::to_string(server.port()) + "/"));
    REQUIRE(!res);
    CHECK(res.error().code == errc::tls_failed);
}
