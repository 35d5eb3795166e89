// The HTTP client's connections, against loopback servers
// (loopback_server.h): keep-alive reuse and when it must not happen, the one
// retry of a request on a reused connection the server closed, connections
// that fail, and TLS.
#include <doctest/doctest.h>

#include <boost/asio/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <thread>

#include "loopback_server.h"
#include "transport/http_client.h"

using namespace litemcp::test;
using namespace litemcp::transport;
using namespace std::chrono_literals;

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
