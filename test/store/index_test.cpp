#include "store/index.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

using namespace litemcp::store;
using litemcp::test::temp_dir;
using store_index = litemcp::store::index;  // not ::index of <strings.h>

namespace {
std::unique_ptr<store_index> open_index(const std::string& dir) {
    index_options o;
    o.dir = dir + "/index";
    auto ix = store_index::open(o);
    REQUIRE(ix);
    return std::move(*ix);
}

offset_entry entry_of(std::uint64_t id, std::uint64_t offset) {
    return offset_entry{id * 1'000'000 + offset * 100, static_cast<std::uint32_t>(offset % 97 + 1)};
}

// Every entry of topic id from offset on, checked against entry_of.
std::vector<std::uint64_t> offsets_from(const store_index& ix, std::uint64_t id, std::uint64_t from) {
    std::vector<std::uint64_t> out;
    auto r = ix.entries(id, from, [&](std::uint64_t off, offset_entry e) {
        CHECK(e.pos == entry_of(id, off).pos);
        CHECK(e.size == entry_of(id, off).size);
        out.push_back(off);
        return true;
    });
    REQUIRE(r);
    return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t end) {
    std::vector<std::uint64_t> v;
    for (auto o = from; o < end; ++o) v.push_back(o);
    return v;
}

// Commits one batch that indexes offsets [from, end) of topic id.
void index_offsets(store_index& ix, std::uint64_t id, std::uint64_t from, std::uint64_t end) {
    store_index::batch b;
    for (auto o = from; o < end; ++o) b.put_entry(id, o, entry_of(id, o));
    REQUIRE(ix.commit(b, store_index::wal::off));
}

std::size_t runs(const store_index& ix, std::uint64_t id) {
    auto n = ix.entry_runs(id);
    REQUIRE(n);
    return *n;
}
}  // namespace

TEST_CASE("RocksDB's flush thread runs at the lowest CPU priority") {
    temp_dir d;
    auto ix = open_index(d.path());  // low_priority_background is on by default
    REQUIRE(ix->kv_put("k", "v"));
    REQUIRE(ix->flush());  // the flush pool's thread has run a job (it lowers its priority then)
    int found = 0;
    for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(t.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name != "rocksdb:high") continue;
        std::ifstream stat(t.path() / "stat");
        std::string line;
        std::getline(stat, line);
        std::istringstream fields(line.substr(line.rfind(')') + 2));
        std::string f;
        for (int i = 3; i <= 19; ++i) fields >> f;  // field 19 is the nice value
        CHECK(f == "19");
        ++found;
    }
    CHECK(found >= 1);
}

TEST_CASE("a batch stores a topic's consecutive entries under one key, however topics interleave") {
    temp_dir d;
    auto ix = open_index(d.path());
    store_index::batch b;
    for (std::uint64_t o = 0; o < 50; ++o) {
        b.put_entry(7, o, entry_of(7, o));
        b.put_entry(8, o, entry_of(8, o));
    }
    REQUIRE(ix->commit(b, store_index::wal::off));
    CHECK(runs(*ix, 7) == 1);
    CHECK(runs(*ix, 8) == 1);
    CHECK(offsets_from(*ix, 7, 0) == range(0, 50));
    CHECK(offsets_from(*ix, 8, 0) == range(0, 50));
    // Read from inside a run, and one entry.
    CHECK(offsets_from(*ix, 7, 23) == range(23, 50));
    auto e = ix->entry(8, 42);
    REQUIRE(e);
    REQUIRE(*e);
    CHECK((*e)->pos == entry_of(8, 42).pos);
    auto missing = ix->entry(8, 50);
    REQUIRE(missing);
    CHECK_FALSE(*missing);

    // One entry per batch: runs of one, the layout of older versions.
    for (std::uint64_t o = 50; o < 55; ++o) index_offsets(*ix, 7, o, o + 1);
    CHECK(runs(*ix, 7) == 6);
    CHECK(offsets_from(*ix, 7, 10) == range(10, 55));
    CHECK(offsets_from(*ix, 7, 52) == range(52, 55));
    CHECK(offsets_from(*ix, 8, 0) == range(0, 50));  // the neighbour is untouched
}

TEST_CASE("trimming removes a run's key once all its entries are gone, also within the batch that indexes it") {
    temp_dir d;
    {
        auto ix = open_index(d.path());
        index_offsets(*ix, 7, 0, 50);
        index_offsets(*ix, 7, 50, 100);
        REQUIRE(runs(*ix, 7) == 2);

        // Trim [0, 60): the first run goes, the second keeps its key.
        store_index::batch t;
        for (std::uint64_t o = 0; o < 60; ++o) t.delete_entry(7, o);
        REQUIRE(ix->commit(t, store_index::wal::off));
        CHECK(runs(*ix, 7) == 1);
        CHECK(offsets_from(*ix, 7, 60) == range(60, 100));

        // New entries 100..109 and a trim to 106 in one batch: the run of
        // 50..99 goes, the new one starts at 106.
        store_index::batch both;
        for (std::uint64_t o = 100; o < 110; ++o) both.put_entry(7, o, entry_of(7, o));
        for (std::uint64_t o = 60; o < 106; ++o) both.delete_entry(7, o);
        REQUIRE(ix->commit(both, store_index::wal::off));
        CHECK(runs(*ix, 7) == 1);
        CHECK(offsets_from(*ix, 7, 106) == range(106, 110));
        REQUIRE(ix->flush());

        // Entries trimmed in their own batch entirely write no key.
        store_index::batch gone;
        for (std::uint64_t o = 110; o < 115; ++o) gone.put_entry(7, o, entry_of(7, o));
        for (std::uint64_t o = 106; o < 115; ++o) gone.delete_entry(7, o);
        REQUIRE(ix->commit(gone, store_index::wal::off));
        CHECK(runs(*ix, 7) == 0);
        CHECK(offsets_from(*ix, 7, 115).empty());
        index_offsets(*ix, 7, 115, 120);
        REQUIRE(ix->flush());
    }
    auto ix = open_index(d.path());
    CHECK(runs(*ix, 7) == 1);
    CHECK(offsets_from(*ix, 7, 115) == range(115, 120));
}

TEST_CASE("a batch committed again (the appender's retry after try_resume) writes the same state") {
    temp_dir d;
    auto ix = open_index(d.path());
    index_offsets(*ix, 3, 0, 10);
    store_index::batch b;
    for (std::uint64_t o = 10; o < 20; ++o) b.put_entry(3, o, entry_of(3, o));
    for (std::uint64_t o = 0; o < 12; ++o) b.delete_entry(3, o);
    REQUIRE(ix->commit(b, store_index::wal::off));
    REQUIRE(ix->commit(b, store_index::wal::off));
    CHECK(runs(*ix, 3) == 1);  // 0..9 gone, 12..19 written once
    CHECK(offsets_from(*ix, 3, 12) == range(12, 20));
}
