// The operator's endpoints that need no MCP: /healthz (the process
// answers), /readyz (recovery finished, no shutdown begun and the store
// writing, so a balancer may send new sessions) and /metrics (Prometheus text: the counters of
// telemetry/metrics.h and the figures read now from the store, the HTTP
// server, the sessions, the tasks and the workers).
//
// /healthz and /readyz answer anyone. /metrics names sessions' counts,
// workers and tools, so it has /mcp's Host/Origin rule and, with
// authentication on, needs a token with the mcp:metrics scope.
//
// Threading: handle() from any thread. Lifetime: the server's; the parts it
// refers to outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/auth/auth.h"
#include "server/config/config.h"
#include "server/sessions/session.h"
#include "server/tasks/task_table.h"
#include "server/telemetry/metrics.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

class probes {
public:
    struct parts {
        const mcp_options& options;  // allowed hosts and origins
        authenticator& auth;
        const metrics& counters;
        store::store& st;
        session_table& sessions;
        task_table& tasks;
        worker_hub& workers;
        std::function<transport::server_stats()> http_figures;
        std::function<std::uint64_t()> requests_in_flight;
        const std::atomic<bool>& stopping;
    };
    explicit probes(parts p) : p_(std::move(p)) {}

    // Whether the path is one of the three (then the request is answered).
    bool handle(transport::http_request& req, const std::shared_ptr<transport::responder>& res) const;
    // /readyz: recovery finished before the listener opened; not ready once
    // a shutdown begins (a balancer stops sending new sessions), nor for
    // store_failure_hold after a failed store write -- then ready again, so
    // that traffic tests the store rather than one failure keeping it away.
    transport::http_response readiness() const;
    std::string render_metrics() const;

private:
    parts p_;
};

}  // namespace litemcp::server
