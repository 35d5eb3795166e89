// Crash test: a child process appends under fsync=always from several threads
// and reports every acknowledged record; the parent kills it with SIGKILL at a
// random moment, reopens the store and checks the recovery invariants:
//   * every acknowledged record is present with its payload,
//   * no record appears twice,
//   * offsets are dense from 0 in every topic,
//   * every index entry points at a whole, valid record of its topic.
// The check runs on a copy of the folder; the next round's child recovers
// the crashed store itself and appends more to it.
//
// Usage: store_crash_test [--rounds N] [--seed S] [--dir PATH]
//
// The child is a fresh exec of this binary (--child DIR ROUND FD): a bare
// fork() of a process that has used RocksDB inherits its background threads'
// locks and can deadlock.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

using namespace litemcp::store;

extern char** environ;

namespace {

constexpr int topics = 6;
constexpr int threads = 4;

store_options crash_options(const std::string& dir) {
    store_options o;
    o.dir = dir;
    o.fsync = durability{fsync_mode::always, {}};
    o.segment_bytes = 256 * 1024;  // many segment rolls
    o.checkpoint_interval = std::chrono::milliseconds(30);  // checkpoints race the kill
    o.tail_cache_bytes = 64 * 1024;
    o.index_write_buffer_bytes = 256 * 1024;  // RocksDB flushes on its own too
    topic_policy p;
    p.max_records = 100'000'000;
    p.max_bytes = 1ull << 40;
    p.max_record_size = 4096;
    o.parents.push_back({"crash", p});
    return o;
}

std::string topic_name(int k) { return "crash/k" + std::to_string(k); }

[[noreturn]] void child_main(const std::string& dir, int round, int out_fd) {
    auto s = store::open(crash_options(dir));
    if (!s) {
        std::fprintf(stderr, "child: open failed: %s\n", s.error().message.c_str());
        ::_exit(3);
    }
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(round * 100 + t));
            for (std::uint64_t seq = 0;; ++seq) {
                const int k = static_cast<int>(rng() % topics);
                std::string payload = "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" + std::to_string(seq) + "-";
                payload.append(rng() % 2000, static_cast<char>('a' + seq % 26));
                auto a = (*s)->append(topic_name(k), payload);
                if (!a) {
                    std::fprintf(stderr, "child: append failed: %s\n", a.error().message.c_str());
                    ::_exit(4);
                }
                // One write() per line: atomic on a pipe (< PIPE_BUF).
                char line[256];
                int n = std::snprintf(line, sizeof line, "%d %llu %zu %.60s\n", k,
                                      static_cast<unsigned long long>(a->offset), payload.size(), payload.c_str());
                if (::write(out_fd, line, static_cast<std::size_t>(n)) != n) ::_exit(5);
            }
        });
    for (auto& t : ts) t.join();
    ::_exit(0);
}

struct acked_record {
    std::size_t size;
    std::string prefix;  // first 60 bytes of the payload
};

int verify(const std::string& dir, const std::map<std::pair<int, std::uint64_t>, acked_record>& acked,
           std::uint64_t& total_records) {
    auto s = store::open(crash_options(dir));
    if (!s) {
        std::fprintf(stderr, "verify: reopen failed: %s\n", s.error().message.c_str());
        return 1;
    }
    int failures = 0;
    std::set<std::string> seen;
    total_records = 0;
    for (int k = 0; k < topics; ++k) {
        auto info = (*s)->topic(topic_name(k));
        if (!info) continue;  // nothing acknowledged there yet
        std::uint64_t expect = 0;
        while (expect < info->end_offset) {
            auto r = (*s)->read(topic_name(k), expect, {4096, 8u << 20});
            if (!r) {
                std::fprintf(stderr, "verify: read %s@%llu: %s\n", topic_name(k).c_str(),
                             static_cast<unsigned long long>(expect), r.error().message.c_str());
                return failures + 1;
            }
            if (r->outcome != read_outcome::ok || r->records.empty()) {
                std::fprintf(stderr, "verify: %s@%llu unreadable\n", topic_name(k).c_str(),
                             static_cast<unsigned long long>(expect));
                return failures + 1;
            }
            for (auto& rec : r->records) {
                if (rec.offset != expect) {
                    std::fprintf(stderr, "verify: offsets not dense in %s: %llu after %llu\n", topic_name(k).c_str(),
                                 static_cast<unsigned long long>(rec.offset), static_cast<unsigned long long>(expect));
                    ++failures;
                }
                // "r<round>-t<thread>-<seq>-..." identifies the append uniquely.
                std::size_t dash = 0;
                for (int i = 0; i < 3 && dash != std::string::npos; ++i) dash = rec.payload.find('-', dash + (i ? 1 : 0));
                const auto key = rec.payload.substr(0, dash);
                if (!seen.insert(key).second) {
                    std::fprintf(stderr, "verify: record %s appears twice\n", key.c_str());
                    ++failures;
                }
                auto a = acked.find({k, rec.offset});
                if (a != acked.end() && (a->second.size != rec.payload.size() ||
                                         rec.payload.compare(0, a->second.prefix.size(), a->second.prefix) != 0)) {
                    std::fprintf(stderr, "verify: %s@%llu holds another record than acknowledged\n",
                                 topic_name(k).c_str(), static_cast<unsigned long long>(rec.offset));
                    ++failures;
                }
                expect = rec.offset + 1;
                ++total_records;
            }
        }
    }
    for (auto& [key, rec] : acked) {
        auto info = (*s)->topic(topic_name(key.first));
        if (!info || key.second >= info->end_offset) {
            std::fprintf(stderr, "verify: acknowledged %s@%llu is missing\n", topic_name(key.first).c_str(),
                         static_cast<unsigned long long>(key.second));
            ++failures;
        }
    }
    return failures;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && !std::strcmp(argv[1], "--child")) child_main(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
    int rounds = 20;
    unsigned seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::string dir;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seed")) seed = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
        else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    bool own_dir = dir.empty();
    if (own_dir) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "litemcp-crash-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) return 2;
        dir = tmpl;
    }
    std::printf("crash test: %d rounds, seed %u, folder %s\n", rounds, seed, dir.c_str());
    std::mt19937 rng(seed);
    std::map<std::pair<int, std::uint64_t>, acked_record> acked;
    int passed = 0, failed = 0;
    for (int round = 1; round <= rounds; ++round) {
        int fds[2];
        if (::pipe(fds) != 0) return 2;
        std::fflush(nullptr);
        std::string round_arg = std::to_string(round), fd_arg = std::to_string(fds[1]);
        char self[] = "/proc/self/exe", child_flag[] = "--child";
        char* child_argv[] = {self, child_flag, dir.data(), round_arg.data(), fd_arg.data(), nullptr};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        pid_t pid = 0;
        if (::posix_spawn(&pid, self, &actions, nullptr, child_argv, environ) != 0) return 2;
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        const auto kill_after = std::chrono::milliseconds(100 + rng() % 400);
        // Keep draining the pipe until the kill, so the child never blocks on it.
        std::string buf;
        char chunk[65536];
        ssize_t n;
        // The kill's moment counts from the child's first acknowledgement, not
        // from its start: recovery (slow under sanitizers on a loaded machine)
        // must not eat the whole window, or a round tests nothing.
        for (const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
             buf.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up;) {
            pollfd p{fds[0], POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) {
                n = ::read(fds[0], chunk, sizeof chunk);
                if (n <= 0) break;
                buf.append(chunk, static_cast<std::size_t>(n));
            }
        }
        const auto deadline = std::chrono::steady_clock::now() + kill_after;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fds[0], POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
                n = ::read(fds[0], chunk, sizeof chunk);
                if (n <= 0) break;
                buf.append(chunk, static_cast<std::size_t>(n));
            }
        }
        ::kill(pid, SIGKILL);
        // Everything the child reported before it died was acknowledged.
        while ((n = ::read(fds[0], chunk, sizeof chunk)) > 0) buf.append(chunk, static_cast<std::size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        std::uint64_t round_acks = 0;
        int reused_offsets = 0;
        std::size_t start = 0;
        for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
            int k = 0;
            unsigned long long off = 0;
            std::size_t size = 0;
            char prefix[64] = {0};
            if (std::sscanf(buf.c_str() + start, "%d %llu %zu %60s", &k, &off, &size, prefix) == 4) {
                auto [it, fresh] = acked.try_emplace({k, off}, acked_record{size, prefix});
                if (!fresh) {
                    // An offset acknowledged twice: an earlier acknowledged record was overwritten.
                    std::printf("round %d: %s@%llu was acknowledged for two different records\n", round,
                                topic_name(k).c_str(), off);
                    ++reused_offsets;
                }
                ++round_acks;
            }
        }
        if (WIFEXITED(status)) {
            std::printf("round %d: the child exited by itself (status %d) before the kill\n", round, WEXITSTATUS(status));
            ++failed;
            continue;
        }
        // Verify a copy, so the next child recovers the crashed store itself and
        // appends straight after its own recovery (where stale state would bite).
        const std::string copy = dir + ".verify";
        std::filesystem::remove_all(copy);
        std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
        std::uint64_t records = 0;
        int failures = verify(copy, acked, records) + reused_offsets;
        std::filesystem::remove_all(copy);
        if (round_acks == 0) {
            std::printf("round %d: the child acknowledged nothing before the kill\n", round);
            ++failures;
        }
        std::printf("round %d: killed %lld ms after the first acknowledgement, %llu acknowledged this round, %zu in all, %llu records in the store: %s\n",
                    round, static_cast<long long>(kill_after.count()), static_cast<unsigned long long>(round_acks),
                    acked.size(), static_cast<unsigned long long>(records), failures ? "FAILED" : "ok");
        if (failures) ++failed;
        else ++passed;
    }
    if (own_dir) std::filesystem::remove_all(dir);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
