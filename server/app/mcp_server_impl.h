// Private to server/app/: the parts of a running mcp_server, in the order
// they are made. Each part gets what it uses at construction (references
// to parts declared above it), so members are destroyed in the reverse
// order, users before what they use; stop() ends the threads first.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "server/app/mcp_server.h"
#include "server/auth/auth.h"
#include "server/json/json_schema.h"
#include "server/mcp/at_once.h"
#include "server/mcp/call.h"
#include "server/mcp/change_notices.h"
#include "server/mcp/dispatcher.h"
#include "server/mcp/endpoint.h"
#include "server/mcp/session_endpoint.h"
#include "server/mcp/stateless_endpoint.h"
#include "server/mcp/stateless_results.h"
#include "server/mcp/task_runner.h"
#include "server/mcp/tool_schema.h"
#include "server/mcp/worker_sink.h"
#include "server/ops/admin_api.h"
#include "server/ops/admin_tails.h"
#include "server/ops/probes.h"
#include "server/rpc/request_state.h"
#include "server/sessions/session.h"
#include "server/tasks/task_table.h"
#include "server/telemetry/metrics.h"
#include "server/util/timer_queue.h"
#include "server/util/work_pool.h"
#include "server/upstreams/upstreams.h"
#include "server/workers/worker_api.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

class mcp_server::impl {
public:
    explicit impl(server_config c) : cfg(std::move(c)) {}

    // Every HTTP request: counted, then routed (routes.cpp).
    void on_http(transport::http_request&& req, std::shared_ptr<transport::responder> res);
    // Wraps a responder so the exchange is counted when it is answered;
    // labels are filled in once the body is parsed.
    std::shared_ptr<transport::responder> observe(const transport::http_request& req,
                                                  std::shared_ptr<transport::responder> res,
                                                  std::shared_ptr<exchange_labels> labels);
    // Runs work on the handler pool, or answers 503 when its queue is full.
    void on_pool(const std::shared_ptr<transport::responder>& res, std::function<void()> work);
    void maintenance_loop();

    server_config cfg;
    registry reg;
    tool_schemas schemas;
    metrics stats;
    call_meter meter{stats};
    std::unique_ptr<authenticator> auth;
    std::unique_ptr<request_state_codec> states;
    std::unique_ptr<stateless_results> results;
    std::unique_ptr<store::store> st;
    std::unique_ptr<commit_bursts> bursts;
    std::unique_ptr<session_table> sessions;
    std::unique_ptr<work_pool> handlers;
    std::unique_ptr<work_pool> delivery;
    std::unique_ptr<work_pool> relay;  // requests relayed to a client for a worker's call, each waiting for its answer
    std::unique_ptr<parked_inputs> parked;  // before timers: destroyed after them, so no timer outlives it
    std::unique_ptr<timer_queue> timers;
    std::unique_ptr<task_table> tasks;
    std::unique_ptr<worker_sink> sink;
    std::unique_ptr<worker_hub> workers;
    std::unique_ptr<upstreams> upstream_links;  // MCP servers registered by URL: their connections
    std::unique_ptr<task_runner> runner;
    std::unique_ptr<dispatcher> calls;
    std::unique_ptr<session_signals> signals;  // between the servers sharing the store
    std::unique_ptr<session_endpoint> session_api;
    std::unique_ptr<stateless_endpoint> stateless_api;
    std::unique_ptr<mcp_endpoint> endpoint;
    std::unique_ptr<change_notices> notices;
    std::unique_ptr<probes> ops;
    std::unique_ptr<admin_tails> tails;
    std::unique_ptr<admin_api> admin;
    std::map<std::string, std::shared_ptr<const json_schema>> api_schemas;  // schemas/*.json by name
    std::unique_ptr<worker_api> worker_http;
    std::unique_ptr<transport::http_server> http;
    std::atomic<bool> stopping{false};
    std::mutex maint_mu;
    std::condition_variable maint_cv;
    std::thread maintenance;
};

}  // namespace litemcp::server
