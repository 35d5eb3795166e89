// store_bench's measuring helpers and the stores its sections open.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "store_bench.h"

namespace store_bench {

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


// Store options shared by every section: one parent "bench" with the default
// policy except a 1 h idle TTL (nothing is reclaimed during a run) and room
// for 10 M lite topics.
ls::store_options make_options(const fs::path& dir, std::string_view fsync, const std::vector<std::string>& nats) {
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

}  // namespace store_bench
