// store_bench: throughput, footprint and wake-latency figures of the embedded
// lite-topic store (store/store.h), printed one per line with their units and
// compared with the project's targets in a summary block at the end.
//
//   store_bench [--quick] [--dir PATH] [--only append|topics|wake]
//   store_bench [--quick] --nats URL[,URL...]
//
// Sections (each on its own fresh store in a subfolder of the work folder):
//   append  appends/s and MB/s, 256 B and 4 KiB payloads, 1/8/64 appender
//           threads each appending synchronously to its own lite topic, in
//           fsync modes interval:100 and always.
//   topics  creation of many lite topics (one record each): time, disk size,
//           RSS; then latency of single-record reads from offset 0 of random
//           topics, while the index is still in the memtable, after a
//           checkpoint, and after dropping the page cache of the store files.
//   wake    many consumers each bound to its own topic; latency from append to
//           wake callback for 1% of them, one at a time; then the process CPU
//           used while everything stays bound and idle.
//
// --nats measures the JetStream engine instead, on the NATS servers given
// (streams with 3 copies when 3 or more URLs are given, 1 otherwise, under a
// fresh prefix): the pipelined append case only, the ceiling of appends a
// cluster of litemcp servers can make through that NATS cluster.
//
// --quick shrinks every size so the whole run takes well under 30 s (a smoke
// run); its figures are not comparable with the targets. Without --dir the
// work folder is a fresh one under the temp directory, removed at the end;
// with --dir the folder is kept, but the subfolders the benchmark creates are
// removed as soon as their section (or append case) is done, to bound the
// disk space used.
//
// Errors of the store end the run with a message and exit status 1.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "store/store.h"

namespace {

namespace fs = std::filesystem;
namespace ls = litemcp::store;
using clock_type = std::chrono::steady_clock;

// ---- errors -----------------------------------------------------------------

// Thrown on any failure; main() prints it, cleans up and exits with status 1.
// Worker threads never throw: they record the error in a run_state and stop.
struct bench_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string describe(const ls::error& e) {
    return std::string(ls::to_string(e.code)) + ": " + e.message;
}

// Unwraps a result<T>, or throws with what failed.
template <class T>
T check(ls::result<T> r, std::string_view what) {
    if (!r) throw bench_error(std::string(what) + " failed: " + describe(r.error()));
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// Shared by the worker threads of one run: the stop flag and the first error.
struct run_state {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::string first_error;

    void fail(std::string message) {
        {
            std::lock_guard lock(mu);
            if (first_error.empty()) first_error = std::move(message);
        }
        stop.store(true);
    }
    // Called after the workers were joined.
    void rethrow() {
        std::lock_guard lock(mu);
        if (!first_error.empty()) throw bench_error(first_error);
    }
};

// ---- measuring helpers --------------------------------------------------------

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Sum of the sizes of the regular files under dir, in bytes.
std::uint64_t folder_bytes(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code fec;
        if (it->is_regular_file(fec)) {
            const auto n = it->file_size(fec);
            if (!fec) total += n;
        }
    }
    if (ec) throw bench_error("walking " + dir.string() + ": " + ec.message());
    return total;
}

// A "Vm...:" field of /proc/self/status, in bytes (0 if absent).
std::uint64_t proc_status_bytes(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
            return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;  // kB
    }
    return 0;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// Process CPU time (user + system, every thread) in seconds.
double cpu_seconds() {
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) != 0) throw bench_error(std::string("getrusage: ") + std::strerror(errno));
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// Nearest-rank percentile (p in (0, 1]) of unsorted samples; sorts them.
double percentile(std::vector<double>& samples, double p) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

// Asks the kernel to drop the cached pages of every file under dir, so the
// next reads go to the disk. Needs no privilege; pages are clean after a
// checkpoint (the log is fsynced and the index flushed).
void drop_page_cache(const fs::path& dir) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code fec;
        if (!it->is_regular_file(fec)) continue;
        const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;  // RocksDB may have deleted it meanwhile
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// ---- configuration and results ---------------------------------------------

struct config {
    bool quick = false;
    fs::path dir;
    bool remove_root = false;  // the work folder was created by us
    std::string only;          // empty: every section
    std::vector<std::string> nats;  // the JetStream engine's servers (--nats)

    // append
    std::chrono::milliseconds append_case_time{2000};
    std::chrono::milliseconds always_single_time{500};  // `always`, 1 appender: fsync-bound
    // topics
    std::uint64_t topics = 1'000'000;
    unsigned topic_threads = 64;
    std::size_t reads = 100'000;
    std::size_t cold_reads = 10'000;  // each may go to the disk
    // wake
    std::size_t consumers = 100'000;
    std::size_t wakes = 1'000;
    std::chrono::milliseconds idle_time{10'000};

    void make_quick() {
        quick = true;
        append_case_time = std::chrono::milliseconds(250);
        always_single_time = std::chrono::milliseconds(200);
        topics = 20'000;
        reads = 10'000;
        cold_reads = 1'000;
        consumers = 10'000;
        wakes = 100;
        idle_time = std::chrono::milliseconds(2000);
    }
};

struct append_figure {
    std::string mode;
    std::size_t payload = 0;
    unsigned threads = 0;
    double per_sec = 0;
};

// Figures the summary compares with the targets; empty when not measured.
struct results {
    std::vector<append_figure> appends;
    std::optional<std::uint64_t> topics_created;
    std::optional<double> topics_rss_mib;
    std::optional<double> wake_p99_us;
    std::optional<double> idle_cpu_percent;
};

// Store options shared by every section: one parent "bench" with the default
// policy except a 1 h idle TTL (nothing is reclaimed during a run) and room
// for 10 M lite topics.
ls::store_options make_options(const fs::path& dir, std::string_view fsync, const std::vector<std::string>& nats = {}) {
    ls::store_options o;
    o.dir = dir.string();
    o.fsync = check(ls::durability::parse(fsync), "durability::parse(" + std::string(fsync) + ")");
    ls::topic_policy policy;
    policy.idle_ttl = std::chrono::hours(1);
    policy.max_lite_topics = 10'000'000;
    o.parents.push_back({"bench", policy});
    if (!nats.empty()) {
        o.nats.servers = nats;
        o.nats.prefix = "storebench" + std::to_string(std::random_device{}() % 1'000'000'000);
        o.nats.replicas = nats.size() >= 3 ? 3 : 1;
    }
    return o;
}

// A fresh subfolder of the work folder for one store; refuses to reuse one
// that holds something (with --dir it may be the user's data).
fs::path fresh_subdir(const config& cfg, const std::string& name) {
    const fs::path p = cfg.dir / name;
    std::error_code ec;
    if (fs::exists(p, ec) && !fs::is_empty(p, ec))
        throw bench_error(p.string() + " already exists and is not empty; remove it or choose another --dir");
    fs::create_directories(p, ec);
    if (ec) throw bench_error("create " + p.string() + ": " + ec.message());
    return p;
}

void remove_subdir(const fs::path& p) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) std::fprintf(stderr, "store_bench: warning: could not remove %s: %s\n", p.c_str(), ec.message().c_str());
}

std::unique_ptr<ls::store> open_store(const ls::store_options& o) {
    return check(ls::store::open(o), "store::open(" + o.dir + ")");
}

// ---- section 1: append throughput ---------------------------------------------

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

// ---- section 2: many lite topics --------------------------------------------

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

// ---- section 3: wake latency and idle cost ----------------------------------

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

// ---- summary ------------------------------------------------------------------

void print_summary(const config& cfg, const results& r) {
    std::printf("\n# summary%s\n", cfg.quick ? " (--quick: reduced sizes, not comparable with the targets)" : "");
    auto line = [](const char* target, const std::string& measured, std::optional<bool> met) {
        std::printf("  %-48s %-36s %s\n", target, measured.c_str(), !met ? "not run" : *met ? "met" : "MISSED");
    };
    char buf[128];

    // Best of the 256 B interval cases: group commit should shine with many appenders.
    std::optional<append_figure> best;
    std::optional<append_figure> always64;
    for (const auto& f : r.appends) {
        if (f.mode == "interval" && f.payload == 256 && (!best || f.per_sec > best->per_sec)) best = f;
        if (f.mode == "always" && f.payload == 256 && f.threads == 64) always64 = f;
    }
    if (best) {
        if (best->threads)
            std::snprintf(buf, sizeof buf, "%.0f appends/s (%u appenders)", best->per_sec, best->threads);
        else
            std::snprintf(buf, sizeof buf, "%.0f appends/s (async pipelined)", best->per_sec);
        line(">= 200000 appends/s, 256 B, interval", buf, best->per_sec >= 200'000);
    } else {
        line(">= 200000 appends/s, 256 B, interval", "-", std::nullopt);
    }
    if (always64) {
        std::snprintf(buf, sizeof buf, "%.0f appends/s", always64->per_sec);
        line(">= 20000 appends/s, 256 B, always, 64 appenders", buf, always64->per_sec >= 20'000);
    } else {
        line(">= 20000 appends/s, 256 B, always, 64 appenders", "-", std::nullopt);
    }
    if (r.topics_rss_mib) {
        std::snprintf(buf, sizeof buf, "%.1f MiB (%" PRIu64 " topics)", *r.topics_rss_mib, *r.topics_created);
        line("1000000 topics: RSS < 512 MiB", buf, *r.topics_rss_mib < 512.0);
    } else {
        line("1000000 topics: RSS < 512 MiB", "-", std::nullopt);
    }
    if (r.wake_p99_us) {
        std::snprintf(buf, sizeof buf, "%.1f us", *r.wake_p99_us);
        line("wake p99 < 200 us", buf, *r.wake_p99_us < 200.0);
    } else {
        line("wake p99 < 200 us", "-", std::nullopt);
    }
    if (r.idle_cpu_percent) {
        std::snprintf(buf, sizeof buf, "%.2f%% of one core", *r.idle_cpu_percent);
        line("idle CPU < 1% of a core", buf, *r.idle_cpu_percent < 1.0);
    } else {
        line("idle CPU < 1% of a core", "-", std::nullopt);
    }
}

// ---- main -------------------------------------------------------------------

[[noreturn]] void usage(int status) {
    std::fprintf(status ? stderr : stdout,
                 "usage: store_bench [--quick] [--dir PATH] [--only append|topics|wake]\n"
                 "  --quick         small sizes (smoke run, < 30 s)\n"
                 "  --dir PATH      work folder (kept; default: a fresh folder under the temp directory, removed)\n"
                 "  --only SECTION  run one section: append, topics or wake\n"
                 "  --nats URLS     the JetStream engine on these NATS servers (comma-separated): pipelined appends only\n");
    std::exit(status);
}

config parse_args(int argc, char** argv) {
    config cfg;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "store_bench: %s needs a value\n", argv[i]);
                usage(2);
            }
            return argv[++i];
        };
        if (a == "--quick") {
            quick = true;
        } else if (a == "--dir") {
            cfg.dir = std::string(value());
        } else if (a == "--nats") {
            std::string urls(value());
            for (std::size_t at = 0; at <= urls.size();) {
                const auto comma = std::min(urls.find(',', at), urls.size());
                if (comma > at) cfg.nats.push_back(urls.substr(at, comma - at));
                at = comma + 1;
            }
        } else if (a == "--only") {
            cfg.only = std::string(value());
            if (cfg.only != "append" && cfg.only != "topics" && cfg.only != "wake") {
                std::fprintf(stderr, "store_bench: unknown section '%s'\n", cfg.only.c_str());
                usage(2);
            }
        } else if (a == "--help" || a == "-h") {
            usage(0);
        } else {
            std::fprintf(stderr, "store_bench: unknown argument '%s'\n", argv[i]);
            usage(2);
        }
    }
    if (quick) cfg.make_quick();
    if (!cfg.nats.empty()) cfg.append_case_time = std::chrono::milliseconds(quick ? 1500 : 5000);
    return cfg;
}

}  // namespace

int main(int argc, char** argv) {
    config cfg = parse_args(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure shows as soon as it is measured

    std::error_code ec;
    if (cfg.dir.empty()) {
        std::string tmpl = (fs::temp_directory_path(ec) / "store_bench-XXXXXX").string();
        if (ec || !::mkdtemp(tmpl.data())) {
            std::fprintf(stderr, "store_bench: cannot create a work folder %s: %s\n", tmpl.c_str(),
                         ec ? ec.message().c_str() : std::strerror(errno));
            return 1;
        }
        cfg.dir = tmpl;
        cfg.remove_root = true;
    } else {
        fs::create_directories(cfg.dir, ec);
        if (ec) {
            std::fprintf(stderr, "store_bench: cannot create %s: %s\n", cfg.dir.c_str(), ec.message().c_str());
            return 1;
        }
    }
    std::printf("# store_bench%s in %s, %u hardware threads\n", cfg.quick ? " --quick" : "", cfg.dir.c_str(),
                std::thread::hardware_concurrency());

    results res;
    int status = 0;
    try {
        const auto t0 = clock_type::now();
        if (!cfg.nats.empty()) {
            section_append(cfg, res);  // the embedded engine's targets do not apply
        } else {
            if (cfg.only.empty() || cfg.only == "append") section_append(cfg, res);
            if (cfg.only.empty() || cfg.only == "topics") section_topics(cfg, res);
            if (cfg.only.empty() || cfg.only == "wake") section_wake(cfg, res);
            print_summary(cfg, res);
        }
        std::printf("# total %.1f s\n", seconds_since(t0));
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "store_bench: error: %s\n", e.what());
        status = 1;
    }
    if (cfg.remove_root) remove_subdir(cfg.dir);
    return status;
}
