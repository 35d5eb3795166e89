// Who commits a store's queued appends: groups at consecutive offsets,
// deferred appends and commit_queued, a blocking append committing on its
// own thread, callbacks (one that appends, one that throws), a full queue,
// and concurrent appenders (docs/store.md, "Who commits").
#include "store/store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "test_util.h"

using namespace litemcp::store;
using litemcp::test::open_store;
using litemcp::test::small_options;
using litemcp::test::temp_dir;

TEST_CASE("a group of records lands at consecutive offsets, whatever else is appended at the same time") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    std::atomic<bool> stop{false};
    std::thread noise([&] {
        for (int i = 0; !stop; ++i) (void)s->append("t/g", "noise");
    });
    std::vector<std::uint64_t> lasts;
    std::mutex mu;
    std::atomic<int> done{0};
    constexpr int groups = 200;
    for (int g = 0; g < groups; ++g) {
        const std::string a = "g" + std::to_string(g) + ".0", b = "g" + std::to_string(g) + ".1",
                          c = "g" + std::to_string(g) + ".2";
        const store::record_spec recs[] = {{a, 1}, {b, 0}, {c, 2}};
        s->append_group_async("t/g", recs, [&](result<append_ack> r) {
            std::lock_guard lock(mu);
            if (r) lasts.push_back(r->offset);
            ++done;
        });
    }
    while (done < groups) std::this_thread::yield();
    stop = true;
    noise.join();
    REQUIRE(lasts.size() == groups);
    for (auto last : lasts) {
        auto r = s->read("t/g", last - 2, {3, 1u << 20});
        REQUIRE(r);
        REQUIRE(r->records.size() == 3);
        const auto g = r->records[0].payload.substr(0, r->records[0].payload.find('.'));
        CHECK(r->records[0].payload == g + ".0");
        CHECK(r->records[1].payload == g + ".1");
        CHECK(r->records[2].payload == g + ".2");
        CHECK(r->records[0].flags == 1);
        CHECK(r->records[2].flags == 2);
    }
    bool called = false;
    s->append_group_async("nope/x", std::vector<store::record_spec>{{"a", 0}}, [&](result<append_ack> r) {
        CHECK_FALSE(r.has_value());
        called = true;
    });
    CHECK(called);  // refused before queueing: an unknown parent
}

namespace {

// Waits up to two seconds for a counter to reach n.
bool reaches(const std::atomic<int>& counter, int n) {
    for (int i = 0; i < 2000 && counter < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return counter >= n;
}

}  // namespace

TEST_CASE("deferred appends are committed by commit_queued, on the caller's thread, in order") {
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::seconds(30);  // the appender's safety net stays out of the way
    auto s = open_store(o);
    std::vector<std::uint64_t> lasts;
    std::vector<std::thread::id> on;
    for (int g = 0; g < 3; ++g) {
        const std::string a = "d" + std::to_string(g) + ".0", b = "d" + std::to_string(g) + ".1";
        const store::record_spec recs[] = {{a, 0}, {b, 0}};
        s->append_group_deferred("t/d", recs, [&](result<append_ack> r) {
            REQUIRE(r);
            lasts.push_back(r->offset);
            on.push_back(std::this_thread::get_id());
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(lasts.empty());  // nothing woke the appender
    s->commit_queued();
    REQUIRE(lasts.size() == 3);  // done ran inside commit_queued
    CHECK(lasts == std::vector<std::uint64_t>{1, 3, 5});
    for (auto id : on) CHECK(id == std::this_thread::get_id());
    auto r = s->read("t/d", 0, {10, 1u << 20});
    REQUIRE(r);
    REQUIRE(r->records.size() == 6);
    CHECK(r->records[0].payload == "d0.0");
    CHECK(r->records[5].payload == "d2.1");
    CHECK(s->stats().append_batches == 1);
}

TEST_CASE("deferred appends whose caller never commits are committed by the appender") {
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::milliseconds(20);
    auto s = open_store(o);
    std::atomic<int> done{0};
    std::thread::id on;
    const store::record_spec recs[] = {{"late", 0}};
    s->append_group_deferred("t/late", recs, [&](result<append_ack> r) {
        CHECK(r);
        on = std::this_thread::get_id();
        ++done;
    });
    REQUIRE(reaches(done, 1));
    CHECK(on != std::this_thread::get_id());
}

TEST_CASE("an ordinary append wakes the appender for the deferred appends queued before it") {
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::seconds(30);
    auto s = open_store(o);
    std::atomic<int> done{0};
    std::uint64_t deferred_offset = 0, async_offset = 0;
    const store::record_spec recs[] = {{"first", 0}};
    s->append_group_deferred("t/mix", recs, [&](result<append_ack> r) {
        REQUIRE(r);
        deferred_offset = r->offset;
        ++done;
    });
    s->append_async("t/mix", "second", 0, [&](result<append_ack> r) {
        REQUIRE(r);
        async_offset = r->offset;
        ++done;
    });
    REQUIRE(reaches(done, 2));
    CHECK(deferred_offset == 0);
    CHECK(async_offset == 1);
}

TEST_CASE("a blocking append commits the queue on its own thread when no other thread is committing") {
    // It would only sleep until the appender committed it: it commits
    // itself, with what was queued before it, in order.
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::seconds(30);
    auto s = open_store(o);
    std::thread::id on;
    std::uint64_t deferred_offset = 99;
    const store::record_spec recs[] = {{"queued", 0}};
    s->append_group_deferred("t/inline", recs, [&](result<append_ack> r) {
        REQUIRE(r);
        deferred_offset = r->offset;
        on = std::this_thread::get_id();
    });
    auto a = s->append("t/inline", "blocking");
    REQUIRE(a);
    CHECK(a->offset == 1);
    CHECK(deferred_offset == 0);
    CHECK(on == std::this_thread::get_id());
    CHECK(s->stats().append_batches == 1);
}

TEST_CASE("a blocking append from a commit's callback fails at once instead of waiting for itself") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    std::optional<result<append_ack>> inner;
    s->append_async("t/cb", "first", 0, [&](result<append_ack> r) {
        REQUIRE(r);
        inner = s->append("t/cb", "from the callback");
    });
    auto last = s->append("t/cb", "second");  // committed after the callback ran
    REQUIRE(last);
    REQUIRE(inner);
    REQUIRE_FALSE(*inner);
    CHECK(inner->error().code == errc::invalid_argument);
    auto r = s->read("t/cb", 0, {10, 1u << 20});
    REQUIRE(r);
    CHECK(r->records.size() == 2);
}

TEST_CASE("a callback that throws leaves the rest of its batch and the store working") {
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::seconds(30);
    auto s = open_store(o);
    int after = 0;
    const store::record_spec first[] = {{"throws", 0}}, second[] = {{"after", 0}};
    s->append_group_deferred("t/throw", first, [](result<append_ack>) { throw std::runtime_error("a failing callback"); });
    s->append_group_deferred("t/throw", second, [&](result<append_ack> r) {
        REQUIRE(r);
        ++after;
    });
    CHECK_NOTHROW(s->commit_queued());
    CHECK(after == 1);
    auto a = s->append("t/throw", "still works");
    REQUIRE(a);
    CHECK(a->offset == 2);
}

TEST_CASE("a queue full of deferred appends wakes the appender instead of blocking for good") {
    temp_dir d;
    auto o = small_options(d.path());
    o.deferred_commit_wait = std::chrono::seconds(30);
    o.max_pending_appends = 4;
    auto s = open_store(o);
    std::atomic<int> done{0};
    for (int i = 0; i < 12; ++i) {
        const std::string payload = "p" + std::to_string(i);
        const store::record_spec recs[] = {{payload, 0}};
        s->append_group_deferred("t/full", recs, [&](result<append_ack> r) {
            CHECK(r);
            ++done;
        });
    }
    // The appender ran only to make room: the last four still wait for a commit.
    REQUIRE(reaches(done, 8));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(done == 8);
    s->commit_queued();
    CHECK(done == 12);
    auto r = s->read("t/full", 0, {20, 1u << 20});
    REQUIRE(r);
    REQUIRE(r->records.size() == 12);
    for (int i = 0; i < 12; ++i) CHECK(r->records[static_cast<std::size_t>(i)].payload == "p" + std::to_string(i));
}

TEST_CASE("concurrent appenders get dense, unique offsets per topic") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    constexpr int threads = 8, per = 300;
    std::vector<std::thread> ts;
    std::mutex mu;
    std::set<std::uint64_t> offsets;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < per; ++i) {
                auto a = s->append("t/shared", std::to_string(t) + ":" + std::to_string(i));
                REQUIRE(a);
                std::lock_guard lock(mu);
                CHECK(offsets.insert(a->offset).second);
            }
        });
    for (auto& t : ts) t.join();
    CHECK(offsets.size() == threads * per);
    CHECK(*offsets.rbegin() == threads * per - 1);
    CHECK(s->stats().append_batches < static_cast<std::uint64_t>(threads * per));  // group commit happened
}
