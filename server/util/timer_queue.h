// One thread that runs functions at their deadlines, for the few timers of
// the server layer that are not tied to a socket (promoting a slow request
// to a task). Cheap to arm: a heap entry; nothing polls.
//
// Threading: at() from any thread; the functions run on the queue's thread,
// one at a time, so they must not block for long. Lifetime: the destructor
// drops what has not run yet and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>
#include <pthread.h>

namespace litemcp::server {

class timer_queue {
public:
    using clock = std::chrono::steady_clock;

    timer_queue()
        : thread_([this] {
              pthread_setname_np(pthread_self(), "mcp-timers");
              run();
          }) {}
    ~timer_queue() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    timer_queue(const timer_queue&) = delete;
    timer_queue& operator=(const timer_queue&) = delete;

    void at(clock::time_point when, std::function<void()> f) {
        {
            std::lock_guard lock(mu_);
            heap_.push(entry{when, seq_++, std::move(f)});
        }
        cv_.notify_all();
    }

private:
    struct entry {
        clock::time_point when;
        std::uint64_t seq;
        std::function<void()> f;
        bool operator>(const entry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
    };

    void run() {
        std::unique_lock lock(mu_);
        while (!stopping_) {
            if (heap_.empty()) {
                cv_.wait(lock);
                continue;
            }
            // A copy: wait_until holds its argument by reference while the
            // lock is released, and a push may move the heap's storage.
            const auto next = heap_.top().when;
            if (next > clock::now()) {
                cv_.wait_until(lock, next);
                continue;
            }
            auto f = std::move(const_cast<entry&>(heap_.top()).f);
            heap_.pop();
            lock.unlock();
            f();
            lock.lock();
        }
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
    std::uint64_t seq_ = 0;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

}  // namespace litemcp::server
