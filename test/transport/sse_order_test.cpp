// An SSE stream's frames and its end take effect in the order they were
// called, whichever threads call them: the server's store runs callbacks of
// one connection's messages on the I/O thread while handling another, and
// a frame written there must not overtake one another thread queued first.
#include <doctest/doctest.h>

#include <boost/asio.hpp>

#include <string>
#include <thread>

#include "transport/http_server.h"

using namespace litemcp::transport;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// The whole response to a GET of path, read until the server closes or the
// chunked body ends.
std::string get(std::uint16_t port, const std::string& path) {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    net::write(s, net::buffer(request));
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    while (out.find("0\r\n\r\n") == std::string::npos) {
        const auto n = s.read_some(net::buffer(buf), ec);
        if (ec) break;
        out.append(buf, n);
    }
    return out;
}

}  // namespace

TEST_CASE("frames queued from another thread stay ahead of frames sent later on the I/O thread") {
    server_options o;
    o.port = 0;
    o.threads = 1;
    auto server = http_server::start(o, [](http_request&&, std::shared_ptr<responder> res) {
        // The I/O thread is busy here while another thread starts the
        // stream and queues the priming event; then this thread sends an
        // event and ends the stream.
        std::shared_ptr<sse_stream> stream;
        std::thread([&] {
            stream = res->start_sse({});
            stream->send_priming("first", std::chrono::milliseconds(1000));
        }).join();
        stream->send("second", "later");
        stream->close();
    });
    REQUIRE(server);
    const auto response = get((*server)->port(), "/");
    const auto first = response.find("id: first");
    const auto second = response.find("id: second");
    INFO(response);
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    CHECK(first < second);
    (*server)->stop(std::chrono::milliseconds(100));
}
