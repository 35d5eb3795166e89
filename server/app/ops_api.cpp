// The operator's endpoints that need no MCP: /healthz, /readyz and /metrics,
// and the responder wrapper that counts every HTTP exchange for /metrics.
#include <spdlog/spdlog.h>

#include <chrono>

#include "server/http/answers.h"
#include "server/http/router.h"

#include "server/app/mcp_server_impl.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

// Counts the exchange once it is answered: litemcp_http_requests_total and,
// for a JSON-RPC request on /mcp, litemcp_mcp_requests_total.
class observed_responder : public responder {
public:
    observed_responder(std::shared_ptr<responder> inner, metrics& m, std::string endpoint, std::string method,
                       std::shared_ptr<exchange_labels> mcp_method, bool access_log, std::string peer, std::string target)
        : inner_(std::move(inner)), m_(m), endpoint_(std::move(endpoint)), method_(std::move(method)),
          mcp_method_(std::move(mcp_method)), access_log_(access_log) {
        if (access_log_) {  // kept only for the access log line
            peer_ = std::move(peer);
            target_ = std::move(target);
        }
    }

    void respond(http_response r) override {
        count(r.status);
        inner_->respond(std::move(r));
    }
    std::shared_ptr<transport::sse_stream> start_sse(transport::header_list extra) override {
        count(200);
        return inner_->start_sse(std::move(extra));
    }
    void respond_events(transport::header_list extra, std::vector<transport::sse_event> events) override {
        count(200);
        inner_->respond_events(std::move(extra), std::move(events));
    }
    void post(std::function<void()> f) override { inner_->post(std::move(f)); }
    void on_disconnect(std::function<void()> f) override { inner_->on_disconnect(std::move(f)); }

private:
    void count(unsigned status) {
        if (counted_.exchange(true)) return;
        const auto s = std::to_string(status);
        m_.add("litemcp_http_requests_total", {{"endpoint", endpoint_}, {"method", method_}, {"status", s}});
        const bool mcp = mcp_method_ && !mcp_method_->method.empty();
        if (mcp)
            m_.add("litemcp_mcp_requests_total",
                   {{"method", mcp_method_->method}, {"era", mcp_method_->era}, {"status", s}});
        if (access_log_)
            spdlog::info("access: {} {} {} {} {:.2f} ms{}{}", peer_, method_, target_, status,
                         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrived_).count(),
                         mcp ? " mcp=" + mcp_method_->method + " era=" : "", mcp ? mcp_method_->era : "");
    }
    std::shared_ptr<responder> inner_;
    metrics& m_;
    std::string endpoint_, method_;
    std::shared_ptr<exchange_labels> mcp_method_;
    bool access_log_;
    std::string peer_, target_;
    // Read only for the access log.
    std::chrono::steady_clock::time_point arrived_ =
        access_log_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    std::atomic<bool> counted_{false};
};

std::string endpoint_of(const std::string& path, const std::string& mcp) {
    if (path == mcp) return "mcp";
    if (path == "/workers" || path.starts_with("/workers/")) return "workers";
    if (path.starts_with("/admin/")) return "admin";
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") return "ops";
    return "other";
}

}  // namespace

std::shared_ptr<responder> mcp_server::impl::observe(const http_request& req, std::shared_ptr<responder> res,
                                                     std::shared_ptr<exchange_labels> mcp_method) {
    const bool log = cfg.log.access_log;
    return std::make_shared<observed_responder>(std::move(res), stats, endpoint_of(req.path, cfg.mcp.endpoint),
                                                req.method, std::move(mcp_method), log, log ? req.peer : std::string(),
                                                log ? req.target : std::string());
}

bool mcp_server::impl::handle_ops(http_request& req, const std::shared_ptr<responder>& res) {
    const std::string_view path = req.path;  // compared without strlen
    if (path != "/healthz" && path != "/readyz" && path != "/metrics") return false;
    if (std::string_view(req.method) != "GET") {
        auto r = http::problem(405, http::not_allowed_message(req));
        r.headers.set("Allow", "GET");
        res->respond(std::move(r));
        return true;
    }
    if (path == "/metrics") {
        // The figures name sessions' counts, workers and tools: a page on a
        // rebound name must not read them through a browser, and with
        // authentication on a scraper shows a token with mcp:metrics.
        if (auto denied = check_origin_and_host(req)) {
            res->respond(std::move(*denied));
            return true;
        }
        if (auto refused = auth->admit(req, scope::metrics)) {
            auto r = http::problem(refused->status, refused->message);
            r.headers.set("WWW-Authenticate", refused->challenge);
            res->respond(std::move(r));
            return true;
        }
    }
    if (path == "/healthz") {
        res->respond(json_response(200, json{{"status", "ok"}}));
    } else if (path == "/readyz") {
        // Recovery finished before the listener opened; not ready again once
        // a shutdown begins, so a balancer stops sending new sessions.
        if (stopping) res->respond(json_response(503, json{{"status", "stopping"}}));
        else res->respond(json_response(200, json{{"status", "ready"}}));
    } else {
        http_response r;
        r.status = 200;
        r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        r.body = render_metrics();
        res->respond(std::move(r));
    }
    return true;
}

std::string mcp_server::impl::render_metrics() const {
    std::string out;
    stats.render(out);
    auto gauge = [&](const std::string& name, const std::string& help, double v) {
        metrics::family(out, name, "gauge", help);
        metrics::sample(out, name, {}, v);
    };
    auto counter = [&](const std::string& name, const std::string& help, double v) {
        metrics::family(out, name, "counter", help);
        metrics::sample(out, name, {}, v);
    };
    const auto h = http->stats();
    gauge("litemcp_sessions", "sessions on record (live, not ended or expired)", static_cast<double>(sessions->count()));
    gauge("litemcp_sessions_loaded", "sessions held in memory", static_cast<double>(sessions->loaded()));
    gauge("litemcp_http_connections", "open HTTP connections", static_cast<double>(h.connections));
    gauge("litemcp_sse_streams", "open SSE streams (POST, GET and worker streams)", static_cast<double>(h.streams));
    gauge("litemcp_requests_in_flight", "requests between arrival and response", static_cast<double>(meter.in_flight()));

    const auto s = st->stats();
    counter("litemcp_store_appends_total", "records appended", static_cast<double>(s.appends));
    counter("litemcp_store_append_bytes_total", "encoded bytes appended to the commit log", static_cast<double>(s.append_bytes));
    counter("litemcp_store_append_batches_total", "group commits", static_cast<double>(s.append_batches));
    counter("litemcp_store_append_errors_total", "records that failed to append", static_cast<double>(s.append_errors));
    metrics::family(out, "litemcp_store_fsync_seconds", "histogram", "fdatasync calls of the commit log and their time");
    {
        std::uint64_t cumulative = 0;
        char le[32];
        for (std::size_t i = 0; i < store::fsync_bucket_micros.size(); ++i) {
            cumulative += s.fsync_buckets[i];
            std::snprintf(le, sizeof le, "%g", static_cast<double>(store::fsync_bucket_micros[i]) / 1e6);
            metrics::sample(out, "litemcp_store_fsync_seconds_bucket", {{"le", le}}, static_cast<double>(cumulative));
        }
        metrics::sample(out, "litemcp_store_fsync_seconds_bucket", {{"le", "+Inf"}}, static_cast<double>(s.fsyncs));
    }
    metrics::sample(out, "litemcp_store_fsync_seconds_sum", {}, static_cast<double>(s.fsync_micros) / 1e6);
    metrics::sample(out, "litemcp_store_fsync_seconds_count", {}, static_cast<double>(s.fsyncs));
    counter("litemcp_store_wakes_total", "ready-set wake-ups of consumers", static_cast<double>(s.wakes));
    counter("litemcp_store_reclaimed_topics_total", "lite topics reclaimed after their TTL", static_cast<double>(s.reclaimed_topics));
    counter("litemcp_store_deleted_segments_total", "commit-log segments deleted", static_cast<double>(s.deleted_segments));
    gauge("litemcp_store_log_bytes", "commit-log bytes on disk", static_cast<double>(s.log_bytes));
    gauge("litemcp_store_log_segments", "commit-log segments", static_cast<double>(s.log_segments));
    gauge("litemcp_store_index_bytes", "RocksDB SST bytes", static_cast<double>(s.index_disk_bytes));
    gauge("litemcp_store_checkpoint_position", "log position the index is durable up to", static_cast<double>(s.checkpoint));
    gauge("litemcp_store_consumers", "consumers in the ready set", static_cast<double>(s.consumers));

    gauge("litemcp_tasks_active", "tasks working or waiting for input", static_cast<double>(tasks->active()));
    const auto tc = tasks->totals();
    counter("litemcp_tasks_created_total", "tasks created", static_cast<double>(tc.created));
    metrics::family(out, "litemcp_tasks_finished_total", "counter", "tasks that ended, by final status");
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "completed"}}, static_cast<double>(tc.completed));
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "failed"}}, static_cast<double>(tc.failed));
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "cancelled"}}, static_cast<double>(tc.cancelled));
    counter("litemcp_tasks_expired_total", "tasks removed at the end of their ttl", static_cast<double>(tc.expired));

    const auto ws = workers->stats();
    auto per_worker = [&](const std::string& name, const std::string& type, const std::string& help, auto field) {
        metrics::family(out, name, type, help);
        for (auto& w : ws) metrics::sample(out, name, {{"worker", w.name}}, static_cast<double>(field(w)));
    };
    per_worker("litemcp_worker_online", "gauge", "1 while the worker is online", [](auto& w) { return w.online ? 1 : 0; });
    per_worker("litemcp_worker_instances", "gauge", "instances bound to the worker's topic", [](auto& w) { return w.instances; });
    per_worker("litemcp_worker_queue_depth", "gauge", "open calls: queued, delivered or waiting for a retry", [](auto& w) { return w.open_calls; });
    per_worker("litemcp_worker_in_flight", "gauge", "calls delivered and not yet answered", [](auto& w) { return w.in_flight; });
    per_worker("litemcp_worker_delivered_total", "counter", "deliveries to instances", [](auto& w) { return w.delivered; });
    per_worker("litemcp_worker_redeliveries_total", "counter", "deliveries after the first of a call", [](auto& w) { return w.redelivered; });
    per_worker("litemcp_worker_answered_total", "counter", "calls answered with a result", [](auto& w) { return w.answered; });
    per_worker("litemcp_worker_dead_letters_total", "counter", "calls moved to the dead-letter topic", [](auto& w) { return w.dead_lettered; });
    return out;
}

}  // namespace litemcp::server
