// store_bench, section 2: many lite topics -- creation, footprint, read latency.
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

std::string s_topic(std::uint64_t i) { return "bench/s" + std::to_string(i); }

// `count` single-record reads from offset 0 of random topics among `topics`;
// prints p50/p99 of the time each store::read took.
void measure_reads(ls::store& st, std::uint64_t topics, std::size_t count, std::size_t payload_size,
                   std::string_view label, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> pick(0, topics - 1);
    std::vector<double> us;
    us.reserve(count);
    for (std::size_t n = 0; n < count; ++n) {
        const std::string topic = s_topic(pick(rng));  // built outside the timed part
        const auto t0 = clock_type::now();
        auto r = st.read(topic, 0, ls::read_limits{1, 1u << 20});
        const auto t1 = clock_type::now();
        const auto batch = check(std::move(r), "read(" + topic + ", 0)");
        if (batch.outcome != ls::read_outcome::ok || batch.records.size() != 1 ||
            batch.records[0].payload.size() != payload_size)
            throw bench_error("read(" + topic + ", 0) returned " + std::to_string(batch.records.size()) +
                              " records instead of one of " + std::to_string(payload_size) + " bytes");
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    const double p50 = percentile(us, 0.50);
    const double p99 = percentile(us, 0.99);
    std::printf("read %s (%zu random topics): p50 %.1f us p99 %.1f us\n", std::string(label).c_str(), count, p50,
                p99);
}

void section_topics(const config& cfg, results& out) {
    constexpr std::size_t payload_size = 256;
    std::printf("# topics: %" PRIu64 " lite topics of one %zu B record, %u appender threads, fsync interval:100\n",
                cfg.topics, payload_size, cfg.topic_threads);
    const fs::path dir = fresh_subdir(cfg, "topics");
    {
        auto st = open_store(make_options(dir, "interval:100"));
        const std::string payload(payload_size, 's');
        run_state rs;
        std::atomic<std::uint64_t> next{0};
        std::vector<std::thread> workers;
        const auto t0 = clock_type::now();
        for (unsigned t = 0; t < cfg.topic_threads; ++t) {
            workers.emplace_back([&] {
                for (;;) {
                    const std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
                    if (i >= cfg.topics || rs.stop.load(std::memory_order_relaxed)) break;
                    const std::string topic = s_topic(i);
                    auto r = st->append(topic, payload);
                    if (!r) {
                        rs.fail("append to " + topic + " failed: " + describe(r.error()));
                        break;
                    }
                    if (r->offset != 0) {
                        rs.fail("first append to " + topic + " got offset " + std::to_string(r->offset));
                        break;
                    }
                }
            });
        }
        for (auto& w : workers) w.join();
        const double elapsed = seconds_since(t0);
        rs.rethrow();
        const std::uint64_t rss = proc_status_bytes("VmRSS");
        std::printf("topics create %" PRIu64 ": %.2f s %.0f topics/s\n", cfg.topics, elapsed,
                    static_cast<double>(cfg.topics) / elapsed);
        // The maintenance thread checkpoints every 5 s, so most of the index is
        // already flushed here; the explicit checkpoint below flushes the rest.
        std::printf("topics disk after create: %.1f MiB\n", mib(folder_bytes(dir)));
        std::printf("topics RSS after create: %.1f MiB (peak %.1f MiB)\n", mib(rss),
                    mib(proc_status_bytes("VmHWM")));
        out.topics_created = cfg.topics;
        out.topics_rss_mib = mib(rss);

        measure_reads(*st, cfg.topics, cfg.reads, payload_size, "offset 0 after create", 1);

        const auto c0 = clock_type::now();
        check(st->checkpoint(), "checkpoint");
        std::printf("topics checkpoint: %.2f s\n", seconds_since(c0));
        const auto s = st->stats();
        std::printf("topics disk after checkpoint: %.1f MiB (log %.1f MiB, index SST %.1f MiB)\n",
                    mib(folder_bytes(dir)), mib(s.log_bytes), mib(s.index_disk_bytes));
        measure_reads(*st, cfg.topics, cfg.reads, payload_size, "offset 0 after checkpoint", 2);

        drop_page_cache(dir);
        measure_reads(*st, cfg.topics, cfg.cold_reads, payload_size, "offset 0 after checkpoint, page cache dropped",
                      3);
        std::printf("topics RSS after reads: %.1f MiB\n", mib(proc_status_bytes("VmRSS")));
    }
    remove_subdir(dir);
}

}  // namespace store_bench
