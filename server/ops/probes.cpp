#include "server/ops/probes.h"

#include <chrono>
#include <cstdio>

#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/http/router.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {
// How long /readyz says "store failing" after a failed write.
constexpr std::chrono::seconds store_failure_hold{10};
}  // namespace

http_response probes::readiness() const {
    if (p_.stopping) return http::json_answer(503, json{{"status", "stopping"}});
    const auto s = p_.st.stats();
    const auto now = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    const auto hold = static_cast<std::uint64_t>(std::chrono::milliseconds(store_failure_hold).count());
    if (!s.connected)
        return http::json_answer(503, json{{"status", "store unreachable"},
                                           {"error", "the connection to NATS is down; reconnecting (see the log)"}});
    // A failing local disk is this server's trouble: the balancer should
    // send clients elsewhere. A shared store's failing writes (a stream
    // electing a leader after a NATS node died) fail on every server alike:
    // taking them all out of rotation would turn seconds of errors on some
    // streams into an outage of every stream.
    if (s.writes_failing && !s.remote && now - s.last_write_failure_ms < hold)
        return http::json_answer(503, json{{"status", "store failing"},
                                           {"error", "the last write to the store failed; see the log"},
                                           {"failedAtMs", s.last_write_failure_ms}});
    return http::json_answer(200, json{{"status", "ready"}});
}

bool probes::handle(http_request& req, const std::shared_ptr<responder>& res) const {
    const std::string_view path = req.path;  // compared without strlen
    if (path != "/healthz" && path != "/readyz" && path != "/metrics") return false;
    if (std::string_view(req.method) != "GET") {
        auto r = http::problem(405, http::not_allowed_message(req));
        r.headers.set("Allow", "GET");
        res->respond(std::move(r));
        return true;
    }
    if (path == "/metrics") {
        if (auto why = http::origin_or_host_refusal(req, p_.options.allowed_hosts, p_.options.allowed_origins)) {
            res->respond(http::rpc_error(403, nullptr, rpc_code::invalid_request, *why));
            return true;
        }
        if (auto refused = p_.auth.admit(req, scope::metrics)) {
            auto r = http::problem(refused->status, refused->message);
            r.headers.set("WWW-Authenticate", refused->challenge);
            res->respond(std::move(r));
            return true;
        }
    }
    if (path == "/healthz") {
        res->respond(http::json_answer(200, json{{"status", "ok"}}));
    } else if (path == "/readyz") {
        res->respond(readiness());
    } else {
        http_response r;
        r.status = 200;
        r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        r.body = render_metrics();
        res->respond(std::move(r));
    }
    return true;
}

namespace {

void gauge(std::string& out, const std::string& name, const std::string& help, double v) {
    metrics::family(out, name, "gauge", help);
    metrics::sample(out, name, {}, v);
}

void counter(std::string& out, const std::string& name, const std::string& help, double v) {
    metrics::family(out, name, "counter", help);
    metrics::sample(out, name, {}, v);
}

// A latency histogram kept in microsecond buckets (the last counts the rest),
// rendered in seconds.
template <std::size_t N>
void seconds_histogram(std::string& out, const std::string& name, const std::string& help,
                       const std::array<std::uint64_t, N>& bounds_us, const std::array<std::uint64_t, N + 1>& buckets,
                       std::uint64_t total_us) {
    metrics::family(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    char le[32];
    for (std::size_t i = 0; i < N; ++i) {
        cumulative += buckets[i];
        std::snprintf(le, sizeof le, "%g", static_cast<double>(bounds_us[i]) / 1e6);
        metrics::sample(out, name + "_bucket", {{"le", le}}, static_cast<double>(cumulative));
    }
    cumulative += buckets[N];
    metrics::sample(out, name + "_bucket", {{"le", "+Inf"}}, static_cast<double>(cumulative));
    metrics::sample(out, name + "_sum", {}, static_cast<double>(total_us) / 1e6);
    metrics::sample(out, name + "_count", {}, static_cast<double>(cumulative));
}

// The store's families: the commit log's on the embedded engine, the
// connection's on JetStream, the rest on both.
void store_metrics(std::string& out, const store::store_stats& s) {
    counter(out, "litemcp_store_appends_total", "records appended", static_cast<double>(s.appends));
    counter(out, "litemcp_store_append_bytes_total", "encoded bytes appended", static_cast<double>(s.append_bytes));
    counter(out, "litemcp_store_append_batches_total", "group commits (JetStream: acknowledged messages)",
            static_cast<double>(s.append_batches));
    counter(out, "litemcp_store_append_errors_total", "records that failed to append", static_cast<double>(s.append_errors));
    gauge(out, "litemcp_store_writes_failing", "1 while the store's last write failed (until one succeeds)",
          s.writes_failing ? 1.0 : 0.0);
    counter(out, "litemcp_store_wakes_total", "ready-set wake-ups of consumers", static_cast<double>(s.wakes));
    gauge(out, "litemcp_store_consumers", "consumers in the ready set", static_cast<double>(s.consumers));
    if (s.remote) {
        gauge(out, "litemcp_store_nats_connected", "1 while the connection to NATS is up", s.connected ? 1.0 : 0.0);
        counter(out, "litemcp_store_nats_reconnects_total", "reconnections to NATS", static_cast<double>(s.reconnects));
        seconds_histogram(out, "litemcp_store_publish_seconds", "appends from publish to JetStream's acknowledgement",
                          store::publish_bucket_micros, s.publish_buckets, s.publish_micros);
        counter(out, "litemcp_store_wake_gaps_total", "wakes found missing, then caught up by reading",
                static_cast<double>(s.wake_gaps));
        gauge(out, "litemcp_store_watched_topics", "wake subjects this server listens on",
              static_cast<double>(s.watched_topics));
        return;
    }
    seconds_histogram(out, "litemcp_store_fsync_seconds", "fdatasync calls of the commit log and their time",
                      store::fsync_bucket_micros, s.fsync_buckets, s.fsync_micros);
    counter(out, "litemcp_store_reclaimed_topics_total", "lite topics reclaimed after their TTL", static_cast<double>(s.reclaimed_topics));
    counter(out, "litemcp_store_deleted_segments_total", "commit-log segments deleted", static_cast<double>(s.deleted_segments));
    gauge(out, "litemcp_store_log_bytes", "commit-log bytes on disk", static_cast<double>(s.log_bytes));
    gauge(out, "litemcp_store_log_segments", "commit-log segments", static_cast<double>(s.log_segments));
    gauge(out, "litemcp_store_index_bytes", "RocksDB SST bytes", static_cast<double>(s.index_disk_bytes));
    gauge(out, "litemcp_store_checkpoint_position", "log position the index is durable up to", static_cast<double>(s.checkpoint));
}

}  // namespace

std::string probes::render_metrics() const {
    std::string out;
    p_.counters.render(out);
    auto gauge = [&](const std::string& name, const std::string& help, double v) { server::gauge(out, name, help, v); };
    auto counter = [&](const std::string& name, const std::string& help, double v) { server::counter(out, name, help, v); };
    const auto h = p_.http_figures();
    gauge("litemcp_sessions", "sessions on record (live, not ended or expired)", static_cast<double>(p_.sessions.count()));
    gauge("litemcp_sessions_count_epoch", "a shared store: the number of the session count in use (one more at each recount)",
          static_cast<double>(p_.sessions.count_epoch()));
    gauge("litemcp_sessions_loaded", "sessions held in memory", static_cast<double>(p_.sessions.loaded()));
    gauge("litemcp_http_connections", "open HTTP connections", static_cast<double>(h.connections));
    gauge("litemcp_sse_streams", "open SSE streams (POST, GET and worker streams)", static_cast<double>(h.streams));
    gauge("litemcp_http_buffered_bytes", "bytes held for clients: request bodies, SSE queues, unsent answers",
          static_cast<double>(h.buffered_bytes));
    gauge("litemcp_http_buffered_bytes_limit", "--max-buffered-bytes", static_cast<double>(h.buffered_limit));
    counter("litemcp_http_buffer_refusals_total", "request bodies refused with 503 at --max-buffered-bytes",
            static_cast<double>(h.buffer_refusals));
    counter("litemcp_http_buffer_drops_total", "SSE streams dropped at --max-buffered-bytes",
            static_cast<double>(h.buffer_drops));
    counter("litemcp_http_idle_reclaimed_total", "idle connections closed at --max-connections to let new ones in",
            static_cast<double>(h.idle_reclaimed));
    gauge("litemcp_requests_in_flight", "requests between arrival and response", static_cast<double>(p_.requests_in_flight()));

    store_metrics(out, p_.st.stats());

    gauge("litemcp_tasks_active", "tasks working or waiting for input", static_cast<double>(p_.tasks.active()));
    const auto tc = p_.tasks.totals();
    counter("litemcp_tasks_created_total", "tasks created", static_cast<double>(tc.created));
    metrics::family(out, "litemcp_tasks_finished_total", "counter", "tasks that ended, by final status");
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "completed"}}, static_cast<double>(tc.completed));
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "failed"}}, static_cast<double>(tc.failed));
    metrics::sample(out, "litemcp_tasks_finished_total", {{"status", "cancelled"}}, static_cast<double>(tc.cancelled));
    counter("litemcp_tasks_expired_total", "tasks removed at the end of their ttl", static_cast<double>(tc.expired));

    const auto ws = p_.workers.stats();
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
