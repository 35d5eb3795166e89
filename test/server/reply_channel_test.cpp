// Reply channels (server/mcp/call.h): where a call's messages and answer go.
// A store in a temporary folder and a fake responder; no server, no sockets.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "server/mcp/at_once.h"
#include "server/mcp/direct_channel.h"
#include "server/sessions/interrupted_request.h"
#include "server/json/json_text.h"
#include "server/app/mcp_server.h"
#include "server/telemetry/metrics.h"
#include "server/mcp/session_channel.h"
#include "server/sessions/session_log.h"
#include "server/mcp/task_channel.h"
#include "fake_channel.h"
#include "test_util.h"

using namespace litemcp;
using namespace litemcp::server;
using namespace std::chrono_literals;

namespace {

// What a fake responder was asked to write: a plain answer, or SSE events
// (id, data) and whether the stream ended.
struct written {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<transport::http_response> answer;
    std::vector<std::pair<std::string, std::string>> events;
    bool closed = false;
    std::function<void()> on_closed;

    void note(const std::function<void()>& f) {
        {
            std::lock_guard lock(mu);
            f();
        }
        cv.notify_all();
    }
    // Waits until the exchange is over (an answer, or a closed stream).
    bool wait_done() {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 5s, [&] { return answer.has_value() || closed; });
    }
};

class fake_stream : public transport::sse_stream {
public:
    explicit fake_stream(std::shared_ptr<written> w) : w_(std::move(w)) {}
    bool send(std::string_view id, std::string_view data) override {
        w_->note([&] { w_->events.emplace_back(std::string(id), std::string(data)); });
        return true;
    }
    bool send_priming(std::string_view id, std::chrono::milliseconds) override { return send(id, ""); }
    bool send_retry(std::chrono::milliseconds) override { return true; }
    void close() override {
        std::function<void()> f;
        w_->note([&] {
            w_->closed = true;
            f = std::move(w_->on_closed);
        });
        if (f) f();
    }
    void abort() override { close(); }
    bool is_open() const override { return !w_->closed; }
    void on_closed(std::function<void()> f) override { w_->on_closed = std::move(f); }

private:
    std::shared_ptr<written> w_;
};

class fake_responder : public transport::responder {
public:
    std::shared_ptr<written> w = std::make_shared<written>();
    std::function<void()> disconnect;
    void respond(transport::http_response r) override { w->note([&] { w->answer = std::move(r); }); }
    std::shared_ptr<transport::sse_stream> start_sse(transport::header_list) override {
        return std::make_shared<fake_stream>(w);
    }
    void respond_events(transport::header_list, std::vector<transport::sse_event> events) override {
        w->note([&] {
            for (auto& e : events) w->events.emplace_back(e.id, e.data);
            w->closed = true;
        });
    }
    void post(std::function<void()> f) override { f(); }
    void on_disconnect(std::function<void()> f) override { disconnect = std::move(f); }
};

// Waits for the calls counted by meter to be answered (the meter is told
// after the answer is written).
bool all_answered(const call_meter& meter) {
    for (int i = 0; i < 2500 && meter.in_flight() > 0; ++i) std::this_thread::sleep_for(2ms);
    return meter.in_flight() == 0;
}

struct fixture {
    // The store goes first: its last callbacks still count calls.
    test::temp_dir dir;
    mcp_options options;
    metrics stats;
    call_meter meter{stats};
    std::unique_ptr<store::store> st;
    std::shared_ptr<session_state> s = std::make_shared<session_state>();

    fixture() {
        auto o = test::small_options(dir.path());
        o.parents = builtin_parents(options);
        o.segment_bytes = 8u << 20;  // the built-in parents take records of up to 4 MiB
        st = test::open_store(o);
        s->id = "abc";
        s->topic = "mcp.session/abc";
        s->version = "2025-11-25";
        s->client_capabilities = json::object();
    }
    session_channel::parts parts() { return {*st, options, meter}; }
    // A call of tools/call with id 1, its request recorded, on channel ch.
    std::shared_ptr<call> session_call(const std::shared_ptr<session_channel>& ch) {
        auto c = std::make_shared<call>();
        c->id = 1;
        c->id_key = "1";
        c->method = "tools/call";
        c->channel = ch;
        auto rec = st->append(s->topic, session_log::encode("", R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})"),
                              session_log::flag_client_request);
        REQUIRE(rec);
        ch->recorded_at(rec->offset);
        s->live_streams.insert(rec->offset);
        s->running[c->id_key] = c->cancelled;
        meter.arrived();
        return c;
    }
    // The session's records: (tag, flags, body).
    std::vector<std::tuple<std::string, std::uint32_t, json>> records() {
        std::vector<std::tuple<std::string, std::uint32_t, json>> out;
        auto r = st->read(s->topic, 0, {1000, 1u << 20});
        REQUIRE(r);
        for (auto& rec : r->records) {
            auto e = session_log::decode(rec.payload);
            out.emplace_back(std::string(e.tag), rec.flags, json::parse(e.body));
        }
        return out;
    }
};

}  // namespace

TEST_CASE("a session call's messages are recorded on its stream, then written; the answer ends the stream") {
    fixture f;
    auto res = std::make_shared<fake_responder>();
    auto ch = std::make_shared<session_channel>(f.parts(), f.s, res, true);
    auto c = f.session_call(ch);
    ch->open(c);
    ch->emit(c, make_notification("notifications/progress", {{"progressToken", 1}, {"progress", 1}}));
    ch->finish(c, json{{"content", json::array()}});
    REQUIRE(res->w->wait_done());
    const auto recs = f.records();
    REQUIRE(recs.size() == 3);
    CHECK(std::get<0>(recs[1]) == ch->tag());
    CHECK(std::get<2>(recs[1])["method"] == "notifications/progress");
    CHECK((std::get<1>(recs[2]) & session_log::flag_final));
    CHECK(std::get<2>(recs[2])["result"]["content"].is_array());
    // Priming (2025-11-25), the progress, the response: ids are <stream>-<offset>.
    std::lock_guard lock(res->w->mu);
    REQUIRE(res->w->events.size() == 3);
    CHECK(res->w->events[0].first == ch->tag() + "-" + ch->tag());
    CHECK(res->w->events[1].first == ch->tag() + "-1");
    CHECK(json::parse(res->w->events[2].second)["id"] == 1);
    CHECK(res->w->closed);
    CHECK(f.s->live_streams.empty());
    CHECK(f.s->running.empty());
    CHECK(all_answered(f.meter));
}

TEST_CASE("a cancelled session call leaves a silent final and answers a JSON-mode POST with 202") {
    fixture f;
    auto res = std::make_shared<fake_responder>();
    auto ch = std::make_shared<session_channel>(f.parts(), f.s, res, false);
    auto c = f.session_call(ch);
    ch->open(c);
    ch->finish(c, std::nullopt);
    REQUIRE(res->w->wait_done());
    CHECK(res->w->answer->status == 202);
    const auto recs = f.records();
    REQUIRE(recs.size() == 2);
    CHECK((std::get<1>(recs[1]) & session_log::flag_silent));
}

TEST_CASE("a session call a server stop interrupted is answered with the interrupted error") {
    fixture f;
    auto res = std::make_shared<fake_responder>();
    auto ch = std::make_shared<session_channel>(f.parts(), f.s, res, false);
    auto c = f.session_call(ch);
    f.s->interrupted.insert(c->id_key);
    ch->finish(c, std::nullopt);
    REQUIRE(res->w->wait_done());
    CHECK(res->w->answer->status == 200);
    CHECK(json::parse(res->w->answer->body)["error"]["code"] == rpc_code::request_interrupted);
    CHECK(f.s->interrupted.empty());
}

TEST_CASE("a call restored after a restart records its answer on the stream it came from") {
    fixture f;
    auto first = std::make_shared<session_channel>(f.parts(), f.s, nullptr, false);
    auto c = f.session_call(first);
    // What restored() builds: no responder, the recorded stream.
    auto ch = std::make_shared<session_channel>(f.parts(), f.s, nullptr, false);
    ch->recorded_at(std::stoull(first->tag()));
    c->channel = ch;
    c->deferred = true;
    c->arrived.reset();
    f.meter.left();  // it left the count when it was handed to the worker
    CHECK(ch->origin().key() == "session/abc");
    CHECK(ch->origin().stream == first->tag());
    ch->finish(c, json{{"content", json::array()}});
    for (int i = 0; i < 2500 && f.s->is_live(std::stoull(ch->tag())); ++i) std::this_thread::sleep_for(2ms);
    CHECK_FALSE(f.s->is_live(std::stoull(ch->tag())));
    const auto recs = f.records();
    REQUIRE(recs.size() == 2);
    CHECK(std::get<0>(recs[1]) == ch->tag());
    CHECK(all_answered(f.meter));
}

TEST_CASE("an I/O-thread call is recorded in one group and written in one go") {
    fixture f;
    commit_bursts bursts(*f.st);
    auto res = std::make_shared<fake_responder>();
    auto c = std::make_shared<call>();
    c->id = 5;
    c->id_key = "5";
    c->method = "tools/call";
    auto ch = std::make_shared<at_once_channel>(f.parts(), bursts, f.s, res, true,
                                                R"({"jsonrpc":"2.0","id":5,"method":"tools/call"})");
    c->channel = ch;
    f.meter.arrived();
    ch->emit(c, make_notification("notifications/message", {{"level", "info"}, {"data", "x"}}));
    CHECK(ch->request(c, "roots/list", json::object(), 1s).error().message.find("I/O thread") != std::string::npos);
    CHECK(ch->why_not_later(*c).has_value());
    ch->finish(c, json{{"content", json::array()}});
    REQUIRE(res->w->wait_done());
    const auto recs = f.records();
    REQUIRE(recs.size() == 3);
    CHECK(std::get<0>(recs[1]) == session_log::relative_tag(1));
    CHECK((std::get<1>(recs[2]) & session_log::flag_final));
    std::lock_guard lock(res->w->mu);
    REQUIRE(res->w->events.size() == 3);  // priming, the message, the response
    CHECK(json::parse(res->w->events[2].second)["id"] == 5);
}

TEST_CASE("a batch call's answer is recorded at once and kept for the batch") {
    fixture f;
    auto ch = std::make_shared<batch_channel>(f.parts(), f.s);
    auto c = f.session_call(ch);
    f.s->running.clear();  // batch calls are not in running
    CHECK(ch->why_not_later(*c).has_value());
    ch->finish(c, fail(rpc_code::invalid_params, "no"));
    auto answer = ch->take_answer();
    REQUIRE(answer);
    CHECK((*answer)["error"]["code"] == rpc_code::invalid_params);
    CHECK(f.records().size() == 2);
    CHECK(f.s->live_streams.empty());
}

namespace {

struct direct_fixture {
    test::temp_dir dir;
    mcp_options options;
    metrics stats;
    call_meter meter{stats};
    std::unique_ptr<store::store> st;
    registry reg;
    struct : call_sink {
        void notify(const call_ticket&, json, std::optional<log_level>) override {}
        void finish(const call_ticket&, std::optional<json>) override {}
        std::shared_ptr<call> restored(const call_ticket&) override { return nullptr; }
    } sink;
    std::unique_ptr<worker_hub> hub;
    std::optional<request_state_codec> states;
    std::optional<stateless_results> results;

    direct_fixture() {
        auto o = test::small_options(dir.path());
        o.parents = builtin_parents(options);
        o.segment_bytes = 8u << 20;  // the built-in parents take records of up to 4 MiB
        st = test::open_store(o);
        hub = std::make_unique<worker_hub>(*st, reg, sink, worker_options{});
        auto codec = request_state_codec::load({"0123456789abcdef0123456789abcdef", 10min}, dir.path());
        REQUIRE(codec);
        states.emplace(std::move(*codec));
        results.emplace(options, *states, false);
    }
    std::shared_ptr<call> modern_call(std::shared_ptr<fake_responder> res, bool streaming,
                                      std::optional<log_level> level = std::nullopt) {
        auto c = std::make_shared<call>();
        c->id = 9;
        c->id_key = "9";
        c->method = "tools/call";
        c->params = {{"name", "slow"}};
        c->channel = std::make_shared<direct_channel>(
            direct_channel::parts{*results, meter, *hub, 1s},
            direct_channel::caller{"2026-07-28", json{{"elicitation", json::object()}}, "", level}, res, streaming);
        meter.arrived();
        return c;
    }
};

}  // namespace

TEST_CASE("a 2026-07-28 call is answered in its own form, straight to the response") {
    direct_fixture f;
    auto res = std::make_shared<fake_responder>();
    auto c = f.modern_call(res, false);
    auto& ch = *c->channel;
    CHECK(ch.origin().of == call_origin::kind::direct);
    CHECK_FALSE(ch.wants_log(log_level::emergency));  // no logLevel: no log messages
    ch.open(c);
    ch.finish(c, json{{"content", json::array()}});
    REQUIRE(res->w->answer);
    CHECK(res->w->answer->status == 200);
    const auto body = json::parse(res->w->answer->body);
    CHECK(body["result"]["resultType"] == "complete");
    CHECK(body["result"]["_meta"].contains("io.modelcontextprotocol/serverInfo"));
    CHECK(all_answered(f.meter));
}

TEST_CASE("a 2026-07-28 call's input comes in rounds: input_required with a sealed state") {
    direct_fixture f;
    auto res = std::make_shared<fake_responder>();
    auto c = f.modern_call(res, false);
    auto asked = c->channel->ask(c, {{"name", "elicitation/create", json{{"message", "who?"}}}});
    REQUIRE_FALSE(asked);
    CHECK(asked.error().code == rpc_code::input_pending);
    c->channel->finish(c, std::unexpected(asked.error()));
    const auto result = json::parse(res->w->answer->body)["result"];
    CHECK(result["resultType"] == "input_required");
    CHECK(result["inputRequests"]["name"]["method"] == "elicitation/create");
    CHECK(result["requestState"].is_string());
    // A capability the client did not declare: -32021, a 400.
    auto c2 = f.modern_call(res = std::make_shared<fake_responder>(), false);
    auto sampled = c2->channel->request(c2, "sampling/createMessage", json::object(), 1s);
    REQUIRE_FALSE(sampled);
    c2->channel->finish(c2, std::unexpected(sampled.error()));
    CHECK(res->w->answer->status == 400);
}

TEST_CASE("a promoted 2026-07-28 call answers with the task's handle, then feeds the task") {
    direct_fixture f;
    auto res = std::make_shared<fake_responder>();
    auto c = f.modern_call(res, true, log_level::info);
    auto& ch = *c->channel;
    ch.open(c);
    ch.emit(c, make_notification("notifications/progress", {{"progress", 1}}));
    CHECK(ch.promote(c, [] { return reply_channel::promoted_to{}; }) == false);  // not armed
    REQUIRE(ch.arm_promotion());
    auto task_side = std::make_shared<test::fake_channel>(era::stateless, "2026-07-28");
    task_side->where = {call_origin::kind::task, "t1", {}};
    const bool promoted = ch.promote(c, [&]() -> std::expected<reply_channel::promoted_to, rpc_failure> {
        return reply_channel::promoted_to{task_side, json{{"taskId", "t1"}, {"status", "working"}, {"resultType", "task"}}};
    });
    REQUIRE(promoted);
    CHECK(ch.origin().key() == "task/t1");
    {
        std::lock_guard lock(res->w->mu);
        REQUIRE(res->w->events.size() == 2);  // the progress, then the handle; the stream ended
        CHECK(json::parse(res->w->events[1].second)["result"]["resultType"] == "task");
        CHECK(res->w->closed);
    }
    ch.emit(c, make_notification("notifications/progress", {{"progress", 2}}));
    ch.finish(c, json{{"content", json::array()}});
    CHECK(task_side->emitted().size() == 1);
    REQUIRE(task_side->finished);
    CHECK(task_side->finished->has_value());
    CHECK(all_answered(f.meter));
}

TEST_CASE("a call answered before its promotion time stays a plain call") {
    direct_fixture f;
    auto res = std::make_shared<fake_responder>();
    auto c = f.modern_call(res, false);
    REQUIRE(c->channel->arm_promotion());
    c->channel->finish(c, json{{"content", json::array()}});
    bool made = false;
    CHECK_FALSE(c->channel->promote(c, [&]() -> std::expected<reply_channel::promoted_to, rpc_failure> {
        made = true;
        return reply_channel::promoted_to{};
    }));
    CHECK_FALSE(made);
}

TEST_CASE("a task's run writes to the task's topic and its answer settles the task") {
    test::temp_dir dir;
    mcp_options options;
    auto o = test::small_options(dir.path());
    o.parents = builtin_parents(options);
    o.segment_bytes = 8u << 20;
    auto st = test::open_store(o);
    task_table tasks(*st, {});
    task_record r;
    r.version = "2026-07-28";
    r.ttl_ms = 60'000;
    auto t = tasks.create(r);
    REQUIRE(t);
    std::optional<call_outcome> settled;
    task_channel::settle_fn settle = [&](const std::shared_ptr<task>&, const call*, call_outcome out) {
        settled = std::move(out);
    };
    auto c = std::make_shared<call>();
    c->method = "tools/call";
    c->channel = std::make_shared<task_channel>(task_channel::parts{tasks, settle}, *t);
    auto& ch = *c->channel;
    CHECK(ch.origin().key() == "task/" + (*t)->rec.id);
    CHECK(ch.owning_task() == *t);
    CHECK(ch.rules() == era::stateless);
    CHECK_FALSE(ch.why_not_later(*c));
    ch.emit(c, make_notification("notifications/progress", {{"progress", 1}}));
    ch.finish(c, fail(rpc_code::internal_error, "boom"));
    REQUIRE(settled);
    CHECK_FALSE(settled->value());
}

TEST_CASE("call origins: keys, records, and records written before origins were typed") {
    const call_origin s{call_origin::kind::session, "abc", "17"};
    json rec = json::object();
    s.write_to(rec);
    CHECK(rec == json{{"session", "abc"}, {"stream", "17"}});
    const auto back = call_origin::read_from(rec);
    CHECK(back.key() == "session/abc");
    CHECK(back.stream == "17");
    json t = json::object();
    call_origin{call_origin::kind::task, "t9", {}}.write_to(t);
    CHECK(call_origin::read_from(t).key() == "task/t9");
    json d = json::object();
    call_origin{call_origin::kind::direct, "3", {}}.write_to(d);
    CHECK(d.empty());
    CHECK(call_origin::read_from(d).of == call_origin::kind::direct);
    // Older records: a task's call named "task/<id>", a 2026-07-28 one "req/<n>".
    CHECK(call_origin::read_from(json{{"session", "task/t9"}, {"stream", ""}}).key() == "task/t9");
    CHECK(call_origin::read_from(json{{"session", "req/4"}, {"stream", ""}}).of == call_origin::kind::direct);
}

TEST_CASE("a worker's response message becomes the call's outcome") {
    CHECK_FALSE(outcome_of(std::nullopt).has_value());
    CHECK(outcome_of(make_result(1, json{{"x", 1}}))->value()["x"] == 1);
    const auto e = outcome_of(make_error(1, -32602, "bad", json{{"why", 1}}));
    REQUIRE_FALSE(e->has_value());
    CHECK(e->error().code == -32602);
    CHECK(e->error().message == "bad");
    CHECK((*e->error().data)["why"] == 1);
}
