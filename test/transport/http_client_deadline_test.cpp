// How an HTTP client's exchange ends without its answer, against loopback
// servers (loopback_server.h): the request's timeout (on a new connection,
// a reused one, and a stream gone silent), cancel(), and the client's
// destruction -- on_done running once, whatever ends it.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "loopback_server.h"
#include "transport/http_client.h"

using namespace litemcp::test;
using namespace litemcp::transport;
using namespace std::chrono_literals;

namespace {

// A GET with a 300 ms timeout that the server never answers: it ends with
// timed_out, not before its timeout and not long after.
void check_times_out(http_client& client, const std::string& url) {
    const auto start = std::chrono::steady_clock::now();
    auto res = exchange(client, get(url, 300ms));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!res);
    CHECK(res.error().code == errc::timed_out);
    CHECK(took >= 250ms);
    CHECK(took < 3s);
}

}  // namespace

TEST_CASE("a silent server times out within the request's timeout") {
    loopback_server server([](tcp::socket& s, int) {
        std::string buf;
        read_request(s, buf);
        read_request(s, buf);  // until the test ends
    });
    http_client client;
    check_times_out(client, server.url());
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
    check_times_out(client, server.url());
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
