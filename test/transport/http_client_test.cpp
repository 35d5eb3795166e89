// The HTTP client's exchange, against loopback servers (loopback_server.h):
// the URL it is given, the request as it goes out, and the answer as it
// comes back -- collected whole or streamed, its status, and the bounds
// and checks it must pass.
#include <doctest/doctest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"
#include "transport/beast/client_url.h"
#include "transport/http_client.h"
#include "transport/sse_parser.h"

using namespace litemcp::test;
using namespace litemcp::transport;
using namespace std::chrono_literals;

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
