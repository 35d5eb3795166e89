#include "server/rpc/provider.h"

#include <doctest/doctest.h>

using namespace litemcp::server;

TEST_CASE("URI templates bind their variables and nothing else") {
    auto v = match_uri_template("test://template/{id}/data", "test://template/42/data");
    REQUIRE(v);
    CHECK(v->at("id") == "42");
    CHECK_FALSE(match_uri_template("test://template/{id}/data", "test://template//data"));
    CHECK_FALSE(match_uri_template("test://template/{id}/data", "test://template/a/b/data"));
    CHECK_FALSE(match_uri_template("test://template/{id}/data", "test://template/42/datum"));
    auto two = match_uri_template("db://{table}/{row}", "db://users/7");
    REQUIRE(two);
    CHECK(two->at("table") == "users");
    CHECK(two->at("row") == "7");
}

TEST_CASE("the registry lists in name order and tells listeners about changes") {
    registry r;
    std::vector<list_kind> changes;
    r.on_list_changed([&](list_kind k) { changes.push_back(k); });
    auto noop = [](const json&, request_context&) -> rpc_result { return json::object(); };
    r.add_tool({json{{"name", "zeta"}}, noop});
    r.add_tool({json{{"name", "alpha"}}, noop});
    auto tools = r.tools();
    REQUIRE(tools.size() == 2);
    CHECK(tools[0]->definition["name"] == "alpha");
    CHECK(r.find_tool("zeta"));
    CHECK(r.remove_tool("zeta"));
    CHECK_FALSE(r.remove_tool("zeta"));
    CHECK(changes == std::vector<list_kind>{list_kind::tools, list_kind::tools, list_kind::tools});
    CHECK_FALSE(r.find_tool("zeta"));
}

TEST_CASE("log levels parse and order as RFC 5424 has them") {
    CHECK(parse_log_level("warning") == log_level::warning);
    CHECK_FALSE(parse_log_level("loud"));
    CHECK(log_level::debug < log_level::emergency);
    CHECK(to_string(log_level::notice) == "notice");
}
