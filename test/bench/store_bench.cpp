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
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

#include "store_bench.h"

using namespace store_bench;

namespace {

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
