#include "server/json/json_schema.h"

#include <doctest/doctest.h>

#include "schemas/schemas.h"

using namespace litemcp::server;

TEST_CASE("a problem names the field it concerns") {
    auto s = json_schema::compile(json::parse(R"({
        "type": "object", "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "tools": {"type": "array", "items": {"type": "object", "required": ["inputSchema"]}}
        }})"));
    REQUIRE(s);
    CHECK_FALSE((*s)->validate(json{{"name", "w"}, {"tools", json::array()}}));
    auto missing = (*s)->validate(json::object());
    REQUIRE(missing);
    CHECK(missing->find("name") != std::string::npos);
    auto nested = (*s)->validate(json{{"name", "w"}, {"tools", json::array({json::object()})}});
    REQUIRE(nested);
    CHECK(nested->find("tools[0]") != std::string::npos);
    auto wrong_type = (*s)->validate(json{{"name", 7}});
    REQUIRE(wrong_type);
    CHECK(wrong_type->rfind("name:", 0) == 0);
}

TEST_CASE("a schema that cannot be compiled is an error, not an exception") {
    auto s = json_schema::compile(json{{"$ref", "https://example.invalid/remote.json"}});
    CHECK_FALSE(s);
}

TEST_CASE("every embedded schema of schemas/ compiles") {
    for (auto name : {"worker-register", "worker-progress", "worker-log", "worker-result", "worker-failure",
                      "worker-suspend", "worker-extend"}) {
        CAPTURE(name);
        auto text = litemcp::schemas::find(name);
        REQUIRE(text);
        CHECK(json_schema::compile(json::parse(*text)));
    }
    CHECK_FALSE(litemcp::schemas::find("no-such-schema"));
}
