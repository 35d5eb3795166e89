#include "server/workers/worker_messages.h"

#include <doctest/doctest.h>

#include "server/upstreams/upstream_definition.h"

using namespace litemcp::server;
namespace wm = litemcp::server::worker_messages;

TEST_CASE("a call is delivered as the client's MCP request, with the delivery keys in _meta") {
    const auto params = json::parse(R"({"name": "add", "arguments": {"a": 2}, "_meta": {"progressToken": "p", "x": 1}})");
    const auto m = wm::call_request("c1", "tools/call", params, 2, 1795597481360);
    CHECK(m == json::parse(R"({"jsonrpc": "2.0", "id": "c1", "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 2},
                   "_meta": {"progressToken": "p", "x": 1, "io.litemcp/deliveryId": "c1",
                             "io.litemcp/attempt": 2, "io.litemcp/deadline": 1795597481360}}})"));
    auto back = wm::read_call(m);
    REQUIRE(back);
    CHECK(back->id == "c1");
    CHECK(back->method == "tools/call");
    CHECK(back->attempt == 2);
    CHECK(back->deadline_ms == 1795597481360u);
    CHECK(back->params["arguments"] == json{{"a", 2}});
    CHECK(wm::deadline_of(m) == 1795597481360u);
    // Not calls: a notification, a response, an integer id.
    CHECK_FALSE(wm::read_call(wm::cancelled("c1", "why")));
    CHECK_FALSE(wm::read_call(json::parse(R"({"jsonrpc": "2.0", "id": "c1", "result": {}})")));
    CHECK_FALSE(wm::read_call(json::parse(R"({"jsonrpc": "2.0", "id": 7, "method": "tools/call"})")));
}

TEST_CASE("an instance's messages become the hub's actions") {
    auto of = [](const char* text) { return wm::report_of(json::parse(text), "c1"); };
    auto r = of(R"({"jsonrpc": "2.0", "id": "c1", "result": {"content": []}})");
    REQUIRE(r);
    CHECK(r->action == "result");
    CHECK(r->body == json::parse(R"({"result": {"content": []}})"));
    r = of(R"({"jsonrpc": "2.0", "id": "c1", "error": {"code": -32602, "message": "no"}})");
    REQUIRE(r);
    CHECK(r->action == "error");
    CHECK(r->body["error"]["code"] == -32602);
    r = of(R"({"jsonrpc": "2.0", "method": "notifications/progress",
               "params": {"progressToken": "p", "progress": 1, "total": 2, "_meta": {}}})");
    REQUIRE(r);
    CHECK(r->action == "progress");
    CHECK(r->body == json::parse(R"({"progress": 1, "total": 2})"));  // the URL names the call
    for (auto [method, action] : {std::pair{"notifications/message", "log"}, {"io.litemcp/failure", "failure"},
                                  {"io.litemcp/suspend", "suspend"}, {"io.litemcp/extend", "extend"}}) {
        r = wm::report_of(json{{"jsonrpc", "2.0"}, {"method", method}, {"params", {{"ms", 5}}}}, "c1");
        REQUIRE(r);
        CHECK(r->action == action);
    }
    r = of(R"({"jsonrpc": "2.0", "id": 9, "method": "sampling/createMessage", "params": {"maxTokens": 5}})");
    REQUIRE(r);
    CHECK(r->action == "ask");
    CHECK(r->body == json::parse(R"({"id": 9, "method": "sampling/createMessage", "params": {"maxTokens": 5}})"));
}

TEST_CASE("what an instance may not send is refused with what is wrong") {
    auto error_of = [](const char* text) {
        auto r = wm::report_of(json::parse(text), "c1");
        REQUIRE_FALSE(r);
        return r.error();
    };
    CHECK(error_of(R"({"jsonrpc": "2.0", "id": "c2", "result": {}})").find("call's id 'c1'") != std::string::npos);
    CHECK(error_of(R"({"jsonrpc": "2.0", "id": 1, "result": {}})").find("call's id") != std::string::npos);
    CHECK(error_of(R"({"id": "c1", "result": {}})").find("jsonrpc") != std::string::npos);
    CHECK(error_of(R"({"jsonrpc": "2.0", "method": "notifications/whatever"})").find("unknown notification") != std::string::npos);
    CHECK(error_of(R"([{"jsonrpc": "2.0", "id": "c1", "result": {}}])").find("batch") != std::string::npos);
    CHECK(error_of(R"({"jsonrpc": "2.0", "id": "c1", "result": {}, "error": {"code": 1, "message": ""}})")
              .find("exactly one") != std::string::npos);
}

TEST_CASE("an upstream's resource whose URI another serves is listed namespaced") {
    upstream_definition d;
    d.name = "fy";
    d.prefix = "fy__";
    auto reg = upstream_registration(json{{"name", "fy"}}, d,
                                     json::parse(R"({"resources": [{"uri": "a://1", "name": "one"}, {"uri": "b://2", "name": "two"}]})"),
                                     {"a://1"});
    REQUIRE(reg);
    CHECK((*reg)["resources"][0]["uri"] == "upstream://fy/a://1");
    CHECK((*reg)["resources"][1]["uri"] == "b://2");
    CHECK(d.upstream_uri("upstream://fy/a://1") == "a://1");
    CHECK(d.upstream_uri("b://2") == "b://2");
}

TEST_CASE("a delivered call forwarded to an MCP server: its name, one id per attempt, litemcp's deadline dropped") {
    upstream_definition d;
    d.name = "weather";
    d.prefix = "weather__";
    auto call = wm::read_call(wm::call_request(
        "c1", "tools/call", json::parse(R"({"name": "weather__forecast", "_meta": {"progressToken": 5}})"), 3, 99));
    REQUIRE(call);
    auto f = forward_call(d, *call);
    REQUIRE(f);
    CHECK(f->id == "c1/3");
    CHECK(f->method == "tools/call");
    CHECK(f->params == json::parse(R"({"name": "forecast",
        "_meta": {"progressToken": "c1/3", "io.litemcp/deliveryId": "c1", "io.litemcp/attempt": 3}})"));
    // No token asked: none sent. A resource keeps its params.
    call = wm::read_call(wm::call_request("c2", "resources/read", json{{"uri", "file:///a"}}, 1, 0));
    f = forward_call(d, *call);
    REQUIRE(f);
    CHECK(f->params["uri"] == "file:///a");
    CHECK_FALSE(f->params["_meta"].contains("progressToken"));
    // A namespaced resource URI is read as the server's.
    call = wm::read_call(wm::call_request("c4", "resources/read", json{{"uri", "upstream://weather/file:///a"}}, 1, 0));
    f = forward_call(d, *call);
    REQUIRE(f);
    CHECK(f->params["uri"] == "file:///a");
    // A name without the prefix is not the server's.
    call = wm::read_call(wm::call_request("c3", "prompts/get", json{{"name", "other"}}, 1, 0));
    CHECK_FALSE(forward_call(d, *call));
}
