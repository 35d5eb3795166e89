#include "server/util/work_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

using namespace litemcp::server;
using namespace std::chrono_literals;

namespace {

// Tasks meet here: each arrives and waits (up to 5 s) until `expected` have.
struct meeting {
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
    int expected;
    std::atomic<int> met{0};
    explicit meeting(int n) : expected(n) {}
    void arrive() {
        std::unique_lock lock(mu);
        ++arrived;
        cv.notify_all();
        if (cv.wait_for(lock, 5s, [&] { return arrived >= expected; })) ++met;
    }
    // Whether they all met, checked before the pool stops (stop() wakes every thread).
    bool all_met() {
        for (int i = 0; i < 600 && met < expected; ++i) std::this_thread::sleep_for(10ms);
        return met == expected;
    }
};

}  // namespace

TEST_CASE("tasks posted at once that wait for each other each get a thread") {
    // Threads are woken one at a time, each waking the next while tasks are
    // queued: four tasks that can only finish together need all four.
    work_pool pool("test", 4, 100);
    std::this_thread::sleep_for(50ms);  // every thread waits for a task
    meeting m(4);
    for (int i = 0; i < 4; ++i) REQUIRE(pool.post([&] { m.arrive(); }));
    CHECK(m.all_met());
}

TEST_CASE("a task posted while the others block gets a free thread") {
    work_pool pool("test", 3, 100);
    std::this_thread::sleep_for(50ms);
    meeting m(3);
    REQUIRE(pool.post([&] { m.arrive(); }));
    std::this_thread::sleep_for(50ms);  // the first waits; the others sleep
    REQUIRE(pool.post([&] { m.arrive(); }));
    std::this_thread::sleep_for(50ms);
    REQUIRE(pool.post([&] { m.arrive(); }));
    CHECK(m.all_met());
}

TEST_CASE("a burst runs whole, and stop() runs what is queued") {
    std::atomic<int> ran{0};
    {
        work_pool pool("test", 4, 100'000);
        for (int i = 0; i < 20'000; ++i) REQUIRE(pool.post([&] { ++ran; }));
    }
    CHECK(ran == 20'000);
}

TEST_CASE("a full queue refuses a task, and so does a stopped pool") {
    work_pool pool("test", 1, 2);
    meeting gate(2);
    REQUIRE(pool.post([&] { gate.arrive(); }));  // holds the only thread
    std::this_thread::sleep_for(50ms);
    CHECK(pool.post([] {}));
    CHECK(pool.post([] {}));
    CHECK_FALSE(pool.post([] {}));  // two queued: full
    {
        std::lock_guard lock(gate.mu);
        gate.arrived = 2;
    }
    gate.cv.notify_all();
    pool.stop();
    CHECK_FALSE(pool.post([] {}));
}
