// topic_follower and topic_subscription: the read loop and the wake-ups
// every reader of topics shares. A store in a temporary folder and a real pool; no sockets.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "server/streams/topic_follower.h"
#include "test_util.h"

using namespace litemcp;
using namespace litemcp::server;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool eventually(Pred p) {
    for (int i = 0; i < 400; ++i) {
        if (p()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return p();
}

struct fixture {
    test::temp_dir dir;
    std::unique_ptr<store::store> st = test::open_store(test::small_options(dir.path()));
    work_pool pool{"test", 2, 1000};
    ~fixture() { pool.stop(); }
    void append(std::string_view topic, std::string_view payload) { REQUIRE(st->append(topic, payload)); }
};

}  // namespace

TEST_CASE("a follower delivers what is there, then each new record, in order, once") {
    fixture f;
    f.append("t/a", "r0");
    std::mutex mu;
    std::vector<std::string> seen;
    std::uint64_t pos = 0;
    std::shared_ptr<topic_follower> follower;
    std::mutex start_mu;
    std::unique_lock start_lock(start_mu);  // on_ready waits until follower is set
    follower = topic_follower::start(*f.st, f.pool, "t.", {"t/a"}, "test", [&] {
        std::lock_guard wait(start_mu);
        follower->read("t/a", pos, [&](const store::record& r) {
            std::lock_guard lock(mu);
            seen.emplace_back(r.payload);
            return true;
        });
    });
    start_lock.unlock();
    CHECK(eventually([&] { std::lock_guard lock(mu); return seen.size() == 1; }));
    for (int i = 1; i <= 50; ++i) f.append("t/a", "r" + std::to_string(i));
    CHECK(eventually([&] { std::lock_guard lock(mu); return seen.size() == 51; }));
    std::this_thread::sleep_for(50ms);  // no duplicates arrive later
    std::lock_guard lock(mu);
    REQUIRE(seen.size() == 51);
    for (int i = 0; i <= 50; ++i) CHECK(seen[i] == "r" + std::to_string(i));
    follower->stop();
}

TEST_CASE("read stops where the reader says, and reports a missing topic") {
    fixture f;
    for (int i = 0; i < 5; ++i) f.append("t/b", "x" + std::to_string(i));
    auto follower = topic_follower::start(*f.st, f.pool, "t.", {"t/b"}, "test", [] {});
    std::uint64_t pos = 0;
    int n = 0;
    CHECK(follower->read("t/b", pos, [&](const store::record&) { return ++n < 3; }) == follow_outcome::stopped);
    CHECK(pos == 3);  // past the last record handed over
    CHECK(follower->read("t/b", pos, [&](const store::record&) { return true; }) == follow_outcome::caught_up);
    CHECK(pos == 5);
    std::uint64_t other = 0;
    CHECK(follower->read("t/none", other, [&](const store::record&) { return true; }) == follow_outcome::gone);
    follower->stop();
    follower->stop();  // twice is fine
}

TEST_CASE("after stop, appends wake nothing") {
    fixture f;
    std::atomic<int> readies{0};
    auto follower = topic_follower::start(*f.st, f.pool, "t.", {"t/c"}, "test", [&] { ++readies; });
    CHECK(eventually([&] { return readies.load() == 1; }));  // the first look
    follower->stop();
    f.append("t/c", "late");
    std::this_thread::sleep_for(100ms);
    CHECK(readies.load() == 1);
}

TEST_CASE("a batch cut at its byte bound is not the end of the topic") {
    // 200 records of 7 KiB: a read batch stops at 1 MiB (about 146 of them),
    // fewer than its 256 records; read() must still go on to the end.
    fixture f;
    const std::string big(7 * 1024, 'x');
    for (int i = 0; i < 200; ++i) f.append("t/d", big);
    auto follower = topic_follower::start(*f.st, f.pool, "t.", {"t/d"}, "test", [] {});
    std::uint64_t pos = 0;
    int n = 0;
    CHECK(follower->read("t/d", pos, [&](const store::record&) { return ++n > 0; }) == follow_outcome::caught_up);
    CHECK(n == 200);
    CHECK(pos == 200);
    follower->stop();
}

TEST_CASE("a subscription wakes once per take_ready, from its cursor, and never after close") {
    fixture f;
    std::atomic<int> wakes{0};
    auto sub = topic_subscription::open(*f.st, "w.durable", [&] { ++wakes; });
    REQUIRE(sub);
    CHECK((*sub)->consumer() == "w.durable");

    // Records already past the cursor wake it at bind.
    f.append("t/q", "a");
    REQUIRE((*sub)->bind("t/q"));
    CHECK(eventually([&] { return wakes == 1; }));
    f.append("t/q", "b");  // not re-armed yet: no second wake
    std::this_thread::sleep_for(30ms);
    CHECK(wakes == 1);
    (*sub)->take_ready();
    f.append("t/q", "c");
    CHECK(eventually([&] { return wakes == 2; }));

    // A cursor past every record: a new subscription of the same consumer
    // is not woken by what it has read.
    REQUIRE(f.st->set_cursor("w.durable", "t/q", 3));
    (*sub)->close();
    (*sub)->take_ready();  // harmless once closed
    f.append("t/q", "d");
    std::this_thread::sleep_for(30ms);
    CHECK(wakes == 2);
    sub->reset();

    std::atomic<int> again{0};
    auto next = topic_subscription::open(*f.st, "w.durable", [&] { ++again; });
    REQUIRE(next);
    REQUIRE(f.st->set_cursor("w.durable", "t/q", 4));
    REQUIRE((*next)->bind("t/q"));
    std::this_thread::sleep_for(30ms);
    CHECK(again == 0);
    f.append("t/q", "e");
    CHECK(eventually([&] { return again == 1; }));
}
