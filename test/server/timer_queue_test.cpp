#include "server/util/timer_queue.h"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace litemcp::server;
using namespace std::chrono_literals;

TEST_CASE("functions run at their deadlines, earliest first") {
    timer_queue q;
    std::mutex mu;
    std::vector<int> order;
    const auto now = timer_queue::clock::now();
    for (int i : {3, 1, 2})
        q.at(now + i * 20ms, [&, i] {
            std::lock_guard lock(mu);
            order.push_back(i);
        });
    std::this_thread::sleep_for(150ms);
    std::lock_guard lock(mu);
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("arming from many threads while the queue waits loses nothing") {
    // The queue's thread sleeps until the earliest deadline while others
    // push (and grow the heap's storage) under it.
    timer_queue q;
    std::atomic<int> fired{0};
    q.at(timer_queue::clock::now() + 30ms, [&] { fired++; });
    std::vector<std::thread> armers;
    for (int t = 0; t < 4; ++t)
        armers.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i)
                q.at(timer_queue::clock::now() + std::chrono::microseconds((i * 7 + t) % 40'000), [&] { fired++; });
        });
    for (auto& a : armers) a.join();
    for (int waited = 0; fired < 2001 && waited < 200; ++waited) std::this_thread::sleep_for(10ms);
    CHECK(fired == 2001);
}

TEST_CASE("the destructor drops what has not run") {
    std::atomic<int> fired{0};
    {
        timer_queue q;
        q.at(timer_queue::clock::now() + 10s, [&] { fired++; });
    }
    CHECK(fired == 0);
}
