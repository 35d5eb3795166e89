#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "child_process.h"
#include "test_util.h"

using namespace litemcp::store;
using namespace std::chrono_literals;
using litemcp::test::open_store;
using litemcp::test::abandon;
using litemcp::test::child_dir;
using litemcp::test::run_child;
using litemcp::test::small_options;
using litemcp::test::temp_dir;

namespace {
store_options crashy_options(const std::string& dir) {
    auto o = small_options(dir);
    o.checkpoint_interval = std::chrono::hours(1);  // nothing is flushed unless a test asks
    return o;
}

store_options reclaiming_options(const std::string& dir) {
    auto o = crashy_options(dir);
    o.parents[0].policy.idle_ttl = 50ms;
    return o;
}

std::string last_segment(const std::string& dir) {
    std::string last;
    for (auto& e : std::filesystem::directory_iterator(dir + "/log"))
        if (e.path().string() > last) last = e.path().string();
    return last;
}
}  // namespace

LITEMCP_CHILD("append-300-then-crash") {
    auto s = store::open(crashy_options(child_dir()));
    if (!s) return 2;
    for (int i = 0; i < 300; ++i)
        if (!(*s)->append("t/k" + std::to_string(i % 3), "v" + std::to_string(i))) return 3;
    if (!(*s)->set_cursor("c", "t/k1", 42)) return 4;
    abandon(0);  // no final checkpoint: the index memtable is lost
}

LITEMCP_CHILD("append-10-then-crash") {
    auto s = store::open(crashy_options(child_dir()));
    if (!s) return 2;
    for (int i = 0; i < 10; ++i)
        if (!(*s)->append("t/a", "payload-" + std::to_string(i))) return 3;
    abandon(0);
}

LITEMCP_CHILD("reclaim-remove-then-crash") {
    auto s = store::open(reclaiming_options(child_dir()));
    if (!s) return 2;
    if (!(*s)->append("t/old", "x")) return 3;
    if (!(*s)->checkpoint()) return 4;
    std::this_thread::sleep_for(100ms);
    auto n = (*s)->reclaim();
    if (!n || *n != 1) return 5;
    if (!(*s)->append("t/removed", "x")) return 6;
    if (!(*s)->remove_topic("t/removed")) return 7;
    if (!(*s)->append("t/kept", "x")) return 8;
    abandon(0);
}

LITEMCP_CHILD("checkpoint-then-more-then-crash") {
    auto s = store::open(crashy_options(child_dir()));
    if (!s) return 2;
    for (int i = 0; i < 3; ++i)
        if (!(*s)->append("t/a", "before-" + std::to_string(i))) return 3;
    if (!(*s)->checkpoint()) return 4;
    // More than one recovery batch (20,000 records) after the checkpoint.
    for (int i = 3; i < 25'003; ++i) (*s)->append_async("t/a", "after-" + std::to_string(i), 0, nullptr);
    if (!(*s)->append("t/a", "after-25003")) return 6;  // every async append before it is committed too
    abandon(0);
}

TEST_CASE("recovery hands the recovered topic state to the appender: no offset is reused") {
    temp_dir d;
    const auto o = crashy_options(d.path());
    REQUIRE(run_child("checkpoint-then-more-then-crash", d.path()) == 0);
    auto s = open_store(o);
    CHECK(s->stats().recovered_records == 25'001);
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->end_offset == 25'004);
    auto a = s->append("t/a", "new");
    REQUIRE(a);
    CHECK(a->offset == 25'004);
    auto r = s->read("t/a", 25'000, {10, 1 << 20});
    REQUIRE(r);
    REQUIRE(r->records.size() == 5);
    CHECK(r->records[0].payload == "after-25000");
    CHECK(r->records[4].payload == "new");
}

TEST_CASE("an unclean exit loses nothing: the log past the checkpoint is re-indexed") {
    temp_dir d;
    const auto o = crashy_options(d.path());
    int code = run_child("append-300-then-crash", d.path());
    REQUIRE(code == 0);
    auto s = open_store(o);
    CHECK(s->stats().recovered_records == 300);
    for (int k = 0; k < 3; ++k) {
        auto r = s->read("t/k" + std::to_string(k), 0, {1000, 1 << 20});
        REQUIRE(r);
        REQUIRE(r->records.size() == 100);
        for (std::size_t i = 0; i < 100; ++i) {
            CHECK(r->records[i].offset == i);
            CHECK(r->records[i].payload == "v" + std::to_string(i * 3 + static_cast<std::size_t>(k)));
        }
    }
    CHECK(s->cursor("c", "t/k1")->value_or(0) == 42);
    auto a = s->append("t/k0", "next");
    REQUIRE(a);
    CHECK(a->offset == 100);
    // A second reopen finds nothing more to do.
    s.reset();
    auto again = open_store(o);
    CHECK(again->stats().recovered_records == 0);
    CHECK(again->topic("t/k0")->end_offset == 101);
}

TEST_CASE("a torn tail is cut and appends continue after it") {
    temp_dir d;
    const auto o = small_options(d.path());
    {
        auto s = open_store(o);
        for (int i = 0; i < 10; ++i) REQUIRE(s->append("t/a", "record-" + std::to_string(i)));
    }
    const auto seg = last_segment(d.path());
    const auto size_before = std::filesystem::file_size(seg);
    {
        int fd = ::open(seg.c_str(), O_WRONLY | O_APPEND);
        REQUIRE(fd >= 0);
        const char half[] = "\x12\x34\x56\x78\x40\x00\x00\x00garbage";
        REQUIRE(::write(fd, half, sizeof half - 1) > 0);
        ::close(fd);
    }
    auto s = open_store(o);
    CHECK(s->stats().truncated_bytes == sizeof("\x12\x34\x56\x78\x40\x00\x00\x00garbage") - 1);
    CHECK(std::filesystem::file_size(seg) == size_before);
    auto r = s->read("t/a", 0, {100, 1 << 20});
    REQUIRE(r);
    CHECK(r->records.size() == 10);
    auto a = s->append("t/a", "after");
    REQUIRE(a);
    CHECK(a->offset == 10);
}

TEST_CASE("a damaged record after the checkpoint ends the log there; offsets stay dense") {
    temp_dir d;
    const auto o = crashy_options(d.path());
    std::uint64_t pos5 = 0;
    int code = run_child("append-10-then-crash", d.path());
    REQUIRE(code == 0);
    // Find record 5 by scanning the segment for its payload.
    const auto seg = last_segment(d.path());
    std::string bytes(std::filesystem::file_size(seg), '\0');
    {
        int fd = ::open(seg.c_str(), O_RDWR);
        REQUIRE(::pread(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
        pos5 = bytes.find("payload-5");
        REQUIRE(pos5 != std::string::npos);
        char x = 'X';
        REQUIRE(::pwrite(fd, &x, 1, static_cast<off_t>(pos5)) == 1);
        ::close(fd);
    }
    auto s = open_store(o);
    auto info = s->topic("t/a");
    REQUIRE(info);
    CHECK(info->end_offset == 5);
    auto r = s->read("t/a", 0, {100, 1 << 20});
    REQUIRE(r);
    CHECK(r->records.size() == 5);
    CHECK(s->stats().truncated_bytes > 0);
    auto a = s->append("t/a", "replacement");
    REQUIRE(a);
    CHECK(a->offset == 5);
}

TEST_CASE("reclaimed and removed topics stay gone after a crash") {
    temp_dir d;
    const auto o = reclaiming_options(d.path());
    int code = run_child("reclaim-remove-then-crash", d.path());
    REQUIRE(code == 0);
    auto s = open_store(o);
    CHECK_FALSE(s->topic("t/old").has_value());
    CHECK_FALSE(s->topic("t/removed").has_value());
    REQUIRE(s->topic("t/kept").has_value());
    CHECK(s->topic("t/kept")->end_offset == 1);
}

TEST_CASE("a store whose log lost segments the index points into refuses to open") {
    temp_dir d;
    const auto o = small_options(d.path());
    {
        auto s = open_store(o);
        for (int i = 0; i < 5; ++i) REQUIRE(s->append("t/a", "x"));
    }
    std::filesystem::remove(last_segment(d.path()));
    auto s = store::open(o);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == errc::corrupt);
    CHECK(s.error().message.find("missing") != std::string::npos);
}
