// worker_hub and the registry: what MCP clients can list while workers come
// and go. The integration tests (test/integration/test_workers.py) cover the
// worker API over HTTP; these check orderings that HTTP round trips are too
// slow to catch.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/app/mcp_server.h"
#include "server/json/json_text.h"
#include "server/workers/worker_hub.h"
#include "server/workers/worker_hub_state.h"
#include "test_util.h"

using namespace litemcp;
using namespace litemcp::server;
using namespace std::chrono_literals;

namespace {

class null_sink : public call_sink {
public:
    void notify(const call_ticket&, json, std::optional<log_level>) override {}
    void finish(const call_ticket&, std::optional<json>) override {}
    std::shared_ptr<call> restored(const call_ticket&) override { return nullptr; }
};

// An instance's stream: hands every event to a probe as it is sent.
class probe_stream : public instance_channel {
public:
    explicit probe_stream(std::function<void(const json&)> probe) : probe_(std::move(probe)) {}
    bool send(std::string_view, const json& message) override {
        probe_(message);
        return true;
    }
    void close() override { end(); }
    void abort() override { end(); }
    bool is_open() const override { return !ended_; }
    void on_closed(std::function<void()> f) override {
        std::unique_lock lock(mu_);
        if (ended_) {
            lock.unlock();
            f();
            return;
        }
        on_closed_ = std::move(f);
    }

private:
    void end() {
        std::function<void()> f;
        {
            std::lock_guard lock(mu_);
            if (ended_.exchange(true)) return;
            f = std::move(on_closed_);
        }
        if (f) f();
    }
    std::function<void(const json&)> probe_;
    std::mutex mu_;
    std::atomic<bool> ended_{false};
    std::function<void()> on_closed_;
};

struct hub_fixture {
    test::temp_dir dir;
    std::unique_ptr<store::store> st;
    registry reg;
    null_sink sink;
    std::unique_ptr<worker_hub> hub;

    explicit hub_fixture(std::chrono::milliseconds offline_grace) {
        store::store_options so;
        so.dir = dir.path();
        so.parents = builtin_parents(mcp_options{});
        auto opened = store::store::open(so);
        REQUIRE(opened);
        st = std::move(*opened);
        worker_options wo;
        wo.offline_grace = offline_grace;
        hub = std::make_unique<worker_hub>(*st, reg, sink, wo);
        REQUIRE(hub->start());
    }
    ~hub_fixture() { hub->stop(); }

    void register_calc() {
        const json tool{{"name", "add"}, {"inputSchema", {{"type", "object"}}}};
        auto answer = hub->register_worker(json{{"name", "calc"}, {"tools", json::array({tool})}}, std::nullopt);
        REQUIRE(answer.outcome == worker_outcome::registered);
    }
    // Attaches instance "one" of calc: the id of every call sent to it is
    // added to delivered, under mu.
    std::shared_ptr<probe_stream> attach_recording(std::mutex& mu, std::vector<std::string>& delivered) {
        auto sse = std::make_shared<probe_stream>([&mu, &delivered](const json& ev) {
            if (ev.value("method", "") != "tools/call") return;
            std::lock_guard lock(mu);
            delivered.push_back(ev.at("id").get<std::string>());
        });
        hub->attach("calc", "one", sse);
        return sse;
    }
    bool wait_listed(bool listed) {
        for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
            if ((reg.find_tool("add") != nullptr) == listed) return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }
};

}  // namespace

TEST_CASE("a worker back online is listed again before its instance hears 'attached'") {
    hub_fixture f(100ms);
    f.register_calc();
    REQUIRE(f.wait_listed(true));   // online for the grace period after registering
    REQUIRE(f.wait_listed(false));  // no instance came: offline, unlisted
    std::vector<std::pair<std::string, bool>> heard;  // message method, "add" listed as it was sent
    auto sse = std::make_shared<probe_stream>([&](const json& ev) {
        heard.emplace_back(ev.value("method", ""), f.reg.find_tool("add") != nullptr);
    });
    f.hub->attach("calc", "one", sse);
    REQUIRE(heard.size() == 1);
    CHECK(heard[0].first == "io.litemcp/attached");
    CHECK(heard[0].second);
    CHECK(f.reg.find_tool("add"));
    sse->close();
}

TEST_CASE("instances coming and going leave the worker listed exactly when it is online") {
    // Going offline (on the hub's timer thread) and coming back (an attach)
    // each publish the worker's lists after releasing the hub's lock, so the
    // two can land in either order; the registry must still end as the worker
    // is. (The window is microseconds wide: this churns through it, it does
    // not force it.)
    hub_fixture f(1ms);
    f.register_calc();
    for (int round = 0; round < 100; ++round) {
        auto sse = std::make_shared<probe_stream>([](const json&) {});
        f.hub->attach("calc", "one", sse);
        std::this_thread::sleep_for(2ms);  // past the grace: any offline effect has landed
        CHECK(f.reg.find_tool("add"));
        sse->close();
        std::this_thread::sleep_for(std::chrono::microseconds(500 + round % 10 * 100));
    }
    CHECK(f.wait_listed(false));  // offline for good now
}

TEST_CASE("the timers of calls that ended do not pile up") {
    // Each call schedules its deadline (5 min) and its invisibility (30 s);
    // at thousands of calls a second those of ended calls once held a
    // million entries until due.
    hub_fixture f(10s);
    f.register_calc();
    std::mutex mu;
    std::vector<std::string> delivered;
    auto sse = f.attach_recording(mu, delivered);
    const int calls = 12'000;
    int answered = 0;
    auto answer_delivered = [&] {
        std::vector<std::string> ids;
        {
            std::lock_guard lock(mu);
            ids.swap(delivered);
        }
        for (auto& id : ids) {
            auto a = f.hub->answer_as_instance("calc", id, "result", json{{"result", {{"content", json::array()}}}});
            CHECK(a.outcome == worker_outcome::done);
            ++answered;
        }
    };
    // In batches of 100, each answered whole before the next (the hub
    // delivers on its own thread: submitting ahead would reach the
    // worker's bound on open calls).
    for (int i = 0; i < calls; ++i) {
        call_ticket t;
        t.origin = call_origin{call_origin::kind::direct, "test-" + std::to_string(i), ""};
        t.request_id = i;
        t.method = "tools/call";
        auto queued = f.hub->submit("calc", std::move(t), json{{"name", "add"}, {"arguments", json::object()}});
        REQUIRE_MESSAGE(queued, (queued ? "" : queued.error()));
        if (i % 100 != 99) continue;
        for (auto until = std::chrono::steady_clock::now() + 30s; answered <= i && std::chrono::steady_clock::now() < until;) {
            answer_delivered();
            std::this_thread::sleep_for(100us);
        }
        REQUIRE(answered == i + 1);
    }
    // Two timers a call would be 24,000; the sweep keeps what is left under
    // its first threshold (4,096) plus what came since its last pass.
    CHECK(f.hub->timers_pending() < 6'000);
    sse->close();
}

TEST_CASE("calls beyond an instance's room wait their turn and are each delivered once, in order") {
    // submit() delivers a call itself when an instance has room and hands
    // the rest to the hub's queue without its reading them back from the
    // topic: the calls that wait must still come, once each, in order.
    hub_fixture f(10s);
    f.register_calc();  // concurrency 1
    std::mutex mu;
    std::vector<std::string> delivered;
    auto sse = f.attach_recording(mu, delivered);
    auto delivered_now = [&] {
        std::lock_guard lock(mu);
        return delivered;
    };
    auto wait_delivered = [&](std::size_t n) {
        for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
            if (delivered_now().size() >= n) return true;
            std::this_thread::sleep_for(2ms);
        }
        return false;
    };
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        call_ticket t;
        t.origin = call_origin{call_origin::kind::direct, "order-" + std::to_string(i), ""};
        t.request_id = i;
        t.method = "tools/call";
        auto queued = f.hub->submit("calc", std::move(t), json{{"name", "add"}, {"arguments", json::object()}});
        REQUIRE_MESSAGE(queued, (queued ? "" : queued.error()));
        ids.push_back(*queued);
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
        REQUIRE(wait_delivered(i + 1));
        std::this_thread::sleep_for(20ms);  // nothing more comes while the slot is taken
        auto now = delivered_now();
        REQUIRE(now.size() == i + 1);
        CHECK(now.back() == ids[i]);
        auto a = f.hub->answer_as_instance("calc", ids[i], "result", json{{"result", {{"content", json::array()}}}});
        CHECK(a.outcome == worker_outcome::done);
    }
    std::this_thread::sleep_for(50ms);
    CHECK(delivered_now() == ids);  // each once
    sse->close();
}

TEST_CASE("calls submitted at once are each delivered once, in the order of their worker's topic") {
    // Appends committed in one batch return to their submits in any order;
    // submit() takes each call only after those before it on the topic, so
    // that deliveries follow the topic and its cursor never passes a call
    // that was not taken.
    hub_fixture f(10s);
    const json tool{{"name", "add"}, {"inputSchema", {{"type", "object"}}}};
    auto registered = f.hub->register_worker(
        json{{"name", "calc"}, {"concurrency", 256}, {"tools", json::array({tool})}}, std::nullopt);
    REQUIRE(registered.outcome == worker_outcome::registered);
    std::mutex mu;
    std::vector<std::string> delivered;
    auto sse = f.attach_recording(mu, delivered);
    constexpr int threads = 4, each = 40;
    std::vector<std::thread> submitters;
    std::atomic<int> failed{0};
    for (int k = 0; k < threads; ++k)
        submitters.emplace_back([&, k] {
            for (int i = 0; i < each; ++i) {
                call_ticket t;
                t.origin = call_origin{call_origin::kind::direct, "burst-" + std::to_string(k), ""};
                t.request_id = i;
                t.method = "tools/call";
                if (!f.hub->submit("calc", std::move(t), json{{"name", "add"}, {"arguments", json::object()}})) ++failed;
            }
        });
    for (auto& s : submitters) s.join();
    REQUIRE(failed == 0);
    auto delivered_now = [&] {
        std::lock_guard lock(mu);
        return delivered;
    };
    for (auto until = std::chrono::steady_clock::now() + 5s;
         delivered_now().size() < threads * each && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(2ms);
    std::vector<std::string> on_topic;
    auto read = f.st->read("mcp.worker/calc", 0, store::read_limits{.max_records = 1000});
    REQUIRE(read);
    for (auto& rec : read->records) on_topic.push_back(json::parse(rec.payload).at("callId").get<std::string>());
    REQUIRE(on_topic.size() == threads * each);
    std::this_thread::sleep_for(50ms);
    CHECK(delivered_now() == on_topic);  // each once, in the topic's order
    sse->close();
}

TEST_CASE("a call's saved state is JSON with every field a restart reads back") {
    worker_call c;
    c.id = "c1";
    c.worker = "calc";
    c.ticket.origin = call_origin{call_origin::kind::session, "s\"1", "tag"};
    c.ticket.request_id = json{{"odd", "id"}};
    c.ticket.method = "tools/call";
    c.ticket.progress_token = 7;
    c.params = json{{"name", "add"}, {"arguments", {{"text", "caf\u00e9 \n"}}}};
    c.deadline_ms = 1234;
    c.attempts = 2;
    auto parsed = parse_json(c.record_text("node-a"));
    REQUIRE(parsed);
    CHECK(*parsed == json{{"id", "c1"}, {"node", "node-a"}, {"worker", "calc"}, {"requestId", {{"odd", "id"}}},
                          {"method", "tools/call"}, {"params", c.params}, {"deadlineMs", 1234}, {"attempts", 2},
                          {"progressToken", 7}, {"session", "s\"1"}, {"stream", "tag"}});
    c.ticket.origin = call_origin{call_origin::kind::task, "t1", ""};
    c.ticket.progress_token.reset();
    parsed = parse_json(c.record_text("node-a"));
    REQUIRE(parsed);
    CHECK(parsed->value("task", "") == "t1");
    CHECK(!parsed->contains("session"));
    CHECK(!parsed->contains("progressToken"));
    CHECK(call_origin::read_from(*parsed).key() == "task/t1");
}
