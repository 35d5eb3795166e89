#include "server/upstreams/upstream_config.h"

#include <doctest/doctest.h>

#include "server/upstreams/upstream_definition.h"

using namespace litemcp::server;

TEST_CASE("mcpServers: url entries become registrations, stdio entries are skipped with a warning") {
    auto r = read_declared_upstreams(json::parse(R"({"mcpServers": {
        "weather": {"url": "https://example.org/mcp", "headers": {"X-Key": "k"}},
        "fs": {"command": "npx", "args": ["-y", "server-filesystem"]}}})"),
                                     "f.json");
    REQUIRE(r);
    CHECK(r->bodies.size() == 1);
    CHECK(r->bodies["weather"] == json::parse(R"({"name": "weather", "declared": true,
        "upstream": {"url": "https://example.org/mcp", "headers": {"X-Key": "k"}}})"));
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("mcpServers.fs") != std::string::npos);
}

TEST_CASE("VS Code's servers and a registry server.json") {
    auto vs = read_declared_upstreams(json::parse(R"({"servers": {"gh": {"type": "http", "url": "http://h/mcp"}}})"), "v");
    REQUIRE(vs);
    CHECK(vs->bodies["gh"]["upstream"]["url"] == "http://h/mcp");
    auto reg = read_declared_upstreams(json::parse(R"({"name": "io.github.acme/weather",
        "remotes": [{"type": "sse", "url": "http://old/sse"},
                    {"type": "streamable-http", "url": "http://new/mcp", "headers": [{"name": "X-Key", "value": "v"}]}]})"),
                                       "server.json");
    REQUIRE(reg);
    CHECK(reg->bodies["weather"]["upstream"] == json::parse(R"({"url": "http://new/mcp", "headers": {"X-Key": "v"}})"));
}

TEST_CASE("what cannot be used is refused, naming the entry") {
    auto bad_url = read_declared_upstreams(json::parse(R"({"mcpServers": {"a": {"url": "ftp://x"}}})"), "f");
    REQUIRE(!bad_url);
    CHECK(bad_url.error().find("mcpServers.a.url") != std::string::npos);
    CHECK(!read_declared_upstreams(json::parse(R"({"mcpServers": {"bad name": {"url": "http://x"}}})"), "f"));
    CHECK(!read_declared_upstreams(json::parse(R"({"mcpServers": {"a": {}}})"), "f"));
    CHECK(!read_declared_upstreams(json::parse(R"({"something": 1})"), "f"));
    CHECK(!read_declared_upstreams(json::parse(R"({"name": "x/y", "remotes": [{"type": "sse", "url": "http://x"}]})"), "f"));
}

TEST_CASE("an upstream's lists are renamed with the prefix; secrets go in headers") {
    auto d = upstream_definition::read("fx", json::parse(R"({"url": "http://h/mcp?key=s3cret", "bearerToken": "t"})"),
                                       std::chrono::milliseconds(1000));
    REQUIRE(d);
    CHECK(d->prefix == "fx__");
    CHECK(d->headers == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer t"}});
    CHECK(d->shown_url() == "http://h/mcp?…");
    CHECK(d->upstream_name("fx__echo") == "echo");
    CHECK(!d->upstream_name("echo"));
    auto body = upstream_registration(json{{"name", "fx"}}, *d, json::parse(R"({"tools": [{"name": "echo"}],
        "prompts": [{"name": "greet"}], "resources": [{"uri": "a://b", "name": "b"}]})"));
    REQUIRE(body);
    CHECK((*body)["tools"][0]["name"] == "fx__echo");
    CHECK((*body)["tools"][0]["inputSchema"] == json{{"type", "object"}});
    CHECK((*body)["prompts"][0]["name"] == "fx__greet");
    CHECK((*body)["resources"][0]["uri"] == "a://b");
    auto unnamed = upstream_registration(json{{"name", "fx"}}, *d, json::parse(R"({"tools": [{"title": "x"}]})"));
    CHECK(!unnamed);
    auto too_long = upstream_registration(json{{"name", "fx"}}, *d, json{{"tools", {{{"name", std::string(127, 'a')}}}}});
    CHECK(!too_long);
    auto none = upstream_definition::read("fx", json::parse(R"({"url": "http://h", "toolPrefix": ""})"), std::chrono::milliseconds(1));
    REQUIRE(none);
    CHECK(none->upstream_name("echo") == "echo");
}
