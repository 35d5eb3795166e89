#include "store/commit_log.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

using namespace litemcp::store;
using litemcp::test::temp_dir;

namespace {
std::string rec(std::uint64_t offset, std::string_view payload) {
    std::string b(encoded_size(3, payload.size()), '\0');
    encode_record(b.data(), 1, offset, 0, 0, "t/a", payload);
    return b;
}
// Descriptors of this process open on deleted files under dir.
int open_deleted_files(const std::string& dir) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = std::filesystem::read_symlink(e.path(), ec).string();
        if (!ec && target.starts_with(dir) && target.ends_with(" (deleted)")) ++n;
    }
    return n;
}
std::unique_ptr<commit_log> open_log(const std::string& dir, std::uint64_t seg = 4096) {
    auto l = commit_log::open(dir, seg);
    REQUIRE(l.has_value());
    return std::move(*l);
}
}  // namespace

TEST_CASE("append returns contiguous positions and read returns the bytes") {
    temp_dir d;
    auto log = open_log(d.path());
    auto a = rec(0, "one"), b = rec(1, "two");
    auto pa = log->append(a);
    auto pb = log->append(b);
    REQUIRE(pa);
    REQUIRE(pb);
    CHECK(*pa == 0);
    CHECK(*pb == a.size());
    CHECK(log->end() == a.size() + b.size());
    std::string out;
    REQUIRE(log->read(*pb, b.size(), out));
    CHECK(out == b);
    CHECK_FALSE(log->read(log->end(), 1, out));
}

TEST_CASE("the log rolls to a new segment and never splits a write") {
    temp_dir d;
    auto log = open_log(d.path(), 4096);
    const auto r = rec(0, std::string(1000, 'x'));
    for (int i = 0; i < 10; ++i) REQUIRE(log->append(r));
    auto segs = log->segments();
    CHECK(segs.size() == 4);  // three 1041-byte records per 4 KiB segment: 3+3+3+1
    for (auto& s : segs) CHECK(s.bytes % r.size() == 0);
    CHECK(log->segment_of(segs[1].base + 5) == segs[1].base);
    std::string big(5000, 'y');
    CHECK_FALSE(log->append(big));  // larger than a segment
}

TEST_CASE("appends never sync; sync() covers the segments finished by rolls and the new files") {
    temp_dir d;
    const auto r = rec(0, std::string(1000, 'x'));
    {
        auto log = open_log(d.path(), 4096);
        CHECK(log->durable_end() == 0);
        for (int i = 0; i < 10; ++i) REQUIRE(log->append(r));
        REQUIRE(log->segments().size() == 4);
        // A roll syncs nothing: the appending thread never waits for the disk.
        CHECK(log->file_syncs() == 0);
        CHECK(log->durable_end() == 0);
        REQUIRE(log->sync());
        CHECK(log->file_syncs() == 5);  // four segments and the directory (three new files)
        CHECK(log->durable_end() == log->end());
        REQUIRE(log->sync());
        CHECK(log->file_syncs() == 5);  // nothing written since
        REQUIRE(log->append(r));
        REQUIRE(log->sync());
        CHECK(log->file_syncs() == 6);  // the active segment alone
        CHECK(log->durable_end() == log->end());
    }
    // A reopened log cannot know what the last process synced: the first
    // sync covers every segment it found.
    auto again = open_log(d.path(), 4096);
    CHECK(again->durable_end() == again->start());
    REQUIRE(again->sync());
    CHECK(again->file_syncs() == 4);
    CHECK(again->durable_end() == again->end());
}

TEST_CASE("scan visits whole records and stops at a torn tail; truncate cuts it") {
    temp_dir d;
    {
        auto log = open_log(d.path());
        for (int i = 0; i < 5; ++i) REQUIRE(log->append(rec(static_cast<std::uint64_t>(i), "payload")));
        const std::string torn = rec(5, "payload").substr(0, 20);
        REQUIRE(log->append(torn));  // simulate a write cut short by a crash
    }
    auto log = open_log(d.path());
    std::vector<std::uint64_t> offsets;
    auto end = log->scan(0, 1 << 20, [&](std::uint64_t, const record_view& v) { offsets.push_back(v.offset); });
    REQUIRE(end);
    CHECK(offsets == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
    CHECK(*end == 5 * rec(0, "payload").size());
    CHECK(log->end() == *end + 20);
    REQUIRE(log->truncate(*end));
    CHECK(log->end() == *end);
    auto again = log->append(rec(5, "payload"));
    REQUIRE(again);
    CHECK(*again == *end);
}

TEST_CASE("scan stops at a corrupt record in the middle of a segment") {
    temp_dir d;
    std::uint64_t second = 0;
    {
        auto log = open_log(d.path());
        REQUIRE(log->append(rec(0, "aaaa")));
        second = *log->append(rec(1, "bbbb"));
        REQUIRE(log->append(rec(2, "cccc")));
    }
    // flip a byte of the second record
    auto seg = (std::filesystem::path(d.path()) / "00000000000000000000.seg").string();
    int fd = ::open(seg.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    char c = 'X';
    REQUIRE(::pwrite(fd, &c, 1, static_cast<off_t>(second + record_header_bytes + 4)) == 1);
    ::close(fd);
    auto log = open_log(d.path());
    int seen = 0;
    auto end = log->scan(0, 1 << 20, [&](std::uint64_t, const record_view&) { ++seen; });
    REQUIRE(end);
    CHECK(seen == 1);
    CHECK(*end == second);
}

TEST_CASE("old segments can be removed, the active one cannot") {
    temp_dir d;
    auto log = open_log(d.path(), 4096);
    const auto r = rec(0, std::string(3000, 'x'));
    for (int i = 0; i < 3; ++i) REQUIRE(log->append(r));
    auto segs = log->segments();
    REQUIRE(segs.size() == 3);
    REQUIRE(log->remove_segment(segs[0].base));
    CHECK_FALSE(std::filesystem::exists(d.path() + "/00000000000000000000.seg"));
    // Unlinked at once, closed (its blocks freed) only by close_removed().
    CHECK(open_deleted_files(d.path()) == 1);
    log->close_removed();
    CHECK(open_deleted_files(d.path()) == 0);
    CHECK(log->start() == segs[1].base);
    CHECK_FALSE(log->remove_segment(segs[2].base));
    std::string out;
    CHECK_FALSE(log->read(segs[0].base, 10, out));
    CHECK(log->read(segs[1].base, r.size(), out));
    // survives reopen
    log.reset();
    auto again = open_log(d.path(), 4096);
    CHECK(again->segments().size() == 2);
    CHECK(again->end() == 3 * r.size());
}
