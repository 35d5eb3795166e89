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

TEST_CASE("appends create the topic and get dense offsets; reads return them in order") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    for (int i = 0; i < 10; ++i) {
        auto a = s->append("t/a", "msg" + std::to_string(i), static_cast<std::uint32_t>(i));
        REQUIRE(a);
        CHECK(a->offset == static_cast<std::uint64_t>(i));
    }
    auto b = s->append("t/b", "other");
    REQUIRE(b);
    CHECK(b->offset == 0);
    auto r = s->read("t/a", 3, {4, 1 << 20});
    REQUIRE(r);
    CHECK(r->outcome == read_outcome::ok);
    REQUIRE(r->records.size() == 4);
    CHECK(r->records[0].offset == 3);
    CHECK(r->records[0].payload == "msg3");
    CHECK(r->records[0].flags == 3);
    CHECK(r->records[3].offset == 6);
    CHECK(r->next_offset == 7);
    CHECK(r->end_offset == 10);
    auto tail = s->read("t/a", 10);
    REQUIRE(tail);
    CHECK(tail->records.empty());
    CHECK(tail->next_offset == 10);
}

TEST_CASE("reads respect the byte bound but always return one record") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    for (int i = 0; i < 5; ++i) REQUIRE(s->append("t/a", std::string(1000, 'x')));
    auto r = s->read("t/a", 0, {100, 2500});
    REQUIRE(r);
    CHECK(r->records.size() == 2);
    auto one = s->read("t/a", 0, {100, 10});
    REQUIRE(one);
    CHECK(one->records.size() == 1);
}

TEST_CASE("a read without payloads gives offsets and flags, from the tail cache and from the log") {
    temp_dir d;
    auto o = small_options(d.path());
    o.tail_cache_bytes = 2048;  // the first records are read back from the log
    auto s = open_store(o);
    for (int i = 0; i < 20; ++i) REQUIRE(s->append("t/a", std::string(500, 'x'), static_cast<std::uint32_t>(i)));
    for (std::uint64_t from : {0u, 19u}) {
        auto r = s->read("t/a", from, {.max_records = 1, .max_bytes = 1, .payloads = false});
        REQUIRE(r);
        REQUIRE(r->records.size() == 1);
        CHECK(r->records[0].offset == from);
        CHECK(r->records[0].flags == from);
        CHECK(r->records[0].payload.empty());
        CHECK(r->next_offset == from + 1);
    }
}

TEST_CASE("records past the tail cache are read back from the log") {
    temp_dir d;
    auto o = small_options(d.path());
    o.tail_cache_bytes = 2048;
    auto s = open_store(o);
    for (int i = 0; i < 200; ++i) REQUIRE(s->append("t/a", "payload-" + std::to_string(i)));
    auto r = s->read("t/a", 0, {200, 1 << 20});
    REQUIRE(r);
    REQUIRE(r->records.size() == 200);
    for (int i = 0; i < 200; ++i) CHECK(r->records[static_cast<std::size_t>(i)].payload == "payload-" + std::to_string(i));
}

TEST_CASE("bad names, unknown parents, oversized records and missing topics are clear errors") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    auto check = [](auto r, errc code) {
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == code);
        CHECK_FALSE(r.error().message.empty());
    };
    check(s->append("no-slash", "x"), errc::invalid_name);
    check(s->append("t/", "x"), errc::invalid_name);
    check(s->append("T/upper-parent", "x"), errc::invalid_name);
    check(s->append("t/has space", "x"), errc::invalid_name);
    check(s->append("t/" + std::string(300, 'a'), "x"), errc::invalid_name);
    check(s->append("nope/a", "x"), errc::unknown_parent);
    check(s->append("t/a", std::string(9000, 'x')), errc::record_too_large);
    check(s->read("t/missing", 0), errc::not_found);
    check(s->topic("t/missing"), errc::not_found);
    check(s->set_cursor("c", "t/missing", 1), errc::not_found);
    check(s->set_cursor("bad id!", "t/a", 1), errc::invalid_name);
    check(s->add_consumer("", [] {}), errc::invalid_name);
    check(s->bind("unregistered", "t/a"), errc::not_found);
    check(s->define_parent({"Bad", {}}), errc::invalid_name);
    std::atomic<int> calls{0};
    s->append_async("nope/a", "x", 0, [&](result<append_ack> r) {
        CHECK_FALSE(r.has_value());
        ++calls;
    });
    CHECK(calls == 1);
    CHECK(s->stats().appends == 0);
}

TEST_CASE("topic names: every byte is judged by the documented character sets") {
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        CAPTURE(b);
        const bool lower_or_digit = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        const bool lite =
            lower_or_digit || (c >= 'A' && c <= 'Z') || std::string_view("._:@=+-").find(c) != std::string_view::npos;
        const bool parent_rest = lower_or_digit || c == '.' || c == '_' || c == '-';
        CHECK(parse_topic_name(std::string("t/a") + c).has_value() == lite);
        CHECK(parse_topic_name(std::string("p") + c + "/a").has_value() == (parent_rest && c != '/'));
        CHECK(parse_topic_name(std::string(1, c) + "p/a").has_value() == lower_or_digit);
        CHECK(validate_consumer_id(std::string("c") + c).has_value() == (lite || c == '/'));
    }
}

TEST_CASE("a parent's max_lite_topics is enforced, and parents can be added at run time") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    topic_policy p;
    p.max_lite_topics = 2;
    p.max_record_size = 1024;
    REQUIRE(s->define_parent({"few", p}));
    REQUIRE(s->append("few/a", "x"));
    REQUIRE(s->append("few/b", "x"));
    REQUIRE(s->append("few/a", "again"));  // existing topic: fine
    auto r = s->append("few/c", "x");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::topic_limit);
    REQUIRE(s->remove_topic("few/a"));
    CHECK(s->append("few/c", "x"));
}

TEST_CASE("retention trims the oldest records and reports truncation explicitly") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.max_records = 5;
    auto s = open_store(o);
    for (int i = 0; i < 12; ++i) REQUIRE(s->append("t/a", "m" + std::to_string(i)));
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->first_offset == 7);
    CHECK(info->end_offset == 12);
    auto old = s->read("t/a", 2);
    REQUIRE(old);
    CHECK(old->outcome == read_outcome::truncated);
    CHECK(old->records.empty());
    CHECK(old->first_offset == 7);
    auto r = s->read("t/a", 7);
    REQUIRE(r);
    REQUIRE(r->records.size() == 5);
    CHECK(r->records.front().payload == "m7");
}

TEST_CASE("retention by bytes, including records trimmed within their own batch") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.max_bytes = 3000;
    auto s = open_store(o);
    std::atomic<int> done{0};
    for (int i = 0; i < 20; ++i)
        s->append_async("t/a", std::string(1000, 'x'), 0, [&](result<append_ack> r) {
            CHECK(r.has_value());
            ++done;
        });
    while (done < 20) std::this_thread::yield();
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->end_offset == 20);
    CHECK(info->retained_bytes <= 3000);
    CHECK(info->end_offset - info->first_offset == 2);  // 2 x 1044 bytes fit in 3000
}

TEST_CASE("a full topic is trimmed to 1/16 below its bound at once, the same way after a reopen") {
    temp_dir d;
    auto o = small_options(d.path());
    o.parents[0].policy.max_records = 640;  // trimmed to 600 when it passes 640
    std::uint64_t first = 0;
    {
        auto s = open_store(o);
        std::atomic<int> done{0};
        // Pipelined: big batches, so records are trimmed within their own batch too.
        for (int i = 0; i < 2000; ++i)
            s->append_async("t/a", "m" + std::to_string(i), 0, [&](result<append_ack> r) {
                CHECK(r.has_value());
                ++done;
            });
        while (done < 2000) std::this_thread::yield();
        auto info = s->topic("t/a");
        REQUIRE(info);
        CHECK(info->end_offset == 2000);
        const auto kept = info->end_offset - info->first_offset;
        CHECK(kept <= 640);
        CHECK(kept >= 600);
        first = info->first_offset;
        auto r = s->read("t/a", first, {1000, 1u << 20});
        REQUIRE(r);
        REQUIRE(r->records.size() == kept);
        for (std::size_t i = 0; i < r->records.size(); ++i)
            CHECK(r->records[i].payload == "m" + std::to_string(first + i));
        auto old = s->read("t/a", first - 1);
        REQUIRE(old);
        CHECK(old->outcome == read_outcome::truncated);
        // One at a time now: each append past the bound trims a chunk, to
        // exactly 1/16 below the bound (100 appends pass it at least twice).
        std::uint64_t least = kept;
        for (int i = 2000; i < 2100; ++i) {
            REQUIRE(s->append("t/a", "m" + std::to_string(i)));
            auto now = s->topic("t/a");
            REQUIRE(now);
            least = std::min(least, now->end_offset - now->first_offset);
        }
        CHECK(least == 600);
        info = s->topic("t/a");
        REQUIRE(info);
        CHECK(info->end_offset - info->first_offset <= 640);
        CHECK(info->end_offset - info->first_offset >= 600);
        first = info->first_offset;
    }
    auto s = open_store(o);
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->first_offset == first);
    CHECK(info->end_offset == 2100);
}

TEST_CASE("cursors and key-value records persist across a reopen") {
    temp_dir d;
    {
        auto s = open_store(small_options(d.path()));
        REQUIRE(s->append("t/a", "x"));
        REQUIRE(s->set_cursor("consumer-1", "t/a", 1));
        REQUIRE(s->kv_put("session/abc", "record-abc"));
        REQUIRE(s->kv_put("session/abd", "record-abd"));
        REQUIRE(s->kv_put("worker/w", "record-w"));
    }
    auto s = open_store(small_options(d.path()));
    auto c = s->cursor("consumer-1", "t/a");
    REQUIRE(c);
    CHECK(*c == std::optional<std::uint64_t>(1));
    auto none = s->cursor("consumer-2", "t/a");
    REQUIRE(none);
    CHECK_FALSE(none->has_value());
    auto v = s->kv_get("session/abc");
    REQUIRE(v);
    CHECK(**v == "record-abc");
    auto scan = s->kv_scan("session/");
    REQUIRE(scan);
    REQUIRE(scan->size() == 2);
    CHECK((*scan)[1].first == "session/abd");
    auto page = s->kv_scan("session/", "session/abc", 10);
    REQUIRE(page);
    REQUIRE(page->size() == 1);
    CHECK((*page)[0].first == "session/abd");
    REQUIRE(s->kv_delete("session/abc"));
    auto gone = s->kv_get("session/abc");
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
    CHECK(s->kv_create("config/k", "first").value());
    CHECK_FALSE(s->kv_create("config/k", "second").value());
    CHECK(s->kv_get("config/k").value() == "first");
    // Compare-and-set.
    CHECK(s->kv_swap("config/k", "first", "next").value());
    CHECK_FALSE(s->kv_swap("config/k", "first", "stale").value());
    CHECK(s->kv_get("config/k").value() == "next");
    CHECK_FALSE(s->kv_swap("config/none", "", "x").value());
    CHECK_FALSE(s->kv_get("config/none").value().has_value());
    // Take: delete and return what it held.
    CHECK(s->kv_take("config/k").value() == "next");
    CHECK_FALSE(s->kv_get("config/k").value().has_value());
    CHECK_FALSE(s->kv_take("config/k").value().has_value());
}

TEST_CASE("bind wakes a consumer with unread records at once, and appends wake it") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    REQUIRE(s->append("t/a", "x"));
    REQUIRE(s->append("t/a", "y"));
    std::atomic<int> wakes{0};
    REQUIRE(s->add_consumer("c", [&] { ++wakes; }));
    REQUIRE(s->set_cursor("c", "t/a", 2));
    REQUIRE(s->bind("c", "t/a"));
    CHECK(wakes == 0);  // cursor at the end: nothing unread
    REQUIRE(s->set_cursor("c", "t/a", 1));
    s->unbind("c", "t/a");
    REQUIRE(s->bind("c", "t/a"));
    CHECK(wakes == 1);
    CHECK(s->take_ready("c") == std::vector<std::string>{"t/a"});
    REQUIRE(s->append("t/a", "z"));
    CHECK(wakes == 2);  // the wake runs before append() returns
    REQUIRE(s->append("t/a", "again"));
    CHECK(wakes == 2);  // not drained yet: no second wake
    CHECK(s->take_ready("c") == std::vector<std::string>{"t/a"});
    REQUIRE(s->bind("c", "t/new"));  // a topic that does not exist yet
    REQUIRE(s->append("t/new", "first"));
    CHECK(wakes == 3);
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->consumers == std::vector<std::string>{"c"});
}

TEST_CASE("remove_topic deletes records and cursors; the name starts again at offset 0") {
    temp_dir d;
    auto s = open_store(small_options(d.path()));
    for (int i = 0; i < 3; ++i) REQUIRE(s->append("t/a", "x"));
    REQUIRE(s->set_cursor("c", "t/a", 2));
    REQUIRE(s->remove_topic("t/a"));
    CHECK_FALSE(s->read("t/a", 0));
    CHECK(s->remove_topic("t/a").error().code == errc::not_found);
    auto a = s->append("t/a", "fresh");
    REQUIRE(a);
    CHECK(a->offset == 0);
    auto c = s->cursor("c", "t/a");
    REQUIRE(c);
    CHECK_FALSE(c->has_value());
}

TEST_CASE("the topic cache bound does not lose topic state") {
    temp_dir d;
    auto o = small_options(d.path());
    o.topic_cache_entries = 16;
    auto s = open_store(o);
    for (int round = 0; round < 3; ++round)
        for (int t = 0; t < 100; ++t) {
            auto a = s->append("t/n" + std::to_string(t), "x");
            REQUIRE(a);
            CHECK(a->offset == static_cast<std::uint64_t>(round));
        }
}

TEST_CASE("durability modes parse, and bad ones are rejected") {
    CHECK(durability::parse("always")->mode == fsync_mode::always);
    CHECK(durability::parse("never")->mode == fsync_mode::never);
    auto i = durability::parse("interval:250");
    REQUIRE(i);
    CHECK(i->interval == std::chrono::milliseconds(250));
    CHECK(i->to_string() == "interval:250");
    CHECK_FALSE(durability::parse("interval:"));
    CHECK_FALSE(durability::parse("interval:0"));
    CHECK_FALSE(durability::parse("sometimes"));
}

TEST_CASE("the interval mode fsyncs a written log on its interval") {
    temp_dir d;
    auto o = small_options(d.path());
    o.fsync = durability{fsync_mode::interval, std::chrono::milliseconds(20)};
    o.checkpoint_interval = std::chrono::hours(1);  // no checkpoint syncs the log meanwhile
    auto s = open_store(o);
    const auto before = s->stats().fsyncs;
    // Appends over 600 ms: the log is dirty on most 20 ms ticks.
    for (int i = 0; i < 60; ++i) {
        REQUIRE(s->append("t/a", "x" + std::to_string(i)));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(s->stats().fsyncs - before >= 5);
}

TEST_CASE("the always mode fsyncs each batch before acknowledging") {
    temp_dir d;
    auto o = small_options(d.path());
    o.fsync = durability{fsync_mode::always, {}};
    auto s = open_store(o);
    const auto before = s->stats().fsyncs;
    REQUIRE(s->append("t/a", "x"));
    CHECK(s->stats().fsyncs > before);
}
