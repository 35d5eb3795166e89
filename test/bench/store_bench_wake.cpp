// store_bench, section 3: wake latency and idle cost of many bound consumers.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store_bench.h"

namespace store_bench {

void section_wake(const config& cfg, results& out) {
    const std::size_t n = cfg.consumers;
    const std::size_t stride = std::max<std::size_t>(1, n / cfg.wakes);
    std::printf("# wake: %zu consumers each bound to its own topic; %zu single appends, one at a time\n", n,
                cfg.wakes);
    const fs::path dir = fresh_subdir(cfg, "wake");

    // What the wake callbacks and the benchmark thread share. Declared before
    // the store so it outlives the callbacks the store holds.
    struct shared {
        std::mutex mu;
        std::condition_variable cv;
        std::size_t target = SIZE_MAX;  // consumer whose wake is awaited
        clock_type::time_point t0;      // when its append was issued
        std::optional<double> latency_us;
        bool appended = false;  // the append's callback ran
        std::string error;
        std::uint64_t stray_wakes = 0;  // wakes of consumers nobody appended for
    } sh;

    {
        auto st = open_store(make_options(dir, "interval:100"));

        const auto r0 = clock_type::now();
        for (std::size_t i = 0; i < n; ++i) {
            const std::string consumer = "c" + std::to_string(i);
            check(st->add_consumer(consumer,
                                   [&sh, i] {
                                       // Runs on the appender thread: take the time first.
                                       const auto now = clock_type::now();
                                       {
                                           std::lock_guard lock(sh.mu);
                                           if (i != sh.target || sh.latency_us) {
                                               ++sh.stray_wakes;
                                               return;
                                           }
                                           sh.latency_us =
                                               std::chrono::duration<double, std::micro>(now - sh.t0).count();
                                       }
                                       sh.cv.notify_one();
                                   }),
                  "add_consumer(" + consumer + ")");
            check(st->bind(consumer, "bench/w" + std::to_string(i)), "bind(" + consumer + ")");
        }
        const double reg_s = seconds_since(r0);
        const auto s0 = st->stats();
        std::printf("wake register+bind %zu consumers: %.2f s (%" PRIu64 " consumers, %" PRIu64
                    " bindings), RSS %.1f MiB\n",
                    n, reg_s, s0.consumers, s0.bindings, mib(proc_status_bytes("VmRSS")));

        std::vector<double> us;
        us.reserve(cfg.wakes);
        const std::string payload(256, 'w');
        for (std::size_t k = 0; k < cfg.wakes; ++k) {
            const std::size_t i = std::min(n - 1, k * stride + stride / 2);  // spread over the range
            const std::string consumer = "c" + std::to_string(i);
            const std::string topic = "bench/w" + std::to_string(i);
            {
                std::lock_guard lock(sh.mu);
                sh.target = i;
                sh.latency_us.reset();
                sh.appended = false;
                sh.t0 = clock_type::now();
            }
            st->append_async(topic, payload, 0, [&sh, topic](ls::result<ls::append_ack> r) {
                {
                    std::lock_guard lock(sh.mu);
                    sh.appended = true;
                    if (!r && sh.error.empty()) sh.error = "append_async to " + topic + " failed: " + describe(r.error());
                }
                sh.cv.notify_one();
            });
            // Wait for both the wake and the append's completion (or its
            // error), so the next append starts on an idle appender.
            std::unique_lock lock(sh.mu);
            if (!sh.cv.wait_for(lock, std::chrono::seconds(10),
                                [&] { return !sh.error.empty() || (sh.appended && sh.latency_us); })) {
                throw bench_error("no wake for " + consumer + " within 10 s of an append to " + topic +
                                  (sh.appended ? " (the append completed)" : " (the append did not complete)"));
            }
            if (!sh.error.empty()) throw bench_error(sh.error);
            us.push_back(*sh.latency_us);
            sh.target = SIZE_MAX;
            lock.unlock();
            // Drain, which re-arms the consumer's wake.
            const auto ready = st->take_ready(consumer);
            if (ready.size() != 1 || ready[0] != topic)
                throw bench_error("take_ready(" + consumer + ") returned " + std::to_string(ready.size()) +
                                  " topics instead of " + topic);
        }
        std::uint64_t stray = 0;
        {
            std::lock_guard lock(sh.mu);
            stray = sh.stray_wakes;
        }
        const double p50 = percentile(us, 0.50);
        const double p99 = percentile(us, 0.99);  // us is sorted now: back() is the maximum
        std::printf("wake latency (%zu appends, append_async to wake callback): p50 %.1f us p99 %.1f us max %.1f us"
                    " (%" PRIu64 " stray wakes)\n",
                    us.size(), p50, p99, us.empty() ? 0.0 : us.back(), stray);
        out.wake_p99_us = p99;
        if (stray != 0) throw bench_error(std::to_string(stray) + " wake callbacks ran for consumers not appended to");

        // Idle: everything bound, nothing appended. Only the store's own
        // threads run (fsync timer, checkpoints, reclaim passes).
        const double cpu0 = cpu_seconds();
        const auto w0 = clock_type::now();
        std::this_thread::sleep_for(cfg.idle_time);
        const double cpu = cpu_seconds() - cpu0;
        const double wall = seconds_since(w0);
        const double pct = 100.0 * cpu / wall;
        std::printf("wake idle %zu bound consumers for %.1f s: CPU %.3f s = %.2f%% of one core\n", n, wall, cpu, pct);
        out.idle_cpu_percent = pct;
    }
    remove_subdir(dir);
}

}  // namespace store_bench
