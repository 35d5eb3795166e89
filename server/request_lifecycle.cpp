// A request's life on a session: initialize; where a request runs
// (placement); its record, its handler on the pool, its messages and its
// response, each appended to the session's topic on the request's stream
// before any socket sees it (serve_request, emit_on_stream, finish_request);
// batches; notifications and the client's answers. The I/O-thread fast path
// is at_once.cpp, the handler's run dispatch.cpp.
#include <spdlog/spdlog.h>

#include "server/interrupted_request.h"
#include "server/json_text.h"
#include "server/mcp_server_impl.h"
#include "server/method_table.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

// What is wrong with initialize's params (InitializeRequestParams in the
// schema), checked before anything is recorded; nullopt when nothing is.
// clientInfo may be absent (some clients leave it out); when present it is
// an Implementation: name and version strings.
std::optional<std::string> initialize_params_problem(const json& params) {
    if (!params.is_object()) return "initialize needs params (an object)";
    const auto v = params.find("protocolVersion");
    if (v == params.end() || !v->is_string()) return "initialize needs params.protocolVersion (a string)";
    if (const auto c = params.find("capabilities"); c != params.end() && !c->is_object())
        return "params.capabilities must be an object";
    if (const auto i = params.find("clientInfo"); i != params.end()) {
        if (!i->is_object()) return "params.clientInfo must be an object with name and version";
        for (const char* field : {"name", "version"})
            if (const auto f = i->find(field); f == i->end() || !f->is_string())
                return std::string("params.clientInfo.") + field + " must be a string";
    }
    return std::nullopt;
}

}  // namespace

// ---- store helpers ---------------------------------------------------------

store::result<store::append_ack> mcp_server::impl::emit(session_state& s, std::string_view tag, const json& msg,
                                                        std::uint32_t flags) {
    return st->append(s.topic, session_log::encode(tag, to_json(msg)), flags);
}

void mcp_server::impl::emit_on_stream(const std::shared_ptr<call>& c, const json& msg) {
    if (c->ephemeral) {  // nothing stored, nothing to resume: straight to the response
        std::shared_ptr<task> owner;
        {
            std::lock_guard lock(c->promotion_mu);
            owner = c->task;
        }
        if (owner) return tasks->note(*owner, msg);  // a task's messages are in its topic
        if (c->stream_open) c->sse->send({}, to_json(msg));
        return;
    }
    if (c->held) return c->held->push_back(to_json(msg));  // recorded with the response
    if (c->session->ended) return;  // its topic is gone; appending would bring it back
    auto body = std::make_shared<std::string>(to_json(msg));
    // The store completes appends in queue order (one batch at a time), so
    // the stream sees the messages in offset order.
    st->append_async(c->session->topic, session_log::encode(c->tag, *body), 0,
                     [c, body](store::result<store::append_ack> ack) {
                         if (!ack) {
                             spdlog::error("session {}: cannot record a message: {}", c->session->id,
                                           ack.error().message);
                             return;
                         }
                         if (c->stream_open) c->sse->send(c->tag + "-" + std::to_string(ack->offset), *body);
                     });
}

void mcp_server::impl::broadcast_list_changed(list_kind k) {
    const char* method = k == list_kind::tools       ? "notifications/tools/list_changed"
                         : k == list_kind::resources ? "notifications/resources/list_changed"
                                                     : "notifications/prompts/list_changed";
    if (!st) return;  // providers registering before the store opens
    // One append; every GET stream reads it from the shared change log.
    if (auto r = st->append(changes_topic, to_json(make_notification(method, nullptr))); !r)
        spdlog::error("litemcp: cannot record {}: {}", method, r.error().message);
}

void mcp_server::impl::resource_updated(const std::string& uri) {
    const auto msg = make_notification("notifications/resources/updated", json{{"uri", uri}});
    // 2026-07-28 listeners read it from the change log, each for its URIs.
    bool listening;
    {
        std::lock_guard lock(listens_mu);
        listening = !listens.empty();
    }
    if (listening)
        if (auto r = st->append(changes_topic, to_json(msg), changes_flag_listen_only); !r)
            spdlog::error("litemcp: cannot record the update of {}: {}", uri, r.error().message);
    // Legacy sessions subscribed with resources/subscribe get it on their GET stream.
    const std::string prefix = "sub/" + uri + "\n";
    auto subs = st->kv_scan(prefix, {}, 100'000);
    if (!subs) return;
    for (auto& [key, value] : *subs) {
        auto s = sessions->find(key.substr(prefix.size()));
        if (!s) {
            (void)st->kv_delete(key);
            continue;
        }
        (void)emit(*s, session_log::get_stream, msg);
    }
}

// ---- capabilities and negotiation ------------------------------------------

std::string mcp_server::impl::negotiate(const std::string& requested) const {
    for (auto& v : cfg.mcp.versions)
        if (v == requested) return v;
    if (requested == "2024-11-05") return requested;
    return cfg.mcp.versions.front();
}

json mcp_server::impl::server_capabilities(const std::string& version) const {
    // 2026-07-28 clients learn of changes through subscriptions/listen.
    if (version == modern_version)
        return json{{"tools", {{"listChanged", true}}},
                    {"resources", {{"subscribe", true}, {"listChanged", true}}},
                    {"prompts", {{"listChanged", true}}},
                    {"logging", json::object()},
                    {"completions", json::object()},
                    {"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}};
    json caps{{"tools", {{"listChanged", true}}},
              {"resources", {{"subscribe", true}, {"listChanged", true}}},
              {"prompts", {{"listChanged", true}}},
              {"logging", json::object()}};
    if (version >= "2025-03-26") caps["completions"] = json::object();
    if (version >= "2025-11-25")
        caps["tasks"] = {{"list", json::object()}, {"cancel", json::object()},
                         {"requests", {{"tools", {{"call", json::object()}}}}}};
    return caps;
}

// ---- requests --------------------------------------------------------------

void mcp_server::impl::observe_duration(const call& c) {
    stats.observe("litemcp_mcp_request_duration_seconds", {{"method", mcp_method_label(c.method)}},
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - c.arrived).count());
}

void mcp_server::impl::serve_initialize(json msg, std::string principal, std::shared_ptr<responder> res) {
    const json id = msg["id"];
    const json params = msg.value("params", json::object());
    if (auto problem = initialize_params_problem(params))
        return res->respond(error_response(400, id, rpc_code::invalid_params, "Invalid params: " + *problem));
    const std::string version = negotiate(params["protocolVersion"].get<std::string>());
    if (std::chrono::seconds wait{}; !initialize_allowed(principal, wait)) {
        auto r = error_response(429, id, rpc_code::invalid_request,
                                "Too Many Requests: '" + principal + "' may initialize " +
                                    std::to_string(cfg.mcp.initialize_per_minute) + " sessions a minute");
        r.headers.set("Retry-After", std::to_string(std::max<long long>(1, wait.count())));
        return res->respond(std::move(r));
    }
    auto created = sessions->create(version, params.value("capabilities", json::object()),
                                    params.value("clientInfo", json::object()), std::move(principal));
    if (!created) {
        const auto& why = created.error();
        const unsigned status = why.why == create_refusal::reason::principal_full ? 429 : 503;
        return res->respond(error_response(status, id, rpc_code::internal_error,
                                           (status == 429 ? "Too Many Requests: " : "Service Unavailable: ") + why.message));
    }
    auto s = *created;
    json result{{"protocolVersion", version},
                {"capabilities", server_capabilities(version)},
                {"serverInfo", {{"name", cfg.mcp.server_name}, {"version", cfg.mcp.server_version}}}};
    if (!cfg.mcp.instructions.empty()) result["instructions"] = cfg.mcp.instructions;
    const json response = make_result(id, std::move(result));
    // The session's topic opens with the handshake, like every later request.
    auto req = emit(*s, "", msg, session_log::flag_client_request);
    auto ack = req ? emit(*s, std::to_string(req->offset), response, session_log::flag_final) : req;
    if (!ack) {
        sessions->end(s);
        return res->respond(error_response(503, id, rpc_code::internal_error,
                                           "Service Unavailable: cannot record the session: " + ack.error().message));
    }
    auto r = json_response(200, response);
    r.headers.set("Mcp-Session-Id", s->id);
    spdlog::info("session {}: initialized at {} by {}", s->id, version, s->client_info.value("name", "?"));
    res->respond(std::move(r));
}

execution mcp_server::impl::placement(call& c) const {
    const std::string_view m = c.method;  // compared without strlen
    c.entry = find_method(m);
    if (c.entry && c.entry->on_io_thread) return execution::io;
    if (m == "tools/call") {
        const auto name = c.params.find("name");
        if (name == c.params.end() || !name->is_string()) return execution::pool;
        const auto& t = c.placed_tool.emplace(reg.find_tool(name->get_ref<const std::string&>()));
        if (t) return t->runs_on;
    }
    return execution::pool;
}

void mcp_server::impl::serve_request(std::shared_ptr<session_state> s, json msg, std::string raw,
                                     std::shared_ptr<responder> res) {
    auto c = std::make_shared<call>();
    c->session = s;
    if (raw.empty()) raw = to_json(msg);
    // msg is not used after: its members move into the call.
    c->id = std::move(*msg.find("id"));
    c->method = std::move(msg.find("method")->get_ref<std::string&>());
    if (auto p = msg.find("params"); p != msg.end()) c->params = std::move(*p);
    else c->params = json::object();
    if (const auto meta = c->params.find("_meta"); meta != c->params.end() && meta->is_object())
        if (const auto token = meta->find("progressToken"); token != meta->end()) c->progress_token = *token;
    c->streaming = !cfg.mcp.json_response;
    c->runs_on = placement(*c);
    c->res = std::move(res);
    c->id_key = to_json(c->id);
    const std::string& key = c->id_key;
    {
        std::lock_guard lock(s->mu);
        if (s->running.contains(key))
            return c->res->respond(error_response(
                400, c->id, rpc_code::invalid_request, "Invalid Request: id " + key + " is already in use by a running request"));
        s->running[key] = c->cancelled;
    }
    in_flight++;
    if (c->runs_on == execution::io) return serve_at_once(c, std::move(raw));
    st->append_async(s->topic, session_log::encode("", raw), session_log::flag_client_request,
                     [this, c](store::result<store::append_ack> rec) {
                         auto& s = *c->session;
                         if (!rec) {
                             {
                                 std::lock_guard lock(s.mu);
                                 s.running.erase(c->id_key);
                             }
                             c->res->respond(error_response(503, c->id, rpc_code::internal_error,
                                                            "Service Unavailable: cannot record the request: " +
                                                                rec.error().message));
                             in_flight--;
                             return;
                         }
                         c->tag = std::to_string(rec->offset);
                         {
                             std::lock_guard lock(s.mu);
                             s.live_streams.insert(rec->offset);
                         }
                         // This runs on the thread committing the store's
                         // batch (the appender, or an I/O thread in
                         // commit_queued), which must never wait for the
                         // store: the request goes on elsewhere.
                         if (c->runs_on == execution::io) return c->res->post([this, c] { run_request(c); });
                         if (!handlers->post([this, c] { run_request(c); }))
                             c->res->post([this, c] {
                                 open_stream(c);
                                 finish_request(c, make_error(c->id, rpc_code::internal_error,
                                                              "the server is busy; retry later"));
                             });
                     });
}

void mcp_server::impl::cancel_when_gone(const std::shared_ptr<call>& c) {
    auto cancel = [this, weak = std::weak_ptr<call>(c)] {
        auto c = weak.lock();
        if (!c) return;
        if (c->streaming && !c->stream_open.exchange(false)) return;  // closed by the server after the answer
        c->cancelled->store(true);
        {
            std::lock_guard lock(c->session->mu);
            for (auto& [id, w] : c->session->waiting) w->wake();
        }
        if (c->deferred) workers->cancel(c->session->id, c->id);
    };
    if (c->streaming) c->sse->on_closed(std::move(cancel));
    else if (c->res && c->runs_on != execution::io) c->res->on_disconnect(std::move(cancel));  // io: answered at once
}

mcp_server::impl::stream_start mcp_server::impl::stream_start_of(const call& c) const {
    // Priming is for resumable streams (2025-11-25 sessions). SEP-1699: a
    // stream closed at once (the client polls with GET + Last-Event-ID) is
    // primed even when priming is off, so the client has an id to resume from.
    const bool resumable = c.session->version >= "2025-11-25" && !c.ephemeral;
    const bool closes = resumable && cfg.mcp.close_post_streams;
    return {resumable && (cfg.mcp.priming || closes), closes};
}

void mcp_server::impl::open_stream(const std::shared_ptr<call>& c) {
    // 2026-07-28: a client that closes the response stream (or, for a JSON
    // answer, the connection) cancels the request; there is no
    // notifications/cancelled over HTTP.
    if (!c->streaming) {
        if (c->ephemeral) cancel_when_gone(c);
        return;
    }
    auto sse = c->res->start_sse({});
    const auto start = stream_start_of(*c);
    if (start.priming) sse->send_priming(c->tag + "-" + c->tag, cfg.mcp.retry);
    c->sse = sse;
    if (start.closes_at_once) {
        sse->close();
    } else {
        c->stream_open = true;
        if (c->ephemeral) cancel_when_gone(c);
    }
}

void mcp_server::impl::run_request(const std::shared_ptr<call>& c) {
    open_stream(c);
    auto response = execute(c);
    if (c->deferred) {
        in_flight--;  // the call is in the store now; the worker hub finishes it
        return;
    }
    finish_request(c, std::move(response));
}

void mcp_server::impl::finish_request(const std::shared_ptr<call>& c, std::optional<json> response) {
    if (c->ephemeral) {
        {
            std::unique_lock lock(c->promotion_mu);
            const auto state = c->promotion_state;
            if (state == call::promotion::armed) c->promotion_state = call::promotion::answered;
            if (c->task && state == call::promotion::none) {  // a task's run, finished by a worker
                lock.unlock();
                return settle_task(c->task, c.get(), std::move(response));
            }
            if (state == call::promotion::promoted || state == call::promotion::answered) {
                // The client has its answer (a CreateTaskResult, or an error).
                auto owner = c->task;
                lock.unlock();
                if (owner) settle_task(owner, c.get(), std::move(response));
                if (!c->deferred) in_flight--;
                return;
            }
        }
        response = modernize(*c, std::move(response));
        if (c->streaming) {
            if (c->stream_open.exchange(false)) {
                if (response) c->sse->send({}, to_json(*response));
                c->sse->close();
            }
        } else if (!response) {
            c->res->respond(http_response{202, {}, {}});
        } else {
            // A missing capability is a 400 in 2026-07-28; other errors ride a 200.
            const bool refused = response->contains("error") &&
                                 (*response)["error"].value("code", 0) == rpc_code::missing_capability;
            c->res->respond(json_response(refused ? 400 : 200, *response));
        }
        observe_duration(*c);
        if (!c->deferred) in_flight--;
        return;
    }
    auto& s = *c->session;
    // The id is free again before the client can see the response (it may
    // reuse it at once); the stream stays live until its final record is in
    // the topic, so a resuming reader that sees "not live" finds it.
    bool interrupted;
    {
        std::lock_guard lock(s.mu);
        s.running.erase(c->id_key);
        interrupted = s.interrupted.erase(c->id_key) > 0;
    }
    if (s.ended) {  // DELETEd meanwhile: its topic is gone and stays gone
        {
            std::lock_guard lock(s.mu);
            s.live_streams.erase(std::stoull(c->tag));
        }
        if (c->stream_open.exchange(false)) c->sse->close();
        else if (!c->streaming && c->res) c->res->respond(http_response{404, {}, {}});
        if (!c->deferred) in_flight--;
        return;
    }
    // Cancelled by the client: no response is sent. Cancelled by a server
    // stop: the client is told, so that it can send the request again.
    if (!response && interrupted) response = interrupted_error(c->id);
    const bool silent = !response;
    auto body = std::make_shared<std::string>(response ? to_json(*response) : "{}");
    const auto flags = session_log::flag_final | (silent ? session_log::flag_silent : 0);
    st->append_async(s.topic, session_log::encode(c->tag, *body), flags,
                     [this, c, body, silent](store::result<store::append_ack> ack) {
                         auto& s = *c->session;
                         if (!ack)
                             spdlog::error("session {}: cannot record the response to {}: {}", s.id, to_json(c->id),
                                           ack.error().message);
                         {
                             std::lock_guard lock(s.mu);
                             s.live_streams.erase(std::stoull(c->tag));
                         }
                         if (c->streaming) {
                             if (c->stream_open.exchange(false)) {
                                 if (!ack)  // not resumable, but the client is not left waiting
                                     c->sse->send({}, to_json(make_error(c->id, rpc_code::internal_error,
                                                                         "the response could not be recorded")));
                                 else if (!silent)
                                     c->sse->send(c->tag + "-" + std::to_string(ack->offset), *body);
                                 c->sse->close();
                             }
                         } else if (!ack) {
                             c->res->respond(error_response(503, c->id, rpc_code::internal_error,
                                                            "Service Unavailable: cannot record the response"));
                         } else if (silent) {
                             c->res->respond(http_response{202, {}, {}});
                         } else {
                             http_response r;
                             r.status = 200;
                             r.headers.set("Content-Type", "application/json");
                             r.body = *body;
                             c->res->respond(std::move(r));
                         }
                         observe_duration(*c);
                         if (!c->deferred) in_flight--;
                     });
}

void mcp_server::impl::serve_batch(std::shared_ptr<session_state> s, json batch, std::shared_ptr<responder> res) {
    // 2025-03-26 batches: executed in order, answered with one JSON array.
    json responses = json::array();
    for (auto& msg : batch) {
        auto kind = classify(msg);
        const json id = msg.is_object() && msg.contains("id") && valid_id(msg["id"]) ? msg["id"] : json(nullptr);
        if (kind.kind == message_kind::invalid) {
            responses.push_back(make_error(id, rpc_code::invalid_request, "Invalid Request: " + kind.why));
            continue;
        }
        if (kind.kind == message_kind::notification) {
            accept_notification(s, msg);
            continue;
        }
        if (kind.kind == message_kind::response) {
            accept_client_answer(s, msg, nullptr);
            continue;
        }
        if (msg["method"] == "initialize") {
            responses.push_back(make_error(id, rpc_code::invalid_request, "initialize cannot be part of a batch"));
            continue;
        }
        auto c = std::make_shared<call>();
        c->session = s;
        c->id = id;
        c->method = msg["method"].get<std::string>();
        c->params = msg.value("params", json::object());
        c->streaming = false;
        auto rec = emit(*s, "", msg, session_log::flag_client_request);
        if (!rec) {
            responses.push_back(make_error(id, rpc_code::internal_error, "cannot record the request"));
            continue;
        }
        c->tag = std::to_string(rec->offset);
        {
            std::lock_guard lock(s->mu);  // running here: a resume of its stream waits for the final
            s->live_streams.insert(rec->offset);
        }
        auto response = execute(c);
        (void)emit(*s, c->tag, response ? *response : json::object(),
                   session_log::flag_final | (response ? 0 : session_log::flag_silent));
        {
            std::lock_guard lock(s->mu);
            s->live_streams.erase(rec->offset);
        }
        if (response) responses.push_back(std::move(*response));
    }
    if (responses.empty()) return res->respond(http_response{202, {}, {}});
    res->respond(json_response(200, responses));
}

void mcp_server::impl::accept_notification(const std::shared_ptr<session_state>& s, const json& msg) {
    const auto& method = msg["method"].get_ref<const std::string&>();
    const json params = msg.value("params", json::object());
    if (method == "notifications/initialized") {
        std::lock_guard lock(s->mu);
        s->initialized = true;
    } else if (method == "notifications/cancelled") {
        if (!params.contains("requestId")) return;
        {
            std::lock_guard lock(s->mu);
            if (auto it = s->running.find(to_json(params["requestId"])); it != s->running.end()) {
                *it->second = true;
                for (auto& [id, w] : s->waiting) w->wake();
            }
        }
        workers->cancel(s->id, params["requestId"]);  // a call waiting on a worker
    }
    // roots/list_changed and others need no action here.
}

void mcp_server::impl::accept_client_answer(const std::shared_ptr<session_state>& s, json msg,
                                            std::function<void()> done) {
    // Recorded first, so the answer is part of the session's history wherever
    // the waiting handler runs; then the handler wakes.
    auto m = std::make_shared<json>(std::move(msg));
    st->append_async(s->topic, session_log::encode("", to_json(*m)), session_log::flag_client_answer,
                     [s, m, done = std::move(done)](store::result<store::append_ack> ack) {
                         if (!ack)
                             spdlog::error("session {}: cannot record the client's answer {}: {}", s->id,
                                           to_json((*m)["id"]), ack.error().message);
                         std::shared_ptr<pending_reply> w;
                         {
                             std::lock_guard lock(s->mu);
                             if (auto it = s->waiting.find(to_json((*m)["id"])); it != s->waiting.end()) w = it->second;
                         }
                         if (w) {
                             {
                                 std::lock_guard lock(w->mu);
                                 w->answer = std::move(*m);
                             }
                             w->cv.notify_all();
                         } else {
                             spdlog::debug("session {}: answer {} matches no waiting request", s->id, to_json((*m)["id"]));
                         }
                         if (done) done();
                     });
}

}  // namespace litemcp::server
