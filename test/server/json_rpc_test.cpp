#include "server/rpc/json_rpc.h"

#include <doctest/doctest.h>

#include "server/json/json_text.h"

using namespace litemcp::server;

TEST_CASE("classify tells requests, notifications, responses and invalid messages apart") {
    CHECK(classify(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}).kind == message_kind::request);
    CHECK(classify(json{{"jsonrpc", "2.0"}, {"id", "a"}, {"method", "ping"}, {"params", json::object()}}).kind ==
          message_kind::request);
    CHECK(classify(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).kind ==
          message_kind::notification);
    CHECK(classify(json{{"jsonrpc", "2.0"}, {"id", 3}, {"result", json::object()}}).kind == message_kind::response);
    CHECK(classify(json{{"jsonrpc", "2.0"}, {"id", 3}, {"error", {{"code", -1}, {"message", "x"}}}}).kind ==
          message_kind::response);

    auto invalid = [](const json& m) {
        auto c = classify(m);
        CHECK(c.kind == message_kind::invalid);
        CHECK_FALSE(c.why.empty());
    };
    invalid(json::array());
    invalid(json{{"id", 1}, {"method", "ping"}});                                   // no jsonrpc
    invalid(json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}});
    invalid(json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}});         // null id (MCP)
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}});             // not an integer
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", ""}});
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "x"}, {"params", json::array()}});
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", 1}, {"error", {{"code", 1}}}});
    invalid(json{{"jsonrpc", "2.0"}, {"result", 1}});                                // response without id
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1}, {"error", "bad"}});
    invalid(json{{"jsonrpc", "2.0"}, {"id", 1}});
}

TEST_CASE("errors carry the id when there is one and omit it otherwise") {
    auto e = make_error(7, rpc_code::invalid_params, "bad", json{{"field", "x"}});
    CHECK(e["id"] == 7);
    CHECK(e["error"]["code"] == -32602);
    CHECK(e["error"]["data"]["field"] == "x");
    auto anonymous = make_error(nullptr, rpc_code::parse_error, "Parse error");
    CHECK_FALSE(anonymous.contains("id"));
    CHECK(anonymous["jsonrpc"] == "2.0");
    CHECK(make_result("r", json::object()) == json{{"jsonrpc", "2.0"}, {"id", "r"}, {"result", json::object()}});
    CHECK_FALSE(make_notification("notifications/x", nullptr).contains("params"));
}

TEST_CASE("a result's text is the bytes of the message it stands for") {
    const std::vector<json> ids = {1, -7, 18446744073709551615ull, "r", "a \"quoted\" id\n", ""};
    const std::vector<json> results = {
        json::object(),
        json{{"content", json::array({{{"type", "text"}, {"text", "héllo\twörld"}}})}, {"isError", false}},
        json{{"z", 1}, {"a", {{"nested", json::array({1.5, nullptr, true})}}}},
        json::array(),
        "plain"};
    for (const auto& id : ids)
        for (const auto& result : results) {
            CAPTURE(id.dump());
            CAPTURE(result.dump());
            CHECK(result_text(to_json(id), result) == to_json(make_result(id, result)));
            CHECK(json::parse(result_text(to_json(id), result)) == make_result(id, result));
        }
}
