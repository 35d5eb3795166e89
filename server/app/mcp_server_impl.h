// Internal to server/: the state of a running mcp_server.
#pragma once

#include <atomic>
#include <deque>
#include <thread>

#include "server/ops/admin_api.h"
#include "server/ops/admin_tails.h"
#include "server/mcp/direct_channel.h"
#include "server/mcp/dispatcher.h"
#include "server/mcp/at_once.h"
#include "server/mcp/call.h"
#include "server/streams/listen_stream.h"
#include "server/app/mcp_server.h"
#include "server/mcp/method_table.h"
#include "server/telemetry/metrics.h"
#include "server/rpc/request_state.h"
#include "server/sessions/session.h"
#include "server/sessions/session_log.h"
#include "server/mcp/stateless_results.h"
#include "server/sessions/stream_feeder.h"
#include "server/mcp/task_runner.h"
#include "server/tasks/task_table.h"
#include "server/util/timer_queue.h"
#include "server/mcp/tool_schema.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_api.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

// The stateless revision served beside the legacy ones (modern_api.cpp).
inline constexpr std::string_view modern_version = "2026-07-28";

// Labels of one HTTP exchange for /metrics, filled in as it is understood.
struct exchange_labels {
    std::string method;  // the JSON-RPC method label (mcp_method_label), if any
    std::string era = "legacy";
};

// The HTTP outcome of handling one JSON-RPC message.
struct http_error {
    unsigned status;
    json body;  // a JSON-RPC error
};

class mcp_server::impl : public call_sink {
public:
    explicit impl(server_config c);

    // ---- HTTP endpoint (mcp_server.cpp) ----
    void on_http(transport::http_request&& req, std::shared_ptr<transport::responder> res);
    std::optional<transport::http_response> check_origin_and_host(const transport::http_request& req) const;
    void handle_post(transport::http_request&& req, std::shared_ptr<transport::responder> res,
                     const std::shared_ptr<exchange_labels>& labels);
    void handle_get(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void handle_delete(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    // Looks up the session named by Mcp-Session-Id and checks MCP-Protocol-Version.
    std::expected<std::shared_ptr<session_state>, http_error> session_for(const transport::http_request& req,
                                                                         const json& id);
    // A request runs in three steps: its record is appended (async), its
    // handler runs (on the I/O thread or the handler pool, see execution),
    // its response is appended (async) and then written -- the last two
    // through its session_channel. An execution::io request goes through an
    // at_once_channel instead: handler first, then one group of records.
    // msg is one that classify() found a request (an id, a string method).
    void serve_request(std::shared_ptr<session_state> s, json msg, std::string raw,
                       std::shared_ptr<transport::responder> res);
    // Opens the call's channel, runs its handler and, unless a worker
    // answers it later, finishes it.
    void run_request(const std::shared_ptr<call>& c);
    // The parts each endpoint's reply channels are made with.
    session_channel::parts session_parts();
    direct_channel::parts direct_parts();
    void serve_batch(std::shared_ptr<session_state> s, json batch, std::shared_ptr<transport::responder> res);
    void serve_initialize(json msg, std::string principal, std::shared_ptr<transport::responder> res);
    // Authentication of /mcp, the worker API's registration and the admin API:
    // fills req.principal, or answers 401/403 and returns false.
    bool authenticate(transport::http_request& req, const std::shared_ptr<transport::responder>& res,
                      std::string_view scope);
    // initialize requests of one principal in the last minute (rate limit).
    bool initialize_allowed(const std::string& principal, std::chrono::seconds& retry_after);
    // Runs work on the handler pool, or answers 503 when its queue is full.
    void on_pool(std::shared_ptr<transport::responder> res, std::function<void()> work);
    // Records a client's answer to a server request, wakes its waiter, then
    // runs done (on the store's appender thread).
    void accept_client_answer(const std::shared_ptr<session_state>& s, json msg, std::function<void()> done);
    void accept_notification(const std::shared_ptr<session_state>& s, const json& msg);

    // ---- /healthz, /readyz, /metrics (ops_api.cpp) ----
    // Wraps a responder so the exchange is counted when it is answered;
    // mcp_method is filled in once the body is parsed.
    std::shared_ptr<transport::responder> observe(const transport::http_request& req,
                                                  std::shared_ptr<transport::responder> res,
                                                  std::shared_ptr<exchange_labels> labels);
    // /healthz and /readyz answer anyone; /metrics has /mcp's Host/Origin
    // rule and, with authentication on, needs the mcp:metrics scope.
    bool handle_ops(transport::http_request& req, const std::shared_ptr<transport::responder>& res);
    std::string render_metrics() const;

    // ---- the modern era, 2026-07-28 (modern_api.cpp) ----
    bool is_modern(const json& body, const transport::http_request& req) const;
    void serve_modern(json body, const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void serve_listen(const json& id, const json& params, const transport::http_request& req,
                      std::shared_ptr<transport::responder> res);
    json discover() const;
    // Reads inputResponses and requestState of a retried request (made by
    // principal) into c.answers; an error message when they are malformed,
    // tampered or expired.
    std::optional<std::string> take_answers(call& c, const std::string& principal) const;

    // ---- notifications of changes (change_notices.cpp) ----
    // A task changed: notifications/tasks/status to its legacy session's GET
    // stream, or notifications/tasks to the listen streams that asked.
    void task_changed(const task_record& r);
    void broadcast_list_changed(list_kind k);
    void resource_updated(const std::string& uri);

    // ---- the worker hub's way back to the calls (worker_calls.cpp) ----
    void notify(const call_ticket& t, json notification, std::optional<log_level> level) override;
    void finish(const call_ticket& t, std::optional<json> response) override;
    std::shared_ptr<call> restored(const call_ticket& t) override;

    json server_capabilities(const std::string& version) const;
    std::string negotiate(const std::string& requested) const;

    // ---- store helpers ----
    // Appends a message to a session's topic on a stream; returns its offset.
    store::result<store::append_ack> emit(session_state& s, std::string_view tag, const json& msg,
                                          std::uint32_t flags = 0);
    void maintenance_loop();

    transport::http_response json_response(unsigned status, const json& body) const;
    transport::http_response error_response(unsigned status, const json& id, int code, std::string_view message,
                                            std::optional<json> data = std::nullopt) const;

    server_config cfg;
    registry reg;
    tool_schemas schemas;
    std::unique_ptr<store::store> st;
    std::unique_ptr<session_table> sessions;
    std::unique_ptr<work_pool> handlers;
    std::unique_ptr<work_pool> delivery;
    std::unique_ptr<worker_hub> workers;
    metrics stats;
    std::unique_ptr<admin_tails> tails;
    std::unique_ptr<admin_api> admin;
    std::unique_ptr<worker_api> worker_http;
    std::unique_ptr<authenticator> auth;
    std::unique_ptr<request_state_codec> states;
    std::unique_ptr<stateless_results> results;
    call_meter meter{stats};
    std::unique_ptr<commit_bursts> bursts;
    std::unique_ptr<task_runner> runner;
    std::unique_ptr<dispatcher> calls;
    std::unique_ptr<task_table> tasks;
    std::unique_ptr<timer_queue> timers;
    std::mutex listens_mu;
    std::vector<std::weak_ptr<listen_stream>> listens;  // open subscriptions/listen streams
    std::mutex rate_mu;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> initializations;  // by principal
    std::map<std::string, std::shared_ptr<const json_schema>> api_schemas;  // schemas/*.json by name
    std::unique_ptr<transport::http_server> http;
    std::atomic<bool> stopping{false};
    std::mutex maint_mu;
    std::condition_variable maint_cv;
    std::thread maintenance;
};

}  // namespace litemcp::server
