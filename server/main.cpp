// litemcp: the server program. Every setting is a command-line flag; --help
// lists them with their defaults.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <thread>

#include "examples/everything_provider.h"
#include "server/mcp_server.h"

using namespace litemcp;

namespace {

struct flag {
    std::string name;
    std::string help;
    std::function<bool(const std::string&)> set;  // false: the value is invalid
    std::string default_text;
    bool takes_value = true;
};

template <class T>
bool parse_number(const std::string& v, T& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
}

bool parse_ms(const std::string& v, std::chrono::milliseconds& out) {
    long long n = 0;
    if (!parse_number(v, n) || n < 0) return false;
    out = std::chrono::milliseconds(n);
    return true;
}

std::vector<std::string> split(const std::string& v) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= v.size()) {
        auto comma = v.find(',', start);
        auto part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) out.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::vector<flag> make_flags(server::server_config& c, bool& examples) {
    auto& h = c.http;
    auto& m = c.mcp;
    auto& s = c.store;
    std::vector<flag> f;
    auto num = [](auto& field) { return [&field](const std::string& v) { return parse_number(v, field); }; };
    auto ms = [](auto& field) { return [&field](const std::string& v) { return parse_ms(v, field); }; };
    auto str = [](std::string& field) { return [&field](const std::string& v) { field = v; return true; }; };
    auto on = [](bool& field, bool value) { return [&field, value](const std::string&) { field = value; return true; }; };
    f.push_back({"host", "address to listen on", str(h.host), h.host});
    f.push_back({"port", "TCP port (0 picks a free one)", num(h.port), std::to_string(h.port)});
    f.push_back({"threads", "I/O threads (0 = one per core)", num(h.threads), "0"});
    f.push_back({"data", "data folder (commit log and index)", str(s.dir), "./litemcp-data"});
    f.push_back({"fsync", "always | interval:<ms> | never", [&s](const std::string& v) {
                     auto d = store::durability::parse(v);
                     if (d) s.fsync = *d;
                     return d.has_value();
                 }, s.fsync.to_string()});
    f.push_back({"checkpoint-ms", "how often the index is flushed (bounds recovery work and reclaim delay)", ms(s.checkpoint_interval), std::to_string(s.checkpoint_interval.count())});
    f.push_back({"reclaim-ms", "how often expired sessions and topics are reclaimed", ms(s.reclaim_interval), std::to_string(s.reclaim_interval.count())});
    f.push_back({"tls-cert", "PEM certificate chain (enables TLS with --tls-key)", str(h.tls_cert_file), "none"});
    f.push_back({"tls-key", "PEM private key", str(h.tls_key_file), "none"});
    f.push_back({"max-body-bytes", "largest request body (413 beyond)", num(h.max_body_bytes), std::to_string(h.max_body_bytes)});
    f.push_back({"max-header-bytes", "largest request header block (431 beyond)", num(h.max_header_bytes), std::to_string(h.max_header_bytes)});
    f.push_back({"request-timeout-ms", "time to receive one request", ms(h.request_timeout), std::to_string(h.request_timeout.count())});
    f.push_back({"idle-timeout-ms", "keep-alive connection without a request", ms(h.idle_timeout), std::to_string(h.idle_timeout.count())});
    f.push_back({"sse-queue-bytes", "unwritten bytes per SSE stream before it is dropped", num(h.sse_queue_bytes), std::to_string(h.sse_queue_bytes)});
    f.push_back({"keepalive-ms", "SSE keep-alive comment interval (0 = off)", ms(h.sse_keepalive), std::to_string(h.sse_keepalive.count())});
    f.push_back({"max-connections", "open connections (503 beyond)", num(h.max_connections), std::to_string(h.max_connections)});
    f.push_back({"endpoint", "path of the MCP endpoint", str(m.endpoint), m.endpoint});
    f.push_back({"json-response", "answer requests with one JSON body instead of SSE", on(m.json_response, true), "off", false});
    f.push_back({"no-priming", "no priming event on new streams (2025-11-25 clients)", on(m.priming, false), "priming on", false});
    f.push_back({"close-post-streams", "SEP-1699: close POST streams after priming; clients resume with GET", on(m.close_post_streams, true), "off", false});
    f.push_back({"strict-protocol-version", "reject an MCP-Protocol-Version that is supported but not the session's", on(m.strict_protocol_version, true), "off", false});
    f.push_back({"retry-ms", "retry: value sent before a server-side close", ms(m.retry), std::to_string(m.retry.count())});
    f.push_back({"session-ttl-ms", "idle session expiry", ms(m.session_ttl), std::to_string(m.session_ttl.count())});
    f.push_back({"max-sessions", "sessions at once (503 on initialize beyond)", num(m.max_sessions), std::to_string(m.max_sessions)});
    f.push_back({"session-retention-records", "events kept per session", num(m.session_retention_records), std::to_string(m.session_retention_records)});
    f.push_back({"session-retention-bytes", "bytes of events kept per session", num(m.session_retention_bytes), std::to_string(m.session_retention_bytes)});
    f.push_back({"handler-threads", "requests executing at once", num(m.handler_threads), std::to_string(m.handler_threads)});
    f.push_back({"handler-queue", "requests waiting for a handler thread (503 beyond)", num(m.handler_queue), std::to_string(m.handler_queue)});
    f.push_back({"allowed-origins", "comma-separated Origins allowed besides loopback ('*' = any)", [&m](const std::string& v) { m.allowed_origins = split(v); return true; }, "none"});
    f.push_back({"allowed-hosts", "comma-separated Host names allowed besides loopback ('*' = any)", [&m](const std::string& v) { m.allowed_hosts = split(v); return true; }, "none"});
    f.push_back({"instructions", "instructions returned by initialize", str(m.instructions), "none"});
    auto& w = c.workers;
    f.push_back({"worker-invisibility-ms", "a delivered worker call not answered within this is delivered again (a worker may choose its own)", ms(w.invisibility), std::to_string(w.invisibility.count())});
    f.push_back({"worker-max-attempts", "deliveries of a worker call before it is dead-lettered (a worker may choose its own)", num(w.max_attempts), std::to_string(w.max_attempts)});
    f.push_back({"worker-retry-backoff-ms", "delay before a failed worker call is delivered again, doubling per attempt", ms(w.retry_backoff), std::to_string(w.retry_backoff.count())});
    f.push_back({"worker-call-timeout-ms", "a worker call not answered within this fails (a worker may choose its own)", ms(w.call_timeout), std::to_string(w.call_timeout.count())});
    f.push_back({"worker-offline-grace-ms", "a worker with no instance for this long is offline", ms(w.offline_grace), std::to_string(w.offline_grace.count())});
    f.push_back({"max-workers", "registered workers", num(w.max_workers), std::to_string(w.max_workers)});
    f.push_back({"worker-max-instances", "instances connected per worker", num(w.max_instances), std::to_string(w.max_instances)});
    f.push_back({"worker-max-open-calls", "queued and delivered calls per worker (beyond: a tool error)", num(w.max_open_calls), std::to_string(w.max_open_calls)});
    f.push_back({"log-level", "trace | debug | info | warn | error", str(c.log_level), c.log_level});
    f.push_back({"examples", "serve the example tools, resources and prompts (the conformance fixtures)", on(examples, true), "off", false});
    return f;
}

void usage(const std::vector<flag>& flags) {
    std::printf("usage: litemcp [--flag value | --flag=value | --switch]...\n\n");
    for (auto& f : flags)
        std::printf("  --%-28s %s (default: %s)\n", (f.name + (f.takes_value ? " V" : "")).c_str(), f.help.c_str(),
                    f.default_text.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    server::server_config cfg;
    cfg.store.dir = "./litemcp-data";
    bool examples = false;
    auto flags = make_flags(cfg, examples);
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage(flags);
            return 0;
        }
        if (!arg.starts_with("--")) {
            std::fprintf(stderr, "litemcp: unexpected argument '%s' (see --help)\n", arg.c_str());
            return 2;
        }
        std::string name = arg.substr(2), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        auto it = std::find_if(flags.begin(), flags.end(), [&](auto& f) { return f.name == name; });
        if (it == flags.end()) {
            std::fprintf(stderr, "litemcp: unknown flag --%s (see --help)\n", name.c_str());
            return 2;
        }
        if (it->takes_value && !has_value) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "litemcp: --%s needs a value\n", name.c_str());
                return 2;
            }
            value = argv[++i];
        }
        if (!it->set(value)) {
            std::fprintf(stderr, "litemcp: invalid value '%s' for --%s\n", value.c_str(), name.c_str());
            return 2;
        }
    }
    // Logs go to stderr; stdout carries only the "listening on" line.
    spdlog::set_default_logger(spdlog::stderr_color_mt("litemcp"));
    spdlog::set_level(spdlog::level::from_str(cfg.log_level));

    // Signals are taken synchronously by this thread; every other thread
    // inherits the blocked mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto server = server::mcp_server::start(cfg, [&](server::registry& r) {
        if (examples) examples::register_everything(r);
    });
    if (!server) {
        spdlog::critical("litemcp: {}", server.error());
        return 1;
    }
    std::printf("litemcp listening on %s://%s:%u%s (data: %s)\n", cfg.http.tls_cert_file.empty() ? "http" : "https",
                cfg.http.host.c_str(), (*server)->port(), cfg.mcp.endpoint.c_str(), cfg.store.dir.c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    spdlog::info("litemcp: {} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*server)->stop();
    return 0;
}
