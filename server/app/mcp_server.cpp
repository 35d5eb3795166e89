// mcp_server lifecycle and the Streamable HTTP rules of the /mcp endpoint
// (legacy era): Origin/Host, Accept, Content-Type, session ids, protocol
// version header, POST/GET/DELETE, resumption with Last-Event-ID.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <pthread.h>

#include "schemas/schemas.h"
#include "server/http/request_checks.h"
#include "server/http/router.h"
#include "server/json/json_text.h"
#include "server/app/mcp_server_impl.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::vector<store::parent_topic> builtin_parents(const mcp_options& o) {
    store::topic_policy session;
    session.idle_ttl = o.session_ttl;
    session.max_records = o.session_retention_records;
    session.max_bytes = o.session_retention_bytes;
    session.max_lite_topics = o.max_sessions + 1024;
    session.max_record_size = 4u << 20;
    store::topic_policy changes;
    changes.idle_ttl = std::chrono::hours(24 * 365);
    changes.max_records = 10'000;
    changes.max_record_size = 64u << 10;
    // A worker's queue lives as long as the worker is registered (the
    // deregistration removes it); dead letters are kept for a week.
    store::topic_policy worker;
    worker.idle_ttl = std::chrono::hours(24 * 365);
    worker.max_records = 1'000'000;
    worker.max_bytes = 1ull << 30;
    worker.max_record_size = 4u << 20;
    store::topic_policy dlq;
    dlq.idle_ttl = std::chrono::hours(24 * 7);
    dlq.max_records = 10'000;
    dlq.max_bytes = 64u << 20;
    dlq.max_record_size = 4u << 20;
    // A task lives its ttlMs (the server removes it then); the idle TTL is
    // only a backstop for a task whose deadline key was lost.
    store::topic_policy task;
    task.idle_ttl = o.task_max_ttl + std::chrono::hours(1);
    task.max_records = 10'000;
    task.max_bytes = 64u << 20;
    task.max_record_size = 4u << 20;
    return {{"mcp.session", session}, {"mcp.changes", changes}, {"mcp.worker", worker}, {"mcp.dlq", dlq},
            {"mcp.task", task}};
}

mcp_server::impl::impl(server_config c) : cfg(std::move(c)) {}

std::expected<std::unique_ptr<mcp_server>, std::string> mcp_server::start(
    server_config config, const std::function<void(registry&)>& providers) {
    auto p = std::make_unique<impl>(std::move(config));
    auto& cfg = p->cfg;
    for (auto& parent : builtin_parents(cfg.mcp)) cfg.store.parents.push_back(parent);
    // The store only learns of an expired session through this callback;
    // `raw` outlives the store, which impl owns.
    auto* raw = p.get();
    cfg.store.on_reclaimed = [raw](std::string_view topic) {
        if (raw->stopping) return;
        if (topic.starts_with("mcp.task/")) {
            if (raw->tasks) raw->tasks->reclaimed(topic);
        } else if (raw->sessions) {
            raw->sessions->expired(topic);
        }
    };
    auto auth = authenticator::load(cfg.auth);
    if (!auth) return std::unexpected(auth.error());
    p->auth = std::move(*auth);
    auto states = request_state_codec::load(cfg.mcp.request_state, cfg.store.dir);
    if (!states) return std::unexpected("request state: " + states.error());
    p->states = std::make_unique<request_state_codec>(std::move(*states));
    p->results = std::make_unique<stateless_results>(p->cfg.mcp, *p->states, p->auth && p->auth->enabled());
    auto st = store::store::open(cfg.store);
    if (!st) return std::unexpected("cannot open the store in " + cfg.store.dir + ": " + st.error().message);
    p->st = std::move(*st);
    p->bursts = std::make_unique<commit_bursts>(*p->st);
    p->sessions = std::make_unique<session_table>(*p->st, cfg.mcp.max_sessions, cfg.mcp.max_sessions_per_principal);
    p->handlers = std::make_unique<work_pool>("handlers", cfg.mcp.handler_threads, cfg.mcp.handler_queue);
    p->delivery = std::make_unique<work_pool>("delivery", 2, 1'000'000);
    p->reg.on_list_changed([raw](list_kind k) { raw->broadcast_list_changed(k); });
    p->reg.on_resource_updated([raw](const std::string& uri) { raw->resource_updated(uri); });
    if (providers) providers(p->reg);
    for (auto name : {"worker-register", "worker-progress", "worker-log", "worker-result", "worker-failure",
                      "worker-suspend", "worker-extend"}) {
        auto doc = parse_json(schemas::find(name).value());
        if (!doc) return std::unexpected("schema " + std::string(name) + " is not JSON: " + doc.error().message);
        auto compiled = json_schema::compile(*doc);
        if (!compiled) return std::unexpected("schema " + std::string(name) + " does not compile: " + compiled.error());
        p->api_schemas[name] = *compiled;
    }
    p->tails = std::make_unique<admin_tails>();
    p->timers = std::make_unique<timer_queue>();
    p->tasks = std::make_unique<task_table>(*p->st, task_table_options{cfg.mcp.max_active_tasks});
    p->tasks->on_saved([raw](const task_record& r) { raw->task_changed(r); });
    p->workers = std::make_unique<worker_hub>(*p->st, p->reg, *p, cfg.workers);
    // The task runner runs handlers through the dispatcher, whose methods
    // start tasks through the runner: each gets the other once both exist.
    p->runner = std::make_unique<task_runner>(task_runner::parts{
        cfg.mcp, *p->tasks, *p->workers, *p->handlers, *p->timers, p->auth && p->auth->enabled(),
        [raw](const std::shared_ptr<call>& c) { return raw->calls->run(c); }});
    p->calls = std::make_unique<dispatcher>(
        method_services{p->reg, p->schemas, *p->workers, *p->sessions, *p->st, *p->runner});
    if (auto r = p->workers->start(); !r) return std::unexpected("cannot load the workers: " + r.error().message);
    p->runner->resume();
    p->admin = std::make_unique<admin_api>(
        admin_api::parts{p->cfg, *p->st, *p->sessions, *p->tasks, *p->workers, *p->tails, *p->auth});
    p->worker_http = std::make_unique<worker_api>(worker_api::parts{*p->workers, *p->auth, p->api_schemas});

    cfg.http.errors = [raw](unsigned status, std::string message) {
        // The transport's own answers: a 4xx is the client's request (-32600),
        // a 5xx the server's state (-32603).
        return raw->error_response(status, nullptr, status < 500 ? rpc_code::invalid_request : rpc_code::internal_error,
                                   message);
    };
    cfg.http.shutdown_retry = cfg.mcp.retry;
    auto http = transport::http_server::start(cfg.http, [raw](http_request&& req, std::shared_ptr<responder> res) {
        try {
            raw->on_http(std::move(req), res);
        } catch (const std::exception& e) {  // never let a request take the I/O thread down
            spdlog::error("litemcp: a request failed: {}", e.what());
            res->respond(raw->error_response(500, nullptr, rpc_code::internal_error, "internal error"));
        }
    });
    if (!http) return std::unexpected(http.error().message);
    p->http = std::move(*http);
    p->maintenance = std::thread([raw] {
        pthread_setname_np(pthread_self(), "mcp-maint");
        raw->maintenance_loop();
    });
    spdlog::info("litemcp: {} sessions on record; listening on {}:{}{} ({}), data in {}, fsync {}",
                 p->sessions->count(), cfg.http.host, p->http->port(), cfg.mcp.endpoint,
                 cfg.http.tls_cert_file.empty() ? "http" : "https", cfg.store.dir, cfg.store.fsync.to_string());
    return std::unique_ptr<mcp_server>(new mcp_server(std::move(p)));
}

mcp_server::mcp_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
mcp_server::~mcp_server() { stop(); }

std::uint16_t mcp_server::port() const { return impl_->http ? impl_->http->port() : 0; }
registry& mcp_server::tools() { return impl_->reg; }

mcp_stats mcp_server::stats() const {
    if (!impl_->http || !impl_->sessions) return {};
    auto h = impl_->http->stats();
    return {impl_->sessions->count(), impl_->sessions->loaded(), h.connections, h.streams, h.requests};
}

void mcp_server::stop() {
    auto& p = *impl_;
    if (p.stopping.exchange(true)) return;
    spdlog::info("litemcp: stopping");
    p.runner->stop_promotions();
    {
        std::lock_guard lock(p.maint_mu);
    }
    p.maint_cv.notify_all();
    if (p.maintenance.joinable()) p.maintenance.join();
    // Stop accepting and close streams (each gets retry: first; clients
    // resume later). Running requests get a few seconds to finish and record
    // their results; then the rest are cancelled, so nothing waits minutes for
    // a client's answer.
    {
        // Listen streams end with their final result, before the transport
        // closes every stream with a bare retry: hint.
        std::lock_guard lock(p.listens_mu);
        for (auto& w : p.listens)
            if (auto l = w.lock()) l->finish();
        p.listens.clear();
    }
    p.http->stop_accepting();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (p.meter.in_flight() > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    p.sessions->cancel_all();
    // Tasks still running stay working on record and run again after a
    // restart; outcomes that arrive from now on are not recorded.
    p.runner->interrupt();
    p.sessions->close_streams();
    // The pools finish what they hold and refuse more; a request whose record
    // is still being appended then gets a "busy" answer.
    p.workers->stop();
    p.handlers->stop();
    p.timers.reset();  // no promotion fires once the store may be going
    // A GET that was being set up while the streams were closed has attached
    // its stream by now; close it too.
    p.sessions->close_streams();
    p.delivery->stop();
    // Sessions own stream feeders, which own SSE streams, which hold their
    // connections: all of them go before the HTTP server does. The store goes
    // before it too: its last callbacks may still post to the connections.
    p.sessions.reset();
    p.http->stop(std::chrono::seconds(2));
    p.st.reset();  // final checkpoint
    p.http.reset();
    spdlog::info("litemcp: stopped");
}

void mcp_server::impl::maintenance_loop() {
    std::unique_lock lock(maint_mu);
    auto last_trim = std::chrono::steady_clock::now();
    while (!stopping) {
        maint_cv.wait_for(lock, std::chrono::seconds(1));
        if (stopping) break;
        tasks->expire_due();
        if (std::chrono::steady_clock::now() - last_trim >= std::chrono::seconds(30)) {
            sessions->trim_memory(std::chrono::seconds(60));
            last_trim = std::chrono::steady_clock::now();
        }
    }
}

// ---- responses -------------------------------------------------------------

http_response mcp_server::impl::json_response(unsigned status, const json& body) const {
    http_response r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = to_json(body);
    return r;
}

http_response mcp_server::impl::error_response(unsigned status, const json& id, int code, std::string_view message,
                                               std::optional<json> data) const {
    return json_response(status, make_error(id, code, message, std::move(data)));
}

session_channel::parts mcp_server::impl::session_parts() { return {*st, cfg.mcp, meter}; }
direct_channel::parts mcp_server::impl::direct_parts() { return {*results, meter, *workers, cfg.mcp.retry}; }

// ---- the endpoint ----------------------------------------------------------

std::optional<http_response> mcp_server::impl::check_origin_and_host(const http_request& req) const {
    auto allowed = [](const std::vector<std::string>& list, std::string_view v) {
        return std::any_of(list.begin(), list.end(), [&](auto& a) { return a == "*" || a == v; });
    };
    if (auto host = req.headers.get("Host")) {
        auto name = http::host_of(*host);
        const bool ok = http::is_loopback(*host) || allowed(cfg.mcp.allowed_hosts, name) || allowed(cfg.mcp.allowed_hosts, *host);
        if (!ok)
            return error_response(403, nullptr, rpc_code::invalid_request,
                                  "Host '" + std::string(*host) + "' is not allowed (DNS rebinding protection)");
    }
    if (auto origin = req.headers.get("Origin")) {
        const bool ok = http::is_loopback(http::origin_host(*origin)) || allowed(cfg.mcp.allowed_origins, *origin);
        if (!ok)
            return error_response(403, nullptr, rpc_code::invalid_request,
                                  "Origin '" + std::string(*origin) + "' is not allowed");
    }
    return std::nullopt;
}

namespace {

// The label of a POST body for /metrics.
std::string method_label(const json& body) {
    if (body.is_array()) return "batch";
    if (!body.is_object()) return "invalid";
    if (!body.contains("method")) return body.contains("id") ? "response" : "invalid";
    if (!body["method"].is_string()) return "invalid";
    return mcp_method_label(body["method"].get_ref<const std::string&>());
}

}  // namespace

void mcp_server::impl::on_http(http_request&& req, std::shared_ptr<responder> raw_res) {
    auto labels = std::make_shared<exchange_labels>();
    auto res = observe(req, std::move(raw_res), labels);
    if (handle_ops(req, res)) return;
    // RFC 9728: the protected-resource metadata, at the root and path-suffixed.
    constexpr std::string_view metadata_path = "/.well-known/oauth-protected-resource";
    if (req.path.starts_with(metadata_path) &&
        (req.path.size() == metadata_path.size() ||
         std::string_view(req.path).substr(metadata_path.size()) == cfg.mcp.endpoint)) {
        if (!auth->enabled()) return res->respond(json_response(404, json{{"error", "authentication is off"}}));
        return res->respond(json_response(200, auth->protected_resource_metadata()));
    }
    const std::string_view path = req.path;  // compared without strlen
    if (path.starts_with("/admin") && (path.size() == 6 || path[6] == '/')) {
        // Loopback callers need no token here, so a page a browser loads from
        // a rebound name must not reach the admin API through that browser.
        if (auto denied = check_origin_and_host(req)) return res->respond(std::move(*denied));
        auto shared_req = std::make_shared<http_request>(std::move(req));
        return on_pool(res, [this, shared_req, res] { admin->handle(std::move(*shared_req), res); });
    }
    if (path == "/workers" || path.starts_with("/workers/")) {
        if (auto denied = check_origin_and_host(req)) return res->respond(std::move(*denied));
        // The worker API writes the store synchronously: off the I/O thread.
        auto shared_req = std::make_shared<http_request>(std::move(req));
        return on_pool(res, [this, shared_req, res] { worker_http->handle(std::move(*shared_req), res); });
    }
    if (req.path != cfg.mcp.endpoint) {
        res->respond(error_response(404, nullptr, rpc_code::invalid_request, http::not_found_message(req)));
        return;
    }
    if (auto denied = check_origin_and_host(req)) return res->respond(std::move(*denied));
    if (!authenticate(req, res, scope::mcp)) return;
    const std::string_view method = req.method;  // compared without strlen
    if (method != "POST" && method != "GET" && method != "DELETE") {
        auto r = error_response(405, nullptr, rpc_code::invalid_request, http::not_allowed_message(req));
        r.headers.set("Allow", "GET, POST, DELETE");
        return res->respond(std::move(r));
    }
    // A POST is classified here, on the I/O thread; what blocks goes to the
    // handler pool from there. GET and DELETE read the store synchronously.
    if (method == "POST") return handle_post(std::move(req), std::move(res), labels);
    auto shared_req = std::make_shared<http_request>(std::move(req));
    const bool queued = handlers->post([this, shared_req, res] {
        if (shared_req->method == "GET") handle_get(*shared_req, res);
        else handle_delete(*shared_req, res);
    });
    if (!queued) res->respond(error_response(503, nullptr, rpc_code::internal_error, "the server is busy; retry later"));
}

bool mcp_server::impl::authenticate(http_request& req, const std::shared_ptr<responder>& res, std::string_view needed) {
    auto refused = auth->admit(req, needed);
    if (!refused) return true;
    auto answer = error_response(refused->status, nullptr, rpc_code::invalid_request, refused->message);
    answer.headers.set("WWW-Authenticate", refused->challenge);
    res->respond(std::move(answer));
    return false;
}

bool mcp_server::impl::initialize_allowed(const std::string& principal, std::chrono::seconds& retry_after) {
    if (principal.empty() || cfg.mcp.initialize_per_minute == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(rate_mu);
    auto& times = initializations[principal];
    while (!times.empty() && now - times.front() >= std::chrono::minutes(1)) times.pop_front();
    if (times.size() >= cfg.mcp.initialize_per_minute) {
        retry_after = std::chrono::ceil<std::chrono::seconds>(times.front() + std::chrono::minutes(1) - now);
        return false;
    }
    times.push_back(now);
    return true;
}

void mcp_server::impl::on_pool(std::shared_ptr<responder> res, std::function<void()> work) {
    if (!handlers->post(std::move(work)))
        res->respond(error_response(503, nullptr, rpc_code::internal_error, "the server is busy; retry later"));
}

std::expected<std::shared_ptr<session_state>, http_error> mcp_server::impl::session_for(const http_request& req,
                                                                                       const json& id) {
    auto sid = req.headers.get("Mcp-Session-Id");
    if (!sid || sid->empty())
        return std::unexpected(http_error{400, make_error(id, rpc_code::invalid_request,
                                                          "Bad Request: Mcp-Session-Id header is required")});
    auto s = sessions->find(std::string(*sid));
    // Another principal's session is as unknown as one that never existed.
    if (s && auth->enabled() && s->principal != req.principal) s = nullptr;
    if (!s)
        return std::unexpected(http_error{404, make_error(id, rpc_code::invalid_request,
                                                          "Session not found: it ended, expired or never existed; "
                                                          "initialize a new one")});
    if (auto v = req.headers.get("MCP-Protocol-Version")) {
        const bool known = std::find(cfg.mcp.versions.begin(), cfg.mcp.versions.end(), *v) != cfg.mcp.versions.end() ||
                           *v == "2024-11-05";
        if (!known)
            return std::unexpected(http_error{
                400, make_error(id, rpc_code::invalid_request,
                                "Bad Request: unsupported MCP-Protocol-Version '" + std::string(*v) + "'")});
        if (cfg.mcp.strict_protocol_version && *v != s->version)
            return std::unexpected(http_error{
                400, make_error(id, rpc_code::invalid_request,
                                "Bad Request: MCP-Protocol-Version '" + std::string(*v) +
                                    "' does not match the session's negotiated version " + s->version)});
    }
    return s;
}

void mcp_server::impl::handle_post(http_request&& req, std::shared_ptr<responder> res,
                                   const std::shared_ptr<exchange_labels>& labels) {
    if (!http::accepts(req, "application/json") || !http::accepts(req, "text/event-stream"))
        return res->respond(error_response(406, nullptr, rpc_code::invalid_request,
                                           "Not Acceptable: Accept must list application/json and text/event-stream"));
    if (!http::is_json(req))
        return res->respond(error_response(415, nullptr, rpc_code::invalid_request,
                                           "Unsupported Media Type: Content-Type must be application/json"));
    auto parsed = parse_json(req.body);
    if (!parsed)
        return res->respond(error_response(400, nullptr, rpc_code::parse_error,
                                           "Parse error: the body is not JSON: " + to_string(parsed.error())));
    json body = std::move(*parsed);
    labels->method = method_label(body);
    // 2026-07-28: a _meta envelope (or a modern header without a session)
    // is served statelessly, and a malformed one never falls back to legacy.
    if (is_modern(body, req)) {
        labels->era = "modern";
        return serve_modern(std::move(body), req, std::move(res));
    }

    if (body.is_array()) {
        if (body.empty())
            return res->respond(error_response(400, nullptr, rpc_code::invalid_request, "Invalid Request: empty batch"));
        auto s = session_for(req, nullptr);
        if (!s) return res->respond(json_response(s.error().status, s.error().body));
        if ((*s)->version != "2025-03-26")
            return res->respond(error_response(400, nullptr, rpc_code::invalid_request,
                                               "Invalid Request: batches are only accepted on sessions at 2025-03-26"));
        return on_pool(res, [this, s = *s, body = std::move(body), res]() mutable { serve_batch(s, std::move(body), res); });
    }

    auto kind = classify(body);
    const auto given_id = body.is_object() ? body.find("id") : body.end();
    const json id = given_id != body.end() && valid_id(*given_id) ? *given_id : json(nullptr);
    if (kind.kind == message_kind::invalid)
        return res->respond(error_response(400, id, rpc_code::invalid_request, "Invalid Request: " + kind.why));

    const bool initialize = kind.kind == message_kind::request &&
                            std::string_view(body["method"].get_ref<const std::string&>()) == "initialize";
    if (initialize) {
        // Only the session's own principal learns that it exists: another
        // one's initialize is treated as if the id were unknown (a new
        // session), so an id cannot be probed.
        if (auto sid = req.headers.get("Mcp-Session-Id"))
            if (auto s = sessions->find(std::string(*sid)); s && s->principal == req.principal)
                return res->respond(error_response(400, id, rpc_code::invalid_request,
                                                   "Invalid Request: the session is already initialized"));
        return on_pool(res, [this, body = std::move(body), principal = req.principal, res]() mutable {
            serve_initialize(std::move(body), std::move(principal), res);
        });
    }
    auto s = session_for(req, id);
    if (!s) return res->respond(json_response(s.error().status, s.error().body));
    switch (kind.kind) {
        case message_kind::notification:
            accept_notification(*s, body);
            return res->respond(http_response{202, {}, {}});
        case message_kind::response:
            return accept_client_answer(*s, std::move(body), [res] { res->respond(http_response{202, {}, {}}); });
        default:
            return serve_request(*s, std::move(body), std::move(req.body), res);
    }
}

void mcp_server::impl::handle_get(const http_request& req, std::shared_ptr<responder> res) {
    if (!http::accepts(req, "text/event-stream"))
        return res->respond(
            error_response(406, nullptr, rpc_code::invalid_request, "Not Acceptable: Accept must list text/event-stream"));
    auto found = session_for(req, nullptr);
    if (!found) return res->respond(json_response(found.error().status, found.error().body));
    auto s = *found;
    // A newer GET takes over the standalone stream (a proxy may have killed
    // the old one without either side noticing). Order them by arrival: two
    // GETs' handlers may run on two threads and finish in either order.
    std::uint64_t arrival;
    {
        std::lock_guard lock(s->mu);
        arrival = ++s->get_arrivals;
    }
    auto take_over = [&](const std::shared_ptr<stream_feeder>& feeder) {
        std::shared_ptr<stream_feeder> loser;
        {
            std::lock_guard lock(s->mu);
            if (arrival > s->get_installed) {
                s->get_installed = arrival;
                loser = std::exchange(s->get_stream, feeder);
            } else {
                loser = feeder;  // a newer GET got there first
            }
        }
        if (loser) loser->stop(true);
    };
    auto top = st->topic(s->topic);
    const std::uint64_t end = top ? top->end_offset : 0;
    const std::uint64_t first = top ? top->first_offset : 0;
    const bool priming = cfg.mcp.priming && s->version >= "2025-11-25";

    if (auto last = req.headers.get("Last-Event-ID")) {
        // "<n>-<o>" (a POST stream) or "g-<s>-<c>" (the GET stream).
        std::string_view v = *last;
        auto bad = [&](std::string why) {
            res->respond(error_response(400, nullptr, rpc_code::invalid_request,
                                        "Bad Request: Last-Event-ID '" + std::string(v.substr(0, 64)) + "' " + why));
        };
        auto dash = v.find('-');
        if (dash == std::string_view::npos) return bad("is not an event id of this server");
        auto tag = v.substr(0, dash);
        stream_feeder::options o;
        o.session = s;
        if (tag == session_log::get_stream) {
            auto rest = v.substr(dash + 1);
            auto dash2 = rest.find('-');
            std::uint64_t sp = 0, cp = 0;
            if (dash2 == std::string_view::npos || !parse_u64(rest.substr(0, dash2), sp) ||
                !parse_u64(rest.substr(dash2 + 1), cp))
                return bad("is not an event id of this server");
            if (sp > end) return bad("does not belong to this session");
            if (sp < first) {
                return res->respond(error_response(
                    410, nullptr, rpc_code::invalid_request,
                    "Gone: events after '" + std::string(v) + "' are older than the session's retained history"));
            }
            o.tag = std::string(session_log::get_stream);
            o.from = sp;
            o.changes_from = cp;
            o.persist_cursor = true;
        } else {
            std::uint64_t request = 0, offset = 0;
            if (!parse_u64(tag, request) || !parse_u64(v.substr(dash + 1), offset) || offset < request)
                return bad("is not an event id of this server");
            if (offset >= end) return bad("does not belong to this session");
            if (request < first || offset + 1 < first)
                return res->respond(error_response(
                    410, nullptr, rpc_code::invalid_request,
                    "Gone: events after '" + std::string(v) + "' are older than the session's retained history"));
            // The stream must have been opened by a request of this session.
            auto opener = st->read(s->topic, request, {1, 1u << 20});
            if (!opener || opener->records.empty() || opener->records[0].offset != request ||
                !(opener->records[0].flags & session_log::flag_client_request))
                return bad("does not belong to this session");
            o.tag = std::string(tag);
            o.from = offset + 1;
        }
        auto sse = res->start_sse({});
        if (priming) sse->send_priming(v, cfg.mcp.retry);
        auto feeder = stream_feeder::start(*st, *delivery, sse, std::move(o));
        if (feeder->get_stream()) take_over(feeder);
        return;
    }

    // A new standalone stream starts at the broker-held cursor: messages that
    // waited while no stream was attached are delivered now.
    const std::string consumer = s->id + ".g";
    auto cur = st->cursor(consumer, s->topic);
    auto ccur = st->cursor(consumer, changes_topic);
    stream_feeder::options o;
    o.session = s;
    o.tag = std::string(session_log::get_stream);
    o.from = cur && *cur ? **cur : 0;
    if (ccur && *ccur) {
        o.changes_from = **ccur;
    } else {
        auto ct = st->topic(changes_topic);
        o.changes_from = ct ? ct->end_offset : 0;
    }
    o.persist_cursor = true;
    auto sse = res->start_sse({});
    if (priming) sse->send_priming("g-" + std::to_string(o.from) + "-" + std::to_string(o.changes_from), cfg.mcp.retry);
    take_over(stream_feeder::start(*st, *delivery, sse, std::move(o)));
}

void mcp_server::impl::handle_delete(const http_request& req, std::shared_ptr<responder> res) {
    auto s = session_for(req, nullptr);
    if (!s) return res->respond(json_response(s.error().status, s.error().body));
    sessions->end(*s);
    res->respond(http_response{200, {}, {}});
}

}  // namespace litemcp::server
