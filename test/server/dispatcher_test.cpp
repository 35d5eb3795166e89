// The dispatcher and the method handlers, on a fake reply channel and a
// store in a temporary folder: no HTTP server, no sockets.
#include <doctest/doctest.h>

#include "fake_channel.h"
#include "server/mcp/dispatcher.h"
#include "server/mcp/parked_inputs.h"
#include "server/app/mcp_server.h"
#include "server/mcp/task_runner.h"
#include "server/workers/worker_hub.h"
#include "test_util.h"

using namespace litemcp;
using namespace litemcp::server;
using namespace std::chrono_literals;

namespace {

struct no_sink : call_sink {
    void notify(const call_ticket&, json, std::optional<log_level>) override {}
    void finish(const call_ticket&, std::optional<json>) override {}
    std::shared_ptr<call> restored(const call_ticket&) override { return nullptr; }
};

struct fixture {
    test::temp_dir dir;
    mcp_options options;
    registry reg;
    tool_schemas schemas;
    no_sink sink;
    std::unique_ptr<store::store> st;
    std::unique_ptr<session_table> sessions;
    std::unique_ptr<worker_hub> workers;
    std::unique_ptr<task_table> tasks;
    work_pool handlers{"test", 2, 100};
    std::unique_ptr<parked_inputs> parked;  // before timers: destroyed after them
    timer_queue timers;
    std::unique_ptr<task_runner> runner;
    std::unique_ptr<dispatcher> calls;

    fixture() {
        auto o = test::small_options(dir.path());
        o.parents = builtin_parents(options);
        o.segment_bytes = 8u << 20;
        st = test::open_store(o);
        sessions = std::make_unique<session_table>(*st, 100);
        workers = std::make_unique<worker_hub>(*st, reg, sink, worker_options{});
        tasks = std::make_unique<task_table>(*st, task_table_options{});
        parked = std::make_unique<parked_inputs>(parked_inputs::parts{*workers, timers});
        runner = std::make_unique<task_runner>(task_runner::parts{
            options, *tasks, *workers, handlers, timers, false,
            [this](const std::shared_ptr<call>& c) { return calls->run(c); }});
        calls = std::make_unique<dispatcher>(method_services{reg, schemas, *workers, *sessions, *st, *runner, *parked});
        reg.add_tool({json{{"name", "count"},
                           {"inputSchema", {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}, {"required", {"n"}}}}},
                      [](const json& args, request_context& ctx) -> rpc_result {
                          const int n = args["n"];
                          for (int i = 1; i <= n; ++i) ctx.progress(i, n);
                          ctx.log(log_level::info, "counted");
                          return json{{"content", json::array({{{"type", "text"}, {"text", std::to_string(n)}}})}};
                      }});
        reg.add_tool({json{{"name", "boom"}, {"inputSchema", {{"type", "object"}}}},
                      [](const json&, request_context&) -> rpc_result { throw std::runtime_error("it broke"); }});
        reg.add_tool({json{{"name", "ask"}, {"inputSchema", {{"type", "object"}}}},
                      [](const json&, request_context& ctx) -> rpc_result {
                          auto a = ctx.ask({{"who", "elicitation/create", json{{"message", "who?"}}}});
                          if (!a) return std::unexpected(a.error());
                          return json{{"content", json::array()}, {"structuredContent", (*a)["who"]}};
                      }});
        reg.add_tool({json{{"name", "long"},
                           {"inputSchema", {{"type", "object"}}},
                           {"execution", {{"taskSupport", "required"}}}},
                      [](const json&, request_context&) -> rpc_result { return json{{"content", json::array()}}; }});
    }
    ~fixture() {
        runner->stop_promotions();
        runner->interrupt();
        handlers.stop();
    }

    std::shared_ptr<call> make(std::string method, json params, std::shared_ptr<test::fake_channel> ch) {
        auto c = std::make_shared<call>();
        c->id = 1;
        c->id_key = "1";
        c->method = std::move(method);
        c->params = std::move(params);
        if (c->params.contains("_meta")) c->progress_token = c->params["_meta"]["progressToken"];
        if (ch->rules() == era::stateful) {  // a session's call belongs to one
            auto s = sessions->create(ch->version(), ch->caps, json{{"name", "test"}, {"version", "1"}});
            REQUIRE(s);
            ch->session_of = *s;
        }
        c->channel = std::move(ch);
        return c;
    }
    call_outcome run(std::string method, json params, std::shared_ptr<test::fake_channel> ch) {
        auto c = make(std::move(method), std::move(params), std::move(ch));
        calls->placement(*c);
        return calls->run(c);
    }
};

}  // namespace

TEST_CASE("tools/list lists the registry's tools") {
    fixture f;
    auto out = f.run("tools/list", json::object(), std::make_shared<test::fake_channel>());
    REQUIRE(out);
    REQUIRE(*out);
    CHECK((**out)["tools"].size() == 4);
    CHECK((**out)["tools"][2]["name"] == "count");  // in name order
}

TEST_CASE("tools/call runs the tool; its progress and logs go to the channel in order") {
    fixture f;
    auto ch = std::make_shared<test::fake_channel>();
    ch->level = log_level::info;
    auto out = f.run("tools/call", json{{"name", "count"}, {"arguments", {{"n", 3}}}, {"_meta", {{"progressToken", "p"}}}}, ch);
    REQUIRE(out);
    REQUIRE(*out);
    CHECK((**out)["content"][0]["text"] == "3");
    const auto sent = ch->emitted();
    REQUIRE(sent.size() == 4);
    for (int i = 0; i < 3; ++i) {
        CHECK(sent[i]["method"] == "notifications/progress");
        CHECK(sent[i]["params"]["progress"] == i + 1);
        CHECK(sent[i]["params"]["progressToken"] == "p");
    }
    CHECK(sent[3]["method"] == "notifications/message");
    // Without a progress token and below the channel's level: nothing.
    auto quiet = std::make_shared<test::fake_channel>();
    CHECK(f.run("tools/call", json{{"name", "count"}, {"arguments", {{"n", 2}}}}, quiet)->has_value());
    CHECK(quiet->emitted().empty());
}

TEST_CASE("bad calls are answered with the right errors") {
    fixture f;
    auto ch = std::make_shared<test::fake_channel>();
    auto unknown_method = f.run("tools/frobnicate", json::object(), ch);
    CHECK(unknown_method->error().code == rpc_code::method_not_found);
    auto unknown_tool = f.run("tools/call", json{{"name", "nope"}}, ch);
    CHECK(unknown_tool->error().code == rpc_code::invalid_params);
    CHECK(unknown_tool->error().message == "Unknown tool: nope");
    // Arguments that break the schema: a tool error the model can read.
    auto bad_args = f.run("tools/call", json{{"name", "count"}, {"arguments", {{"n", "three"}}}}, ch);
    REQUIRE(bad_args->has_value());
    CHECK((**bad_args)["isError"] == true);
    // A handler that throws: an internal error naming what broke.
    auto thrown = f.run("tools/call", json{{"name", "boom"}}, ch);
    CHECK(thrown->error().code == rpc_code::internal_error);
    CHECK(thrown->error().message.find("it broke") != std::string::npos);
}

TEST_CASE("each era gets only its methods") {
    fixture f;
    // logging/setLevel is a session's; a 2026-07-28 call does not have it.
    auto modern = std::make_shared<test::fake_channel>(era::stateless, "2026-07-28");
    CHECK(f.run("logging/setLevel", json{{"level", "info"}}, modern)->error().code == rpc_code::method_not_found);
    // tasks/list is 2025-11-25's, not 2025-06-18's.
    auto older = std::make_shared<test::fake_channel>(era::stateful, "2025-06-18");
    CHECK(f.run("tasks/list", json::object(), older)->error().code == rpc_code::method_not_found);
    CHECK(f.run("ping", json::object(), older)->has_value());
}

TEST_CASE("a cancelled call has no outcome") {
    fixture f;
    auto c = f.make("tools/call", json{{"name", "count"}, {"arguments", {{"n", 1}}}}, std::make_shared<test::fake_channel>());
    c->cancelled->store(true);
    CHECK_FALSE(f.calls->run(c).has_value());
}

TEST_CASE("input: a channel that asks in rounds stops the handler until the answer comes") {
    fixture f;
    auto ch = std::make_shared<test::fake_channel>(era::stateless, "2026-07-28");
    ch->caps = json{{"elicitation", json::object()}};
    auto c = f.make("tools/call", json{{"name", "ask"}}, ch);
    auto first = f.calls->run(c);
    CHECK(first->error().code == rpc_code::input_pending);
    CHECK(c->input_requests["who"]["method"] == "elicitation/create");
    // The next round carries the answer.
    auto again = f.make("tools/call", json{{"name", "ask"}}, ch);
    again->answers["who"] = json{{"action", "accept"}};
    auto second = f.calls->run(again);
    REQUIRE(second->has_value());
    CHECK((**second)["structuredContent"]["action"] == "accept");
    // Without the capability: -32021.
    auto bare = std::make_shared<test::fake_channel>(era::stateless, "2026-07-28");
    CHECK(f.run("tools/call", json{{"name", "ask"}}, bare)->error().code == rpc_code::missing_capability);
}

TEST_CASE("a tool that runs only as a task: asked for as one, it starts one") {
    fixture f;
    auto ch = std::make_shared<test::fake_channel>(era::stateful, "2025-11-25");
    auto refused = f.run("tools/call", json{{"name", "long"}}, ch);
    CHECK(refused->error().code == rpc_code::method_not_found);
    auto started = f.run("tools/call", json{{"name", "long"}, {"task", json::object()}}, ch);
    REQUIRE(started->has_value());
    const std::string id = (**started)["task"]["taskId"];
    // The task runs on the pool and completes.
    auto t = f.tasks->find(id);
    REQUIRE(t);
    std::unique_lock lock(t->mu);
    CHECK(t->changed.wait_for(lock, 10s, [&] { return t->rec.status == task_status::completed; }));
}
