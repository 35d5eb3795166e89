// store_bench, section 1: append throughput (and --nats: appends to JetStream).
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

// One case: `threads` threads, each appending `payload_size` bytes
// synchronously to its own topic bench/t<i> until `duration` has passed.
append_figure run_append_case(const config& cfg, std::string_view mode_text, std::string_view mode_label,
                              std::size_t payload_size, unsigned threads, std::chrono::milliseconds duration) {
    const std::string case_name =
        "append-" + std::string(mode_label) + "-" + std::to_string(payload_size) + "-" + std::to_string(threads);
    const fs::path dir = fresh_subdir(cfg, case_name);
    append_figure fig{std::string(mode_label), payload_size, threads, 0};
    {
        auto st = open_store(make_options(dir, mode_text));
        const std::string payload(payload_size, 'p');
        run_state rs;
        // One counter per thread, each on its own cache line.
        struct alignas(64) counter {
            std::uint64_t n = 0;
        };
        std::vector<counter> counts(threads);
        std::latch ready(threads + 1);  // everyone starts at once
        std::vector<std::thread> workers;
        workers.reserve(threads);
        for (unsigned i = 0; i < threads; ++i) {
            workers.emplace_back([&, i] {
                const std::string topic = "bench/t" + std::to_string(i);
                ready.arrive_and_wait();
                while (!rs.stop.load(std::memory_order_relaxed)) {
                    auto r = st->append(topic, payload);
                    if (!r) {
                        rs.fail("append to " + topic + " failed: " + describe(r.error()));
                        break;
                    }
                    ++counts[i].n;
                }
            });
        }
        ready.arrive_and_wait();
        const auto t0 = clock_type::now();
        std::this_thread::sleep_for(duration);
        rs.stop.store(true);
        // Appends in flight when the time is up still complete and count; the
        // clock stops when the last of them has returned.
        for (auto& w : workers) w.join();
        const double elapsed = seconds_since(t0);
        rs.rethrow();

        std::uint64_t total = 0;
        for (auto& c : counts) total += c.n;
        const auto s = st->stats();
        fig.per_sec = static_cast<double>(total) / elapsed;
        const double mb_per_sec = fig.per_sec * static_cast<double>(payload_size) / 1e6;
        const double per_batch =
            s.append_batches ? static_cast<double>(s.appends) / static_cast<double>(s.append_batches) : 0;
        const double fsync_us =
            s.fsyncs ? static_cast<double>(s.fsync_micros) / static_cast<double>(s.fsyncs) : 0;
        std::printf("append %s %s %u appender%s: %.0f appends/s %.1f MB/s (%.1f records/batch, %" PRIu64
                    " fsyncs, %.0f us/fsync)\n",
                    std::string(mode_label).c_str(), payload_size == 4096 ? "4KiB" : "256B", threads,
                    threads == 1 ? "" : "s", fig.per_sec, mb_per_sec, per_batch, s.fsyncs, fsync_us);
    }  // the store closes (drains, syncs, checkpoints) before its folder goes
    remove_subdir(dir);
    return fig;
}

// One case: one producer thread pipelining append_async calls (at most
// `in_flight` outstanding) over 64 topics -- how the server layer appends
// without parking a thread per append. threads == 0 marks it in the results.
append_figure run_async_case(const config& cfg, std::string_view mode_text, std::string_view mode_label,
                             std::size_t payload_size, std::size_t in_flight, std::chrono::milliseconds duration) {
    const std::string case_name = "append-async-" + std::string(mode_label) + "-" + std::to_string(payload_size);
    const fs::path dir = fresh_subdir(cfg, case_name);
    append_figure fig{std::string(mode_label), payload_size, 0, 0};
    {
        auto st = open_store(make_options(dir, mode_text, cfg.nats));
        const std::string payload(payload_size, 'p');
        std::vector<std::string> topics;
        for (int i = 0; i < 64; ++i) topics.push_back("bench/a" + std::to_string(i));
        std::atomic<std::uint64_t> outstanding{0}, done{0}, failed{0};
        const auto t0 = clock_type::now();
        const auto until = t0 + duration;
        std::uint64_t issued = 0;
        while (clock_type::now() < until) {
            for (int k = 0; k < 256; ++k) {
                while (outstanding.load(std::memory_order_acquire) >= in_flight) std::this_thread::yield();
                outstanding.fetch_add(1, std::memory_order_relaxed);
                st->append_async(topics[issued++ % topics.size()], payload, 0, [&](ls::result<ls::append_ack> r) {
                    if (!r) failed.fetch_add(1);
                    done.fetch_add(1, std::memory_order_relaxed);
                    outstanding.fetch_sub(1, std::memory_order_release);
                });
            }
        }
        while (outstanding.load() > 0) std::this_thread::yield();
        const double elapsed = seconds_since(t0);
        if (failed) throw bench_error(std::to_string(failed.load()) + " async appends failed");
        const auto s = st->stats();
        fig.per_sec = static_cast<double>(done.load()) / elapsed;
        const double per_batch =
            s.append_batches ? static_cast<double>(s.appends) / static_cast<double>(s.append_batches) : 0;
        std::printf("append %s %s async pipelined (1 producer, %zu in flight): %.0f appends/s %.1f MB/s (%.1f "
                    "records/batch, %" PRIu64 " fsyncs)\n",
                    std::string(mode_label).c_str(), payload_size == 4096 ? "4KiB" : "256B", in_flight, fig.per_sec,
                    fig.per_sec * static_cast<double>(payload_size) / 1e6, per_batch, s.fsyncs);
    }
    remove_subdir(dir);
    return fig;
}

void section_append(const config& cfg, results& out) {
    if (!cfg.nats.empty()) {
        std::printf("# append: the JetStream engine on %zu NATS server(s), %lld ms per case\n", cfg.nats.size(),
                    static_cast<long long>(cfg.append_case_time.count()));
        for (const std::size_t in_flight : {std::size_t{64}, std::size_t{1024}})
            out.appends.push_back(run_async_case(cfg, "interval:100", "jetstream", 256, in_flight, cfg.append_case_time));
        return;
    }
    std::printf("# append: synchronous appends, one lite topic per appender thread, %lld ms per case\n",
                static_cast<long long>(cfg.append_case_time.count()));
    struct mode {
        const char* text;
        const char* label;
    };
    for (const mode m : {mode{"interval:100", "interval"}, mode{"always", "always"}}) {
        for (const std::size_t size : {std::size_t{256}, std::size_t{4096}}) {
            for (const unsigned threads : {1u, 8u, 64u}) {
                const bool fsync_bound = std::string_view(m.label) == "always" && threads == 1;
                out.appends.push_back(run_append_case(cfg, m.text, m.label, size, threads,
                                                      fsync_bound ? cfg.always_single_time : cfg.append_case_time));
            }
            out.appends.push_back(run_async_case(cfg, m.text, m.label, size, 4096, cfg.append_case_time));
        }
    }
}

}  // namespace store_bench
