// A request's life on a session: initialize; where a request runs
// (placement); its record, then its handler on the pool, whose messages and
// response its session_channel records and writes (serve_request,
// run_request); batches; notifications and the client's answers. The
// I/O-thread fast path is at_once.cpp, the handler's run dispatcher.cpp.
#include <spdlog/spdlog.h>

#include "server/sessions/interrupted_request.h"
#include "server/json/json_text.h"
#include "server/app/mcp_server_impl.h"
#include "server/mcp/method_table.h"

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

void mcp_server::impl::serve_request(std::shared_ptr<session_state> s, json msg, std::string raw,
                                     std::shared_ptr<responder> res) {
    auto c = std::make_shared<call>();
    if (raw.empty()) raw = to_json(msg);
    // msg is not used after: its members move into the call.
    c->id = std::move(*msg.find("id"));
    c->method = std::move(msg.find("method")->get_ref<std::string&>());
    if (auto p = msg.find("params"); p != msg.end()) c->params = std::move(*p);
    else c->params = json::object();
    if (const auto meta = c->params.find("_meta"); meta != c->params.end() && meta->is_object())
        if (const auto token = meta->find("progressToken"); token != meta->end()) c->progress_token = *token;
    c->runs_on = calls->placement(*c);
    c->id_key = to_json(c->id);
    const std::string& key = c->id_key;
    {
        std::lock_guard lock(s->mu);
        if (s->running.contains(key))
            return res->respond(error_response(
                400, c->id, rpc_code::invalid_request, "Invalid Request: id " + key + " is already in use by a running request"));
        s->running[key] = c->cancelled;
    }
    c->session = s;
    meter.arrived();
    const bool streaming = !cfg.mcp.json_response;
    if (c->runs_on == execution::io) {
        c->channel = std::make_shared<at_once_channel>(session_parts(), *bursts, std::move(s), std::move(res), streaming,
                                                      std::move(raw));
        return c->channel->finish(c, calls->run(c));  // never waits: an I/O-thread handler
    }
    auto channel = std::make_shared<session_channel>(session_parts(), s, std::move(res), streaming);
    c->channel = channel;
    st->append_async(s->topic, session_log::encode("", raw), session_log::flag_client_request,
                     [this, c, channel](store::result<store::append_ack> rec) {
                         auto& s = *c->session;
                         if (!rec) {
                             {
                                 std::lock_guard lock(s.mu);
                                 s.running.erase(c->id_key);
                             }
                             channel->responder()->respond(error_response(
                                 503, c->id, rpc_code::internal_error,
                                 "Service Unavailable: cannot record the request: " + rec.error().message));
                             meter.left();
                             return;
                         }
                         channel->recorded_at(rec->offset);
                         {
                             std::lock_guard lock(s.mu);
                             s.live_streams.insert(rec->offset);
                         }
                         // This runs on the thread committing the store's
                         // batch (the appender, or an I/O thread in
                         // commit_queued), which must never wait for the
                         // store: the request goes on elsewhere.
                         if (!handlers->post([this, c] { run_request(c); }))
                             channel->responder()->post([this, c] {
                                 c->channel->open(c);
                                 c->channel->finish(c, fail(rpc_code::internal_error, "the server is busy; retry later"));
                             });
                     });
}

void mcp_server::impl::run_request(const std::shared_ptr<call>& c) {
    c->channel->open(c);
    auto outcome = calls->run(c);
    if (c->deferred) {
        meter.left();  // the call is in the store now; the worker hub finishes it
        return;
    }
    c->channel->finish(c, std::move(outcome));
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
        c->id_key = to_json(id);
        c->method = msg["method"].get<std::string>();
        c->params = msg.value("params", json::object());
        auto channel = std::make_shared<batch_channel>(session_parts(), s);
        c->channel = channel;
        auto rec = emit(*s, "", msg, session_log::flag_client_request);
        if (!rec) {
            responses.push_back(make_error(id, rpc_code::internal_error, "cannot record the request"));
            continue;
        }
        channel->recorded_at(rec->offset);
        {
            std::lock_guard lock(s->mu);  // running here: a resume of its stream waits for the final
            s->live_streams.insert(rec->offset);
        }
        channel->finish(c, calls->run(c));
        if (auto answer = channel->take_answer()) responses.push_back(std::move(*answer));
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
        workers->cancel({call_origin::kind::session, s->id, {}}, params["requestId"]);  // a call waiting on a worker
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
