#include "server/telemetry/metrics.h"

#include <doctest/doctest.h>

using namespace litemcp::server;

namespace {

std::string rendered(const metrics& m) {
    std::string out;
    m.render(out);
    return out;
}

}  // namespace

TEST_CASE("a counter's series are told apart by every label") {
    metrics m;
    m.add("litemcp_http_requests_total", {{"endpoint", "mcp"}, {"method", "POST"}, {"status", "200"}});
    m.add("litemcp_http_requests_total", {{"endpoint", "mcp"}, {"method", "POST"}, {"status", "200"}});
    m.add("litemcp_http_requests_total", {{"endpoint", "mcp"}, {"method", "POST"}, {"status", "404"}}, 3);
    // The same values under other names are another series.
    m.add("litemcp_http_requests_total", {{"endpoint", "mcp"}, {"status", "POST"}, {"method", "200"}});
    const auto out = rendered(m);
    CHECK(out.find("# TYPE litemcp_http_requests_total counter\n") != std::string::npos);
    CHECK(out.find("litemcp_http_requests_total{endpoint=\"mcp\",method=\"POST\",status=\"200\"} 2\n") !=
          std::string::npos);
    CHECK(out.find("litemcp_http_requests_total{endpoint=\"mcp\",method=\"POST\",status=\"404\"} 3\n") !=
          std::string::npos);
    CHECK(out.find("litemcp_http_requests_total{endpoint=\"mcp\",status=\"POST\",method=\"200\"} 1\n") !=
          std::string::npos);
}

TEST_CASE("label values are escaped, and a value cannot pose as two labels") {
    metrics m;
    m.add("c", {{"a", "x\x1f" "b=y"}});
    m.add("c", {{"a", "x"}, {"b", "y"}});
    const auto out = rendered(m);
    CHECK(out.find("c{a=\"x\x1f" "b=y\"} 1\n") != std::string::npos);
    CHECK(out.find("c{a=\"x\",b=\"y\"} 1\n") != std::string::npos);
    metrics q;
    q.add("c", {{"a", "say \"hi\"\n"}});
    CHECK(rendered(q).find("c{a=\"say \\\"hi\\\"\\n\"} 1\n") != std::string::npos);
}

TEST_CASE("a histogram's buckets are cumulative, with a sum and a count") {
    metrics m;
    m.observe("d", {{"method", "tools/call"}}, 0.0004);
    m.observe("d", {{"method", "tools/call"}}, 0.003);
    m.observe("d", {{"method", "tools/call"}}, 20);
    const auto out = rendered(m);
    CHECK(out.find("d_bucket{method=\"tools/call\",le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(out.find("d_bucket{method=\"tools/call\",le=\"0.005\"} 2\n") != std::string::npos);
    CHECK(out.find("d_bucket{method=\"tools/call\",le=\"10\"} 2\n") != std::string::npos);
    CHECK(out.find("d_bucket{method=\"tools/call\",le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(out.find("d_count{method=\"tools/call\"} 3\n") != std::string::npos);
    CHECK(out.find("d_sum{method=\"tools/call\"} 20.0034\n") != std::string::npos);
}
