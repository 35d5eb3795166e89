#include <doctest/doctest.h>

#include <thread>

#include "test_util.h"

using namespace litemcp::store;
using namespace std::chrono_literals;
using litemcp::test::open_store;
using litemcp::test::small_options;
using litemcp::test::temp_dir;

TEST_CASE("an idle topic with no bound consumer is reclaimed after its TTL, a bound one is not") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.idle_ttl = 100ms;
    std::vector<std::string> reported;
    o.on_reclaimed = [&](std::string_view t) { reported.emplace_back(t); };
    auto s = open_store(o);
    REQUIRE(s->append("t/idle", "x"));
    REQUIRE(s->append("t/watched", "x"));
    REQUIRE(s->set_cursor("c", "t/idle", 1));
    REQUIRE(s->add_consumer("c", [] {}));
    REQUIRE(s->bind("c", "t/watched"));

    auto early = s->reclaim();
    REQUIRE(early);
    CHECK(*early == 0);  // not idle long enough
    std::this_thread::sleep_for(150ms);
    REQUIRE(s->checkpoint());
    auto r = s->reclaim();
    REQUIRE(r);
    CHECK(*r == 1);
    CHECK(s->read("t/idle", 0).error().code == errc::not_found);
    CHECK(s->read("t/watched", 0).has_value());
    CHECK(s->stats().reclaimed_topics == 1);
    CHECK(reported == std::vector<std::string>{"t/idle"});
    // the cursor went with the topic
    REQUIRE(s->append("t/idle", "reborn"));
    CHECK_FALSE(s->cursor("c", "t/idle")->has_value());

    s->unbind("c", "t/watched");
    std::this_thread::sleep_for(150ms);
    REQUIRE(s->checkpoint());
    std::size_t total = 0;
    for (int i = 0; i < 20 && s->read("t/watched", 0).has_value(); ++i) {
        total += s->reclaim().value_or(0);
        std::this_thread::sleep_for(20ms);
    }
    CHECK(total >= 1);
    CHECK(s->read("t/watched", 0).error().code == errc::not_found);
}

TEST_CASE("a topic written recently is kept: each append pushes its deadline") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.idle_ttl = 200ms;
    auto s = open_store(o);
    for (int i = 0; i < 6; ++i) {
        REQUIRE(s->append("t/busy", "x"));
        std::this_thread::sleep_for(60ms);
        REQUIRE(s->checkpoint());
        REQUIRE(s->reclaim());
    }
    CHECK(s->topic("t/busy")->end_offset == 6);
}

TEST_CASE("a topic whose last records are not yet checkpointed is not reclaimed") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.idle_ttl = 50ms;
    o.checkpoint_interval = std::chrono::hours(1);
    auto s = open_store(o);
    REQUIRE(s->append("t/a", "x"));
    std::this_thread::sleep_for(100ms);
    CHECK(*s->reclaim() == 0);
    REQUIRE(s->checkpoint());
    std::size_t n = 0;
    for (int i = 0; i < 10 && n == 0; ++i) {
        n += *s->reclaim();
        std::this_thread::sleep_for(10ms);
    }
    CHECK(n == 0);  // re-filed one checkpoint interval (1 h) later: still there
    CHECK(s->topic("t/a").has_value());
}

TEST_CASE("segments whose records are all trimmed or reclaimed are deleted") {
    temp_dir d;
    auto o = small_options(d.path());
    o.segment_bytes = 4096;
    o.parents[0].policy.max_record_size = 1024;
    o.parents[0].policy.max_records = 3;
    o.parents[0].policy.idle_ttl = 100ms;
    auto s = open_store(o);
    for (int i = 0; i < 40; ++i) REQUIRE(s->append("t/trimmed", std::string(900, 'a' + i % 26)));
    const auto segs_before = s->stats().log_segments;
    CHECK(segs_before >= 10);
    REQUIRE(s->checkpoint());
    REQUIRE(s->reclaim());
    const auto st = s->stats();
    CHECK(st.deleted_segments >= segs_before - 3);
    CHECK(st.log_segments <= 3);
    auto r = s->read("t/trimmed", 37);
    REQUIRE(r);
    REQUIRE(r->records.size() == 3);
    CHECK(r->records[2].payload == std::string(900, 'a' + 39 % 26));

    // A reclaimed topic frees its segments too.
    for (int i = 0; i < 3; ++i) REQUIRE(s->append("t/other", std::string(900, 'z')));
    for (int i = 0; i < 12; ++i) REQUIRE(s->append("t/filler", std::string(900, 'f')));
    std::this_thread::sleep_for(150ms);
    REQUIRE(s->checkpoint());
    REQUIRE(s->reclaim());
    CHECK_FALSE(s->topic("t/other").has_value());
    CHECK(s->stats().log_segments <= 2);

    // and the store reopens cleanly afterwards
    s.reset();
    auto again = open_store(o);
    CHECK(again->stats().truncated_bytes == 0);
    CHECK_FALSE(again->topic("t/trimmed").has_value());
}
