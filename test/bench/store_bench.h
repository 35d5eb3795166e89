// What the parts of store_bench share (store_bench.cpp says what it
// measures): errors, measuring helpers, the configuration, the figures the
// summary compares, the store each section opens, and the sections.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/store.h"

namespace store_bench {

namespace fs = std::filesystem;
namespace ls = litemcp::store;
using clock_type = std::chrono::steady_clock;

// ---- errors -----------------------------------------------------------------

// Thrown on any failure; main() prints it, cleans up and exits with status 1.
// Worker threads never throw: they record the error in a run_state and stop.
struct bench_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline std::string describe(const ls::error& e) {
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

// ---- measuring helpers (store_bench_support.cpp) ------------------------------

double seconds_since(clock_type::time_point t0);
// Sum of the sizes of the regular files under dir, in bytes.
std::uint64_t folder_bytes(const fs::path& dir);
// A "Vm...:" field of /proc/self/status, in bytes (0 if absent).
std::uint64_t proc_status_bytes(std::string_view field);
double mib(std::uint64_t bytes);
// Process CPU time (user + system, every thread) in seconds.
double cpu_seconds();
// Nearest-rank percentile (p in (0, 1]) of unsorted samples; sorts them.
double percentile(std::vector<double>& samples, double p);
// Asks the kernel to drop the cached pages of every file under dir, so the
// next reads go to the disk (no privilege needed; pages are clean after a
// checkpoint).
void drop_page_cache(const fs::path& dir);

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
// for 10 M lite topics; with nats, the JetStream engine on those servers.
ls::store_options make_options(const fs::path& dir, std::string_view fsync, const std::vector<std::string>& nats = {});
// A fresh subfolder of the work folder for one store; refuses to reuse one
// that holds something (with --dir it may be the user's data).
fs::path fresh_subdir(const config& cfg, const std::string& name);
void remove_subdir(const fs::path& p);
std::unique_ptr<ls::store> open_store(const ls::store_options& o);

// ---- the sections (store_bench_append.cpp, _topics.cpp, _wake.cpp) ----------

void section_append(const config& cfg, results& out);
void section_topics(const config& cfg, results& out);
void section_wake(const config& cfg, results& out);

}  // namespace store_bench
