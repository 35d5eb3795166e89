#include "server/app/program.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "server/app/mcp_server.h"
#include "server/config/settings.h"

namespace litemcp::server {

int run(int argc, char** argv, const program_hooks& hooks) {
    program_options o;
    o.config.store.dir = "./litemcp-data";
    auto p = parse_settings(argc, argv, environ, o);
    if (p.outcome == parse_outcome::help) {
        std::fputs(p.message.c_str(), stdout);
        return 0;
    }
    if (p.outcome == parse_outcome::invalid) {
        std::fprintf(stderr, "litemcp: %s\n", p.message.c_str());
        return 2;
    }
    if (o.examples && !hooks.examples) {
        std::fprintf(stderr, "litemcp: examples: this build has no example tools (meson option examples=false)\n");
        return 2;
    }
    auto& cfg = o.config;
    // Logs go to stderr; stdout carries only the "listening on" line.
    if (auto r = setup_logging(cfg.log); !r) {
        std::fprintf(stderr, "litemcp: %s\n", r.error().c_str());
        return 2;
    }
    for (auto& w : p.warnings) spdlog::warn("litemcp: {}", w);

    // Signals are taken synchronously by this thread; every other thread
    // inherits the blocked mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto server = mcp_server::start(cfg, [&](registry& r) {
        if (o.examples) hooks.examples(r);
    });
    if (!server) {
        spdlog::critical("litemcp: {}", server.error());
        return 1;
    }
    std::printf("litemcp listening on %s://%s:%u%s (data: %s)\n", cfg.http.tls_cert_file.empty() ? "http" : "https",
                cfg.http.host.c_str(), (*server)->port(), cfg.mcp.endpoint.c_str(), cfg.store.dir.c_str());
    std::fflush(stdout);
    spdlog::info("litemcp: allocator {}", hooks.allocator);
    int sig = 0;
    sigwait(&sigs, &sig);
    spdlog::info("litemcp: {} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*server)->stop();
    return 0;
}

}  // namespace litemcp::server
