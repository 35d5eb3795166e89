// The one rule for each request check that /mcp, /workers/, /admin/ and
// /metrics share (server/http/request_checks.h).
#include <doctest/doctest.h>

#include "server/http/request_checks.h"

using namespace litemcp;
using namespace litemcp::server::http;

TEST_CASE("Accept: media ranges, wildcards and q-values (RFC 9110 12.5.1)") {
    constexpr std::string_view sse = "text/event-stream", js = "application/json";
    CHECK(accepts(std::string_view("text/event-stream"), sse));
    CHECK(accepts(std::string_view("application/json, text/event-stream"), sse));
    CHECK(accepts(std::string_view("application/json,text/event-stream"), js));
    CHECK(accepts(std::string_view("*/*"), sse));  // what curl sends
    CHECK(accepts(std::string_view("*/*"), js));
    CHECK(accepts(std::string_view("text/*"), sse));
    CHECK(accepts(std::string_view("Text/Event-Stream"), sse));  // case-insensitive
    CHECK(accepts(std::string_view("text/event-stream;q=0.5"), sse));
    CHECK(accepts(std::string_view(" text/event-stream ; charset=utf-8 "), sse));
    CHECK_FALSE(accepts(std::nullopt, sse));  // MCP: the client lists what it takes
    CHECK_FALSE(accepts(std::string_view(""), sse));
    CHECK_FALSE(accepts(std::string_view("application/json"), sse));
    CHECK_FALSE(accepts(std::string_view("text/event-streamx"), sse));
    CHECK_FALSE(accepts(std::string_view("application/*"), sse));
    CHECK_FALSE(accepts(std::string_view("text/event-stream;q=0"), sse));
    CHECK_FALSE(accepts(std::string_view("text/event-stream;q=0.000"), sse));
    // The most specific range decides: */* does not undo an explicit q=0.
    CHECK_FALSE(accepts(std::string_view("*/*, text/event-stream;q=0"), sse));
    CHECK(accepts(std::string_view("*/*;q=0, text/event-stream"), sse));
    CHECK(accepts(std::string_view("text/event-stream;q=0, text/event-stream;q=1"), sse));  // the best of equals
    CHECK_FALSE(accepts(std::string_view("text/event-stream;q=2"), sse));  // malformed q: not acceptable
}

TEST_CASE("Authorization: the Bearer scheme in any case, one token") {
    CHECK(bearer_token(std::string_view("Bearer abc")) == "abc");
    CHECK(bearer_token(std::string_view("bearer abc")) == "abc");
    CHECK(bearer_token(std::string_view("BEARER abc")) == "abc");
    CHECK(bearer_token(std::string_view("BeArEr   abc  ")) == "abc");
    CHECK(bearer_token(std::string_view("Bearer\tabc")) == "abc");
    CHECK_FALSE(bearer_token(std::nullopt));
    CHECK_FALSE(bearer_token(std::string_view("Bearer")));
    CHECK_FALSE(bearer_token(std::string_view("Bearer ")));
    CHECK_FALSE(bearer_token(std::string_view("Bearerabc")));
    CHECK_FALSE(bearer_token(std::string_view("Basic YTpi")));
}

TEST_CASE("loopback: one rule for Host names, Origins and peer addresses") {
    for (std::string_view yes : {"localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:80", "127.1.2.3",
                                 "[::1]", "[::1]:8080", "::1", "[::ffff:127.0.0.1]:9", "127.0.0.1:54321",
                                 "::1:54321", "::ffff:127.0.0.1:4000"})
        CHECK_MESSAGE(is_loopback(yes), yes);
    for (std::string_view no : {"", "example.com", "example.com:8080", "localhost.evil.com", "127.0.0.1.evil.com",
                                "10.0.0.1", "10.0.0.1:80", "[::2]", "::ffff:10.0.0.1:80", "128.0.0.1", "evil:127"})
        CHECK_MESSAGE(!is_loopback(no), no);
    CHECK(origin_host("http://localhost:3000") == "localhost");
    CHECK(origin_host("https://[::1]:3000") == "[::1]");
    CHECK(origin_host("null") == "null");
    CHECK(is_loopback(origin_host("http://127.0.0.1")));
    CHECK_FALSE(is_loopback(origin_host("http://evil.example")));
}

TEST_CASE("Host and Origin: loopback passes, others only when listed (DNS rebinding)") {
    auto request = [](std::optional<std::string> host, std::optional<std::string> origin) {
        transport::http_request r;
        if (host) r.headers.set("Host", *host);
        if (origin) r.headers.set("Origin", *origin);
        return r;
    };
    const std::vector<std::string> none, hosts{"mcp.example.com", "api.example.com:8443"},
        origins{"https://app.example.com"}, any{"*"};
    CHECK_FALSE(origin_or_host_refusal(request({}, {}), none, none));
    CHECK_FALSE(origin_or_host_refusal(request("localhost:8080", "http://127.0.0.1:3000"), none, none));
    const auto host = origin_or_host_refusal(request("evil.example", {}), none, none);
    REQUIRE(host);
    CHECK(*host == "Host 'evil.example' is not allowed (DNS rebinding protection)");
    // A listed Host passes by name (any port) or exactly as given.
    CHECK_FALSE(origin_or_host_refusal(request("mcp.example.com:9000", {}), hosts, none));
    CHECK_FALSE(origin_or_host_refusal(request("api.example.com:8443", {}), hosts, none));
    CHECK(origin_or_host_refusal(request("api.example.com:9000", {}), hosts, none));
    CHECK_FALSE(origin_or_host_refusal(request("anything.example", {}), any, none));
    // An Origin is compared as given; the Host passing does not let it pass.
    const auto origin = origin_or_host_refusal(request("localhost", "https://evil.example"), none, origins);
    REQUIRE(origin);
    CHECK(*origin == "Origin 'https://evil.example' is not allowed");
    CHECK_FALSE(origin_or_host_refusal(request("localhost", "https://app.example.com"), none, origins));
    CHECK(origin_or_host_refusal(request("localhost", "https://app.example.com:444"), none, origins));
    CHECK_FALSE(origin_or_host_refusal(request("localhost", "https://x.example"), none, any));
}

TEST_CASE("query parameters and path segments are percent-decoded") {
    transport::http_request r;
    r.query = "topics=mcp.session%2F*&limit=10&q=a+b&flag&limit=20";
    CHECK(query_param(r, "topics") == "mcp.session/*");
    CHECK(query_param(r, "limit") == "10");  // the first occurrence
    CHECK(query_param(r, "q") == "a b");
    CHECK(query_param(r, "flag") == "");
    CHECK_FALSE(query_param(r, "missing"));

    auto segs = path_segments("/admin/sessions/a%2Fb/");
    REQUIRE(segs);
    CHECK(*segs == std::vector<std::string>{"admin", "sessions", "a/b"});
    CHECK(path_segments("/workers//calc")->size() == 2);
    CHECK_FALSE(path_segments("admin"));  // not origin-form
    CHECK_FALSE(path_segments("/a b"));
}
