// A request to a 2026-07-28 upstream: the _meta envelope and the headers
// that repeat the body for routing (Mcp-Method, Mcp-Name, Mcp-Param-*).
#include "server/upstreams/modern_request.h"

#include <doctest/doctest.h>

using namespace litemcp::server;
namespace mr = litemcp::server::modern_request;

TEST_CASE("the envelope names the client and keeps a log level the caller set") {
    const json caps = {{"sampling", json::object()}};
    const json info = {{"name", "litemcp"}, {"version", "1"}};
    auto p = mr::with_envelope(json::parse(R"({"name": "echo"})"), caps, info);
    CHECK(p["name"] == "echo");
    CHECK(p["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28");
    CHECK(p["_meta"]["io.modelcontextprotocol/clientCapabilities"] == caps);
    CHECK(p["_meta"]["io.modelcontextprotocol/clientInfo"] == info);
    CHECK(p["_meta"]["io.modelcontextprotocol/logLevel"] == "info");
    auto q = mr::with_envelope(json::parse(R"({"_meta": {"io.modelcontextprotocol/logLevel": "debug", "k": 1}})"),
                               caps, info);
    CHECK(q["_meta"]["io.modelcontextprotocol/logLevel"] == "debug");
    CHECK(q["_meta"]["k"] == 1);
    CHECK(mr::with_envelope(json::array(), caps, info).is_object());  // not an object: made one
}

TEST_CASE("header values are sent as they are when printable ASCII, else base64-wrapped") {
    CHECK(mr::header_value("eu-west-1") == "eu-west-1");
    CHECK(mr::header_value("Zürich") == "=?base64?WsO8cmljaA==?=");
    CHECK(mr::header_value(" padded") == "=?base64?IHBhZGRlZA==?=");
    CHECK(mr::header_value("") == "=?base64?" "?=");  // (split: "??=" would be a trigraph)
    // A value that looks wrapped is wrapped again, so it is never read as encoded.
    CHECK(mr::header_value("=?base64?eA==?=").starts_with("=?base64?PT9iYXNlNjQ/"));
}

TEST_CASE("routing headers repeat the method, the name and the x-mcp-header arguments") {
    const auto tools = json::parse(R"([
        {"name": "locate", "inputSchema": {"properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "limit": {"type": "integer", "x-mcp-header": "Limit"},
            "where": {"type": "object", "x-mcp-header": "Where"},
            "note": {"type": "string"}}}},
        {"name": "plain", "inputSchema": {"properties": {}}}])");
    const auto params = mr::header_params_of(tools);
    CHECK(params.size() == 1);
    REQUIRE(params.count("locate") == 1);
    CHECK(params.at("locate").size() == 3);

    litemcp::transport::header_list h;
    mr::set_routing_headers(h, json::parse(R"({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params":
        {"name": "locate", "arguments": {"region": "Zürich", "limit": 5, "where": {"x": 1}, "note": "n"}}})"),
                            params);
    CHECK(h.get("MCP-Protocol-Version") == "2026-07-28");
    CHECK(h.get("Mcp-Method") == "tools/call");
    CHECK(h.get("Mcp-Name") == "locate");
    CHECK(h.get("Mcp-Param-Region") == "=?base64?WsO8cmljaA==?=");
    CHECK(h.get("Mcp-Param-Limit") == "5");
    CHECK_FALSE(h.get("Mcp-Param-Where"));  // objects and arrays are not sent as headers

    litemcp::transport::header_list r;
    mr::set_routing_headers(r, json::parse(R"({"method": "resources/read", "params": {"uri": "file:///a b"}})"), params);
    CHECK(r.get("Mcp-Name") == "file:///a b");
    litemcp::transport::header_list l;
    mr::set_routing_headers(l, json::parse(R"({"method": "tools/list"})"), params);
    CHECK(l.get("Mcp-Method") == "tools/list");
    CHECK_FALSE(l.get("Mcp-Name"));
}
