// mcp_server: where the parts are made and wired (docs/architecture.md), and
// the order they stop in.
#include "server/app/mcp_server.h"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "schemas/schemas.h"
#include "server/app/mcp_server_impl.h"
#include "server/http/answers.h"
#include "server/json/json_text.h"
#include "server/util/counted.h"

namespace litemcp::server {

using transport::http_request;
using transport::responder;

namespace {

// The worker API's request schemas (schemas/), compiled once.
std::expected<std::map<std::string, std::shared_ptr<const json_schema>>, std::string> worker_api_schemas() {
    std::map<std::string, std::shared_ptr<const json_schema>> out;
    for (auto name : {"worker-register", "worker-progress", "worker-log", "worker-result", "worker-error",
                      "worker-failure", "worker-suspend", "worker-extend"}) {
        auto doc = parse_json(schemas::find(name).value());
        if (!doc) return std::unexpected("schema " + std::string(name) + " is not JSON: " + doc.error().message);
        auto compiled = json_schema::compile(*doc);
        if (!compiled) return std::unexpected("schema " + std::string(name) + " does not compile: " + compiled.error());
        out[name] = *compiled;
    }
    return out;
}

// Opens what the parts stand on: authentication, the request-state key, the
// store (recovering it). The store learns of an expired session or task
// only through its callback, which reaches the parts made later through p.
// The data folder is a writable folder, or can be made: its nearest
// existing ancestor is one.
std::expected<void, std::string> check_data_folder(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (fs::exists(status)) {
        if (!fs::is_directory(status)) return std::unexpected("the data folder " + dir + " is not a folder");
        if (::access(dir.c_str(), W_OK | X_OK) != 0)
            return std::unexpected("the data folder " + dir + " is not writable: " + std::strerror(errno));
        return {};
    }
    auto parent = fs::absolute(dir, ec).parent_path();
    while (parent.has_relative_path() && !fs::exists(parent, ec)) parent = parent.parent_path();
    if (!fs::is_directory(parent, ec))
        return std::unexpected("cannot create the data folder " + dir + ": " + parent.string() + " is not a folder");
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
        return std::unexpected("cannot create the data folder " + dir + ": " + parent.string() + ": " +
                               std::strerror(errno));
    return {};
}

// The store, as the start-up log and errors name it.
std::string store_name(const store::store_options& o) {
    if (o.nats.servers.empty()) return "in " + o.dir;
    std::string urls;
    for (auto& u : o.nats.servers) urls += (urls.empty() ? "" : ",") + u;
    return "on NATS JetStream at " + urls;
}

// The request-state key the servers sharing a store agree on: the first to
// start stores one, the others read it.
std::expected<std::string, std::string> shared_request_state_key(store::store& st) {
    constexpr std::string_view key_name = "config/request-state-key";
    const auto fresh = request_state_codec::new_key();
    if (fresh.empty()) return std::unexpected("no randomness for a key");
    if (auto made = st.kv_create(key_name, fresh); !made) return std::unexpected(made.error().message);
    auto key = st.kv_get(key_name);
    if (!key) return std::unexpected(key.error().message);
    if (!*key || (*key)->size() < 16) return std::unexpected("the shared key is missing or shorter than 16 bytes");
    return **key;
}

std::expected<void, std::string> open_foundations(mcp_server::impl& p) {
    auto& cfg = p.cfg;
    // What can be checked is checked before anything is written to disk.
    if (cfg.http.port != 0)
        if (auto r = transport::check_listen_address(cfg.http.host, cfg.http.port); !r) return std::unexpected(r.error());
    const bool shared_store = !cfg.store.nats.servers.empty();
    if (!shared_store)
        if (auto r = check_data_folder(cfg.store.dir); !r) return std::unexpected(r.error());
    for (auto& parent : builtin_parents(cfg.mcp)) cfg.store.parents.push_back(parent);
    cfg.store.on_reclaimed = [raw = &p](std::string_view topic) {
        if (raw->stopping) return;
        if (topic.starts_with("mcp.task/")) {
            if (raw->tasks) raw->tasks->reclaimed(topic);
        } else if (raw->sessions) {
            raw->sessions->expired(topic);
        }
    };
    auto auth = authenticator::load(cfg.auth);
    if (!auth) return std::unexpected(auth.error());
    p.auth = std::move(*auth);
    auto api_schemas = worker_api_schemas();
    if (!api_schemas) return std::unexpected(api_schemas.error());
    p.api_schemas = std::move(*api_schemas);
    auto st = store::store::open(cfg.store);
    if (!st) return std::unexpected("cannot open the store " + store_name(cfg.store) + ": " + st.error().message);
    p.st = std::move(*st);
    // Servers sharing a store share the key too: any of them opens the
    // requestState another sealed.
    if (shared_store && cfg.mcp.request_state.key.empty()) {
        auto key = shared_request_state_key(*p.st);
        if (!key) return std::unexpected("request state: " + key.error());
        cfg.mcp.request_state.key = *key;
    }
    auto states = request_state_codec::load(cfg.mcp.request_state, cfg.store.dir);
    if (!states) return std::unexpected("request state: " + states.error());
    p.states = std::make_unique<request_state_codec>(std::move(*states));
    p.results = std::make_unique<stateless_results>(cfg.mcp, *p.states, p.auth->enabled());
    return {};
}

// Makes every part, each given the parts it uses.
void make_parts(mcp_server::impl& p) {
    const auto& o = p.cfg.mcp;
    const bool authenticated = p.auth->enabled();
    p.bursts = std::make_unique<commit_bursts>(*p.st);
    p.sessions = std::make_unique<session_table>(*p.st, o.max_sessions, o.max_sessions_per_principal, o.session_recount);
    p.handlers = std::make_unique<work_pool>("handlers", o.handler_threads, o.handler_queue);
    p.delivery = std::make_unique<work_pool>("delivery", 2, 1'000'000);
    // Each relayed request holds a thread until its client answers: a pool
    // of its own, so a few people slow to answer hold no one else's request.
    p.relay = std::make_unique<work_pool>("relay", std::max(1u, p.cfg.workers.relay_threads), 10'000);
    p.timers = std::make_unique<timer_queue>();
    p.tasks = std::make_unique<task_table>(*p.st, task_table_options{o.max_active_tasks});
    p.sink = std::make_unique<worker_sink>(
        worker_sink::parts{*p.sessions, *p.tasks, nullptr, nullptr, p.relay.get(), p.cfg.workers.relay_per_client});
    p.workers = std::make_unique<worker_hub>(*p.st, p.reg, *p.sink, p.cfg.workers);
    p.upstream_links = std::make_unique<upstreams>(*p.workers, p.cfg.upstreams);
    p.parked = std::make_unique<parked_inputs>(
        parked_inputs::parts{*p.workers, *p.timers, o.request_state.ttl, p.cfg.workers.max_parked_inputs});
    // The task runner runs handlers through the dispatcher, whose methods
    // start tasks through the runner: the runner reaches it through p.
    p.runner = std::make_unique<task_runner>(
        task_runner::parts{o, *p.tasks, *p.workers, *p.handlers, *p.timers, authenticated,
                           [raw = &p](const std::shared_ptr<call>& c) { return raw->calls->run(c); }});
    p.calls = std::make_unique<dispatcher>(method_services{p.reg, p.schemas, *p.workers, *p.sessions, *p.st, *p.runner, *p.parked});
    p.signals = std::make_unique<session_signals>(
        session_signals::parts{*p.st, *p.sessions, *p.workers, *p.handlers, *p.timers, p.stopping});
    // Signals from the other servers sharing the store: about workers
    // (hub_peers.h), tasks (task_table.h) or legacy sessions (session_signals.h). Never blocks: store reads go to
    // the handler pool.
    p.st->on_signal([raw = &p](std::string_view channel, std::string_view payload) -> std::optional<std::string> {
        if (raw->stopping) return std::nullopt;
        if (channel.starts_with("w-")) return raw->workers->on_signal(channel, payload);
        if (channel == task_table::live_question) return raw->tasks->answer_live(std::string(payload));
        if (channel == task_table::changed_signal) {
            (void)raw->handlers->post([raw, id = std::string(payload)] { raw->runner->changed_elsewhere(id); });
            return std::nullopt;
        }
        return raw->signals->handle(channel, payload);
    });
    p.session_api = std::make_unique<session_endpoint>(session_endpoint::parts{
        o, *p.st, *p.sessions, *p.calls, *p.handlers, *p.delivery, *p.workers, p.meter, *p.bursts, *p.signals,
        authenticated});
    p.stateless_api = std::make_unique<stateless_endpoint>(
        stateless_endpoint::parts{o, p.reg, *p.workers, *p.calls, *p.st, *p.tasks, *p.handlers, *p.delivery,
                                  *p.states, *p.results, p.meter, authenticated});
    p.endpoint = std::make_unique<mcp_endpoint>(
        mcp_endpoint::parts{o, *p.auth, *p.handlers, *p.session_api, *p.stateless_api});
    p.sink->attach(*p.session_api, *p.runner, *p.parked);
    p.notices = std::make_unique<change_notices>(change_notices::parts{*p.st, *p.sessions, *p.stateless_api});
    p.reg.on_list_changed([raw = &p](list_kind k) { raw->notices->list_changed(k); });
    p.reg.on_resource_updated([raw = &p](const std::string& uri) { raw->notices->resource_updated(uri); });
    p.tasks->on_saved([raw = &p](const task_record& r) { raw->notices->task_changed(r); });
    p.ops = std::make_unique<probes>(probes::parts{
        o, *p.auth, p.stats, *p.st, *p.sessions, *p.tasks, *p.workers,
        [raw = &p] { return raw->http ? raw->http->stats() : transport::server_stats{}; },
        [raw = &p] { return raw->meter.in_flight(); }, p.stopping});
    p.tails = std::make_unique<admin_tails>();
    p.admin = std::make_unique<admin_api>(
        admin_api::parts{p.cfg, *p.st, *p.sessions, *p.tasks, *p.workers, *p.tails, *p.auth});
    p.worker_http = std::make_unique<worker_api>(worker_api::parts{
        *p.workers, *p.auth, p.api_schemas,
        [raw = &p](json body, std::optional<std::string> credential, std::string owner,
                   std::function<void(worker_answer)> done) {
            raw->upstream_links->register_upstream(std::move(body), std::move(credential), std::move(owner),
                                                   std::move(done));
        }});
}

// Opens the listener; from here on requests arrive.
std::expected<void, std::string> listen(mcp_server::impl& p) {
    auto& cfg = p.cfg;
    cfg.http.errors = [](unsigned status, std::string message) {
        // The transport's own answers: a 4xx is the client's request (-32600),
        // a 5xx the server's state (-32603).
        return http::rpc_error(status, nullptr, status < 500 ? rpc_code::invalid_request : rpc_code::internal_error,
                               message);
    };
    cfg.http.shutdown_retry = cfg.mcp.retry;
    auto http = transport::http_server::start(cfg.http, [raw = &p](http_request&& req, std::shared_ptr<responder> res) {
        try {
            raw->on_http(std::move(req), res);
        } catch (const std::exception& e) {  // never let a request take the I/O thread down
            spdlog::error("litemcp: a request failed: {}", e.what());
            res->respond(http::rpc_error(500, nullptr, rpc_code::internal_error, "internal error"));
        }
    });
    if (!http) return std::unexpected(http.error().message);
    p.http = std::move(*http);
    p.maintenance = std::thread([raw = &p] {
        pthread_setname_np(pthread_self(), "mcp-maint");
        raw->maintenance_loop();
    });
    return {};
}

}  // namespace

std::expected<std::unique_ptr<mcp_server>, std::string> mcp_server::start(
    server_config config, const std::function<void(registry&)>& providers) {
    auto p = std::make_unique<impl>(std::move(config));
    if (auto r = open_foundations(*p); !r) return std::unexpected(r.error());
    make_parts(*p);
    if (providers) providers(p->reg);
    if (auto r = p->workers->start(); !r) return std::unexpected("cannot load the workers: " + r.error().message);
    p->runner->resume();
    if (auto r = listen(*p); !r) return std::unexpected(r.error());
    p->upstream_links->start();
    const auto& cfg = p->cfg;
    spdlog::info("litemcp: {} on record; listening on {}:{}{} ({}), store {}{}",
                 counted(p->sessions->count(), "session"), cfg.http.host, p->http->port(), cfg.mcp.endpoint,
                 cfg.http.tls_cert_file.empty() ? "http" : "https", store_name(cfg.store),
                 cfg.store.nats.servers.empty() ? ", fsync " + cfg.store.fsync.to_string() : std::string());
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
    p.st->on_signal(nullptr);  // other servers' signals no longer reach the parts
    p.runner->stop_promotions();
    {
        std::lock_guard lock(p.maint_mu);
    }
    p.maint_cv.notify_all();
    if (p.maintenance.joinable()) p.maintenance.join();
    // Stop accepting and close streams (each gets retry: first; clients
    // resume later). Running requests get a few seconds to finish and record
    // their results; then the rest are cancelled, so nothing waits minutes for
    // a client's answer. Listen streams end with their final result, before
    // the transport closes every stream with a bare retry: hint.
    p.stateless_api->finish_listens();
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
    p.parked->stop();  // the tool servers' requests waiting for clients' next rounds get an error
    p.upstream_links->stop();
    p.relay->stop();  // a relayed request still waiting ends: its call is cancelled below
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
        sessions->refresh_counts();  // a shared store: the other servers' counts
        if (std::chrono::steady_clock::now() - last_trim >= std::chrono::seconds(30)) {
            sessions->trim_memory(std::chrono::seconds(60));
            last_trim = std::chrono::steady_clock::now();
        }
    }
}

}  // namespace litemcp::server
