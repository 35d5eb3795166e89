// The method table (server/mcp/method_table.h): the facts that used to be five
// separate lists -- dispatch's if-chain, placement's I/O-thread methods, the
// stateless era's gate and Mcp-Name parameters, its cacheable results, its
// input rounds -- read from one place and pinned here.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "server/mcp/method_table.h"

using namespace litemcp::server;

namespace {

std::set<std::string> names_where(bool (*pred)(const mcp_method&)) {
    std::set<std::string> out;
    for (const auto& m : all_methods())
        if (pred(m)) out.emplace(m.name);
    return out;
}

}  // namespace

TEST_CASE("each method is listed once") {
    std::set<std::string_view> seen;
    for (const auto& m : all_methods()) CHECK_MESSAGE(seen.insert(m.name).second, m.name);
    CHECK(find_method("tools/call") != nullptr);
    CHECK(find_method("tools/cal") == nullptr);
    CHECK(find_method("") == nullptr);
}

TEST_CASE("the stateless era (2026-07-28) serves exactly these") {
    CHECK(names_where([](const mcp_method& m) { return served(m, era::stateless, "2026-07-28"); }) ==
          std::set<std::string>{"server/discover", "subscriptions/listen", "tools/list", "tools/call", "resources/list",
                                "resources/templates/list", "resources/read", "prompts/list", "prompts/get",
                                "completion/complete", "tasks/get", "tasks/cancel", "tasks/update"});
}

TEST_CASE("sessions get the tasks methods from 2025-11-25 on") {
    const std::set<std::string> always{"initialize",     "ping",          "logging/setLevel",
                                       "tools/list",     "tools/call",    "resources/list",
                                       "resources/templates/list",        "resources/read",
                                       "resources/subscribe",             "resources/unsubscribe",
                                       "prompts/list",   "prompts/get",   "completion/complete"};
    auto at = [](std::string v) {
        std::set<std::string> out;
        for (const auto& m : all_methods())
            if (served(m, era::stateful, v)) out.emplace(m.name);
        return out;
    };
    CHECK(at("2025-03-26") == always);
    CHECK(at("2025-06-18") == always);
    auto now = always;
    now.insert({"tasks/get", "tasks/result", "tasks/list", "tasks/cancel"});
    CHECK(at("2025-11-25") == now);
}

TEST_CASE("what runs on the I/O thread, what may be cached, what asks for input") {
    CHECK(names_where([](const mcp_method& m) { return m.on_io_thread; }) ==
          std::set<std::string>{"ping", "tools/list", "resources/list", "resources/templates/list", "prompts/list"});
    CHECK(names_where([](const mcp_method& m) { return m.cacheable; }) ==
          std::set<std::string>{"server/discover", "tools/list", "resources/list", "resources/templates/list",
                                "resources/read", "prompts/list"});
    CHECK(names_where([](const mcp_method& m) { return m.asks_for_input; }) ==
          std::set<std::string>{"tools/call", "prompts/get", "resources/read"});
}

TEST_CASE("Mcp-Name mirrors the parameter that names the target") {
    CHECK(find_method("tools/call")->named_by == "name");
    CHECK(find_method("prompts/get")->named_by == "name");
    CHECK(find_method("resources/read")->named_by == "uri");
    for (auto t : {"tasks/get", "tasks/update", "tasks/cancel"}) CHECK(find_method(t)->named_by == "taskId");
    CHECK(find_method("tools/list")->named_by.empty());
}

TEST_CASE("only the methods the endpoint answers itself have no handler") {
    CHECK(names_where([](const mcp_method& m) { return m.handler == nullptr; }) ==
          std::set<std::string>{"initialize", "server/discover", "subscriptions/listen"});
}

TEST_CASE("a metrics label is a method of the table, 'notification' or 'other': clients cannot grow it") {
    for (auto& m : all_methods()) CHECK(method_label(m.name) == m.name);
    CHECK(method_label("tasks/get") == "tasks/get");  // once missing from a list of its own
    CHECK(method_label("notifications/progress") == "notification");
    CHECK(method_label("notifications/made-up") == "notification");
    CHECK(method_label("tools/call2") == "other");
    CHECK(method_label("") == "other");
}
