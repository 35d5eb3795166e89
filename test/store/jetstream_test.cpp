// The JetStream engine against a real NATS cluster: the test runs under
// test/cluster/nats_cluster.py, which starts one and passes its URLs in
// TEST_NATS_SERVERS. Two store instances on the same cluster stand for two
// litemcp servers.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "store/jetstream/message_codec.h"
#include "store/jetstream/names.h"
#include "store/store.h"

using namespace litemcp::store;
namespace js = litemcp::store::jetstream;

namespace {

std::vector<std::string> servers() {
    const char* env = std::getenv("TEST_NATS_SERVERS");
    REQUIRE_MESSAGE(env, "TEST_NATS_SERVERS is not set: run this test through test/cluster/nats_cluster.py");
    std::vector<std::string> out;
    std::stringstream in(env);
    for (std::string url; std::getline(in, url, ',');) out.push_back(url);
    return out;
}

// A prefix of its own per test, so tests never see each other's data.
std::string fresh_prefix() {
    static std::mt19937_64 rng(std::random_device{}());
    return "t" + std::to_string(rng() % 1'000'000'000);
}

store_options cluster_options(const std::string& prefix) {
    store_options o;
    o.nats.servers = servers();
    o.nats.prefix = prefix;
    o.nats.replicas = o.nats.servers.size() >= 3 ? 3 : 1;
    o.nats.shards = 2;
    o.nats.request_timeout = std::chrono::seconds(5);
    topic_policy p;
    p.max_record_size = 8 * 1024;
    p.max_records = 100;
    o.parents.push_back({"t", p});
    o.parents.push_back({"mcp.session", p});
    return o;
}

std::unique_ptr<store> open_cluster(const std::string& prefix) {
    auto s = store::open(cluster_options(prefix));
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    return std::move(*s);
}

// Polls a condition that holds once every replica applied a change.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return f();
}

// Waits for a wake callback, with a bound.
struct waker {
    std::mutex mu;
    std::condition_variable cv;
    int count = 0;
    store::wake_fn fn() {
        return [this] {
            { std::lock_guard lock(mu); ++count; }
            cv.notify_all();
        };
    }
    bool wait_for(int n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, limit, [&] { return count >= n; });
    }
};

}  // namespace

TEST_CASE("names: tokens round-trip and stay within NATS's characters") {
    for (std::string raw : {"abc", "a.b", "x/y", "", "=", "s:1@2+3", "A_b-c", "=_"}) {
        auto t = js::encode_token(raw);
        CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=") == std::string::npos);
        CHECK(js::decode_token(t) == raw);
    }
    CHECK_FALSE(js::decode_token("a.b").has_value());
    CHECK_FALSE(js::decode_token("=4").has_value());
    CHECK_FALSE(js::decode_token("=ZZ").has_value());

    js::names n("lm", 3);
    auto a = n.of("mcp.session/abc.def");
    CHECK(a.stream.starts_with("lm_mcp=2Esession_"));
    CHECK(a.subject.starts_with("lm.d.mcp=2Esession."));
    CHECK(n.topic_of_wake(a.wake_subject) == "mcp.session/abc.def");
    CHECK_FALSE(n.topic_of_wake(a.subject).has_value());
    CHECK(n.shard_of("abc.def") == n.shard_of("abc.def"));

    CHECK(js::names::record_key("session/a.b") == "session.a=2Eb");
    CHECK(js::names::key_of_record("session.a=2Eb") == "session/a.b");
    CHECK(js::names::key_of_record(js::names::record_key("a//b/")) == "a//b/");
    CHECK(js::names::record_filter("session/") == "session.>");
    CHECK(js::names::record_filter("sess") == ">");
}

TEST_CASE("message codec: a group is one message, offsets are consecutive inside it") {
    std::vector<js::group_record> in = {{"one", 1}, {"", 0}, {"three", 7}};
    auto payload = js::encode_group(in);
    auto out = js::decode_message(payload, "3", nullptr);
    REQUIRE(out);
    REQUIRE(out->size() == 3);
    CHECK((*out)[0].payload == "one");
    CHECK((*out)[0].flags == 1);
    CHECK((*out)[1].payload.empty());
    CHECK((*out)[2].flags == 7);
    CHECK_FALSE(js::decode_message(payload, "2", nullptr));
    CHECK_FALSE(js::decode_message(payload.substr(0, 5), "3", nullptr));
    auto single = js::decode_message("x", nullptr, "5");
    REQUIRE(single);
    CHECK((*single)[0].flags == 5);
    CHECK(js::offset_of(10, 2) + 1 == js::offset_of(10, 3));
    CHECK(js::seq_of(js::offset_of(10, 2)) == 10);
    CHECK(js::index_of(js::offset_of(10, 2)) == 2);
}

TEST_CASE("jetstream: appends and reads, single records and groups") {
    auto s = open_cluster(fresh_prefix());
    auto a = s->append("t/x", "first", 3);
    REQUIRE(a);
    auto b = s->append("t/x", "second");
    REQUIRE(b);
    CHECK(b->offset > a->offset);
    // Another topic's append between them takes a sequence too.
    REQUIRE(s->append("t/y", "other"));

    std::vector<store::record_spec> group = {{"g1", 1}, {"g2", 0}, {"g3", 2}};
    std::promise<result<append_ack>> done;
    s->append_group_async("t/x", group, [&](result<append_ack> r) { done.set_value(std::move(r)); });
    auto g = done.get_future().get();
    REQUIRE(g);

    auto r = s->read("t/x", 0);
    REQUIRE(r);
    REQUIRE(r->records.size() == 5);
    CHECK(r->records[0].payload == "first");
    CHECK(r->records[0].flags == 3);
    CHECK(r->records[0].offset == a->offset);
    CHECK(r->records[1].offset == b->offset);
    CHECK(r->records[2].payload == "g1");
    CHECK(r->records[4].payload == "g3");
    CHECK(r->records[4].flags == 2);
    // The group's records are consecutive and the ack names the last.
    CHECK(r->records[3].offset == r->records[2].offset + 1);
    CHECK(r->records[4].offset == g->offset);
    CHECK(r->records[2].offset == g->offset + 1 - group.size());
    CHECK(r->records[0].timestamp_ms > 0);
    CHECK(r->next_offset == r->end_offset);  // caught up

    // From inside the group, and in small batches.
    auto mid = s->read("t/x", r->records[3].offset);
    REQUIRE(mid);
    REQUIRE(mid->records.size() == 2);
    CHECK(mid->records[0].payload == "g2");
    auto two = s->read("t/x", 0, {2, 1 << 20});
    REQUIRE(two);
    CHECK(two->records.size() == 2);
    CHECK(two->next_offset < two->end_offset);  // more to come
    auto rest = s->read("t/x", two->next_offset);
    REQUIRE(rest);
    REQUIRE(rest->records.size() == 3);
    CHECK(rest->records[0].payload == "g1");

    // Past the end: nothing, and caught up.
    auto none = s->read("t/x", r->next_offset);
    REQUIRE(none);
    CHECK(none->records.empty());
    CHECK(none->next_offset == none->end_offset);

    auto info = s->topic("t/x");
    REQUIRE(info);
    CHECK(info->first_offset == a->offset);
    CHECK(info->end_offset == g->offset + 1);
    CHECK(info->last_write_ms >= info->created_ms);
}

TEST_CASE("jetstream: errors are values, as the embedded engine's") {
    auto s = open_cluster(fresh_prefix());
    auto unknown = s->append("nope/x", "a");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == errc::unknown_parent);
    auto big = s->append("t/x", std::string(9 * 1024, 'a'));
    REQUIRE_FALSE(big);
    CHECK(big.error().code == errc::record_too_large);
    auto bad = s->append("t/", "a");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == errc::invalid_name);
    auto missing = s->read("t/never", 0);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::not_found);
    CHECK(s->topic("t/never").error().code == errc::not_found);
    CHECK(s->stats().append_errors == 3);
}

TEST_CASE("jetstream: removing a topic drops its records and cursors") {
    auto s = open_cluster(fresh_prefix());
    REQUIRE(s->append("t/gone", "a"));
    REQUIRE(s->append("t/kept", "b"));
    REQUIRE(s->set_cursor("c1", "t/gone", 5));
    REQUIRE(s->set_cursor("c1", "t/kept", 7));
    CHECK(s->cursor("c1", "t/gone").value() == 5u);
    REQUIRE(s->remove_topic("t/gone"));
    // The leader purged it; the replica serving a read may learn a moment later.
    CHECK(eventually([&] {
        auto r = s->read("t/gone", 0);
        return !r && r.error().code == errc::not_found;
    }));
    CHECK_FALSE(s->cursor("c1", "t/gone").value().has_value());
    CHECK(s->cursor("c1", "t/kept").value() == 7u);
    REQUIRE(s->read("t/kept", 0)->records.size() == 1);
}

TEST_CASE("jetstream: the key-value space, scans in key order") {
    auto s = open_cluster(fresh_prefix());
    REQUIRE(s->kv_put("session/b", "2"));
    REQUIRE(s->kv_put("session/a", "1"));
    REQUIRE(s->kv_put("session/c:d@e", "3"));
    REQUIRE(s->kv_put("worker/w", "x"));
    REQUIRE(s->kv_put("sessionx", "no"));
    CHECK(s->kv_get("session/a").value() == "1");
    CHECK_FALSE(s->kv_get("session/z").value().has_value());

    auto all = s->kv_scan("session/");
    REQUIRE(all);
    REQUIRE(all->size() == 3);
    CHECK((*all)[0].first == "session/a");
    CHECK((*all)[2].first == "session/c:d@e");
    auto after = s->kv_scan("session/", "session/a", 1);
    REQUIRE(after);
    REQUIRE(after->size() == 1);
    CHECK((*after)[0].first == "session/b");
    auto loose = s->kv_scan("sess");
    REQUIRE(loose);
    CHECK(loose->size() == 4);

    REQUIRE(s->kv_delete("session/a"));
    CHECK_FALSE(s->kv_get("session/a").value().has_value());
    CHECK(s->kv_scan("session/")->size() == 2);
    CHECK(s->kv_scan("nothing/")->empty());
    REQUIRE(s->kv_put("session/b", "22"));
    // Create-if-absent, the way servers agree on a shared secret.
    CHECK(s->kv_create("config/k", "first").value());
    CHECK_FALSE(s->kv_create("config/k", "second").value());
    CHECK(s->kv_get("config/k").value() == "first");
    REQUIRE(s->kv_delete("config/k"));
    CHECK(s->kv_create("config/k", "third").value());
    CHECK(s->kv_get("session/b").value() == "22");
}

TEST_CASE("jetstream: compare-and-set on a key holds across servers") {
    const auto prefix = fresh_prefix();
    auto a = open_cluster(prefix);
    auto b = open_cluster(prefix);
    CHECK_FALSE(a->kv_swap("task/t", "", "v1").value());  // nothing there to compare with
    REQUIRE(a->kv_put("task/t", "v1"));
    CHECK(b->kv_swap("task/t", "v1", "v2-b").value());
    // a still believes v1: refused, and b's value stays.
    CHECK_FALSE(a->kv_swap("task/t", "v1", "v2-a").value());
    CHECK(a->kv_get("task/t").value() == "v2-b");
    CHECK(a->kv_swap("task/t", "v2-b", "v3-a").value());
    CHECK(b->kv_get("task/t").value() == "v3-a");
    // Two servers racing from the same value, many times: exactly one wins
    // each time, and the key holds the winner's value. (nats-server 2.9
    // lets both win on the expected revision alone: kv_space.cpp.)
    std::string at = "v3-a";
    for (int round = 0; round < 40; ++round) {
        std::atomic<int> won{0};
        const auto va = "a" + std::to_string(round), vb = "b" + std::to_string(round);
        std::atomic<bool> a_won{false};
        std::thread ta([&] {
            if (a->kv_swap("task/t", at, va).value_or(false)) {
                ++won;
                a_won = true;
            }
        });
        std::thread tb([&] { won += b->kv_swap("task/t", at, vb).value_or(false); });
        ta.join();
        tb.join();
        REQUIRE(won.load() == 1);
        at = a_won ? va : vb;
        CHECK(a->kv_get("task/t").value() == at);
    }
    REQUIRE(a->kv_delete("task/t"));
    CHECK_FALSE(b->kv_swap("task/t", at, "c").value());
    // Create-if-absent raced the same way (servers agreeing on a shared key).
    for (int round = 0; round < 20; ++round) {
        const auto key = "config/race-" + std::to_string(round);
        std::atomic<int> won{0};
        std::thread ta([&] { won += a->kv_create(key, "a").value_or(false); });
        std::thread tb([&] { won += b->kv_create(key, "b").value_or(false); });
        ta.join();
        tb.join();
        REQUIRE(won.load() == 1);
    }
    // Take, raced: one server gets each record's value (and so one of them
    // counts it out); a taken key holds nothing.
    CHECK_FALSE(a->kv_take("task/r").value().has_value());
    for (int round = 0; round < 20; ++round) {
        const auto value = "v" + std::to_string(round);
        REQUIRE(a->kv_put("task/r", value));
        std::atomic<int> won{0};
        std::string got_a, got_b;
        std::thread ta([&] { if (auto v = a->kv_take("task/r").value_or(std::nullopt)) { ++won; got_a = *v; } });
        std::thread tb([&] { if (auto v = b->kv_take("task/r").value_or(std::nullopt)) { ++won; got_b = *v; } });
        ta.join();
        tb.join();
        REQUIRE(won.load() == 1);
        CHECK(got_a + got_b == value);
        CHECK_FALSE(b->kv_get("task/r").value().has_value());
    }
    // A removed key is created again like a new one.
    CHECK(a->kv_create("task/r", "again").value());
    CHECK(b->kv_get("task/r").value() == "again");
}

TEST_CASE("jetstream: an append on one server wakes a consumer bound on another") {
    const auto prefix = fresh_prefix();
    auto a = open_cluster(prefix);
    auto b = open_cluster(prefix);
    waker w;
    REQUIRE(b->add_consumer("stream-1", w.fn()));
    REQUIRE(b->bind("stream-1", "mcp.session/s1"));
    CHECK(b->stats().watched_topics == 1);

    auto ack = a->append("mcp.session/s1", "hello");
    REQUIRE(ack);
    REQUIRE(w.wait_for(1));
    auto ready = b->take_ready("stream-1");
    REQUIRE(ready.size() == 1);
    CHECK(ready[0] == "mcp.session/s1");
    auto r = b->read("mcp.session/s1", 0);
    REQUIRE(r);
    REQUIRE(r->records.size() == 1);
    CHECK(r->records[0].offset == ack->offset);

    // Another topic wakes nobody; a second append wakes again.
    REQUIRE(a->append("mcp.session/s2", "x"));
    REQUIRE(a->append("mcp.session/s1", "again"));
    REQUIRE(w.wait_for(2));
    CHECK(b->take_ready("stream-1") == std::vector<std::string>{"mcp.session/s1"});

    // Binding to a topic that already holds records makes the consumer ready at once.
    waker w2;
    REQUIRE(b->add_consumer("stream-2", w2.fn()));
    REQUIRE(b->bind("stream-2", "mcp.session/s2"));
    REQUIRE(w2.wait_for(1));

    // Nobody bound: nobody listens.
    b->remove_consumer("stream-1");
    b->remove_consumer("stream-2");
    CHECK(b->stats().watched_topics == 0);
}

TEST_CASE("jetstream: every server observes every append") {
    const auto prefix = fresh_prefix();
    auto a = open_cluster(prefix);
    auto b = open_cluster(prefix);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> seen;
    b->observe_appends([&](std::string_view topic, std::uint64_t, std::uint32_t, std::string_view payload) {
        { std::lock_guard lock(mu); seen.push_back(std::string(topic) + "=" + std::string(payload)); }
        cv.notify_all();
    });
    // The observer's interest reaches the servers before the append does.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<store::record_spec> group = {{"p", 0}, {"q", 0}};
    std::promise<void> done;
    a->append_group_async("t/o", group, [&](result<append_ack>) { done.set_value(); });
    done.get_future().wait();
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen.size() >= 2; }));
    CHECK(seen[0] == "t/o=p");
    CHECK(seen[1] == "t/o=q");
}

TEST_CASE("jetstream: parents count their lite topics across shards") {
    auto s = open_cluster(fresh_prefix());
    for (int i = 0; i < 5; ++i) REQUIRE(s->append("t/topic" + std::to_string(i), "x"));
    std::uint64_t count = 0;
    for (auto& p : s->parents())
        if (p.name == "t") count = p.lite_topics;
    CHECK(count == 5);
    auto st = s->stats();
    CHECK(st.remote);
    CHECK(st.connected);
    CHECK(st.appends == 5);
}

TEST_CASE("jetstream: a server observes its own appends too") {
    auto s = open_cluster(fresh_prefix());
    std::mutex mu;
    std::condition_variable cv;
    int seen = 0;
    s->observe_appends([&](std::string_view, std::uint64_t, std::uint32_t, std::string_view) {
        { std::lock_guard lock(mu); ++seen; }
        cv.notify_all();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(s->append("t/self", "x"));
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen >= 1; }));
}

TEST_CASE("jetstream: signals reach the other servers, never the sender; questions get the first answer") {
    const auto prefix = fresh_prefix();
    auto a = open_cluster(prefix);
    auto b = open_cluster(prefix);
    auto c = open_cluster(prefix);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> heard_a, heard_b, heard_c;
    auto handler = [&](std::vector<std::string>& into, std::optional<std::string> answer) {
        return [&, answer](std::string_view channel, std::string_view payload) -> std::optional<std::string> {
            { std::lock_guard lock(mu); into.push_back(std::string(channel) + ":" + std::string(payload)); }
            cv.notify_all();
            return channel == "live" ? answer : std::nullopt;
        };
    };
    a->on_signal(handler(heard_a, std::nullopt));
    b->on_signal(handler(heard_b, std::string("yes from b")));
    c->on_signal(handler(heard_c, std::nullopt));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the subscriptions reach the servers

    CHECK(a->signal("cancel", "s1/7"));
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return heard_b.size() == 1 && heard_c.size() == 1; }));
        CHECK(heard_b[0] == "cancel:s1/7");
        CHECK(heard_a.empty());
    }

    std::promise<std::optional<std::string>> answered;
    a->ask("live", "s1/8", std::chrono::seconds(2), [&](std::optional<std::string> v) { answered.set_value(v); });
    CHECK(answered.get_future().get() == "yes from b");

    // Nobody answers: nullopt once the wait is over.
    std::promise<std::optional<std::string>> silent;
    const auto asked = std::chrono::steady_clock::now();
    b->ask("live", "s1/9", std::chrono::milliseconds(200), [&](std::optional<std::string> v) { silent.set_value(v); });
    CHECK_FALSE(silent.get_future().get().has_value());
    CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(2));

    CHECK(a->shared());
}

TEST_CASE("jetstream: a topic whose records aged out is reported idle, unless removed or bound anywhere") {
    const auto prefix = fresh_prefix();
    auto options = [&](std::vector<std::string>* reported, std::mutex* mu) {
        auto o = cluster_options(prefix);
        for (auto& p : o.parents) p.policy.idle_ttl = std::chrono::milliseconds(400);
        o.reclaim_interval = std::chrono::hours(1);  // passes only when the test asks (reclaim())
        o.on_reclaimed = [reported, mu](std::string_view topic) {
            std::lock_guard lock(*mu);
            reported->emplace_back(topic);
        };
        return o;
    };
    std::mutex mu;
    std::vector<std::string> on_a, on_b;
    auto a = store::open(options(&on_a, &mu));
    REQUIRE(a);
    auto b = store::open(options(&on_b, &mu));
    REQUIRE(b);
    REQUIRE((*a)->append("t/idle", "x"));
    REQUIRE((*a)->append("t/removed", "x"));
    REQUIRE((*a)->append("t/bound-on-b", "x"));
    REQUIRE((*b)->add_consumer("stream-1", [] {}));
    REQUIRE((*b)->bind("stream-1", "t/bound-on-b"));
    CHECK((*a)->reclaim().value() == 0);  // the first listing: nothing to compare with
    CHECK((*b)->reclaim().value() == 0);
    REQUIRE((*a)->remove_topic("t/removed"));
    // Every record is older than the TTL: JetStream drops them.
    CHECK(eventually([&] { return !(*a)->topic("t/idle").has_value(); }, std::chrono::seconds(10)));
    CHECK(eventually([&] { return !(*a)->topic("t/bound-on-b").has_value(); }, std::chrono::seconds(10)));
    CHECK((*a)->reclaim().value() == 1);
    CHECK((*b)->reclaim().value() == 2);
    {
        std::lock_guard lock(mu);
        CHECK(on_a == std::vector<std::string>{"t/idle"});  // not its own removal; b answered for the bound one
        // b takes the removal on a for idleness (a removal is told nobody;
        // the callbacks are idempotent). It keeps its bound topic.
        CHECK(std::find(on_b.begin(), on_b.end(), "t/idle") != on_b.end());
        CHECK(std::find(on_b.begin(), on_b.end(), "t/bound-on-b") == on_b.end());
    }
    CHECK((*a)->stats().reclaimed_topics == 1);
    // Once b lets go, the next pass reports it.
    (*b)->unbind("stream-1", "t/bound-on-b");
    CHECK((*a)->reclaim().value() == 1);
    std::lock_guard lock(mu);
    CHECK(on_a.back() == "t/bound-on-b");
}
