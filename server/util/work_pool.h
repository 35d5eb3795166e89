// A fixed set of threads running queued tasks in order of arrival.
//
// Threading: post() from any thread; tasks run on the pool's threads, which
// run under SCHED_BATCH and are woken one at a time (see post()). The
// queue is bounded: post() returns false when it is full, so callers can
// answer "busy" instead of growing memory. Lifetime: stop() (or the
// destructor) runs the tasks already queued, then joins; later posts are
// refused.
#pragma once

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <pthread.h>

namespace litemcp::server {

class work_pool {
public:
    work_pool(std::string name, unsigned threads, std::size_t max_queue) : name_(std::move(name)), max_queue_(max_queue) {
        for (unsigned i = 0; i < threads; ++i)
            threads_.emplace_back([this] {
                pthread_setname_np(pthread_self(), ("pool-" + name_).substr(0, 15).c_str());
                // SCHED_BATCH: a woken pool thread does not preempt the
                // thread that posted to it (an I/O thread amid a burst, the
                // store committing a batch); it runs when that one blocks or
                // its time slice ends.
                sched_param sp{};
                if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) != 0)
                    spdlog::debug("{}: the pool runs without SCHED_BATCH", name_);
                run();
            });
    }
    ~work_pool() { stop(); }

    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
    work_pool(const work_pool&) = delete;
    work_pool& operator=(const work_pool&) = delete;

    bool post(std::function<void()> task) {
        bool wake = false;
        {
            std::lock_guard lock(mu_);
            if (stopping_ || queue_.size() >= max_queue_) return false;
            queue_.push_back(std::move(task));
            // One thread on its way at a time: it takes a task and wakes the
            // next one if more are queued. A thread that finishes its task
            // takes the next itself, so a burst is not spread over threads
            // that each wake up, switch in and find the queue empty.
            wake = waiting_ > 0 && signals_ == 0;
            if (wake) ++signals_;
        }
        if (wake) cv_.notify_one();
        return true;
    }

    std::size_t queued() const {
        std::lock_guard lock(mu_);
        return queue_.size();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> task;
            bool wake = false;
            {
                std::unique_lock lock(mu_);
                while (!stopping_ && queue_.empty()) {
                    ++waiting_;
                    cv_.wait(lock);
                    --waiting_;
                    if (signals_ > 0) --signals_;
                }
                if (queue_.empty()) return;
                task = std::move(queue_.front());
                queue_.pop_front();
                if (!queue_.empty() && waiting_ > 0 && signals_ == 0) {
                    wake = true;
                    ++signals_;
                }
            }
            if (wake) cv_.notify_one();
            try {
                task();
            } catch (const std::exception& e) {
                // A task must not take the process down with it.
                spdlog::error("{}: a task failed: {}", name_, e.what());
            }
        }
    }

    std::string name_;
    std::size_t max_queue_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::size_t waiting_ = 0;  // threads waiting for a task
    std::size_t signals_ = 0;  // of them, woken and not yet running
    std::vector<std::thread> threads_;
};

}  // namespace litemcp::server
