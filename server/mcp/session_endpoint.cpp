// The stateful eras' POST and DELETE: initialize; a request's record, run
// and answer (its session_channel records and writes what it sends);
// batches; notifications and the client's answers. The I/O-thread fast path
// is at_once.cpp, a handler's run dispatcher.cpp, GET session_get.cpp.
#include "server/mcp/session_endpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/http/answers.h"
#include "server/json/json_text.h"
#include "server/mcp/capabilities.h"
#include "server/sessions/session_log.h"

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

store::result<store::append_ack> append(store::store& st, session_state& s, std::string_view tag, const json& msg,
                                        std::uint32_t flags) {
    return st.append(s.topic, session_log::encode(tag, to_json(msg)), flags);
}

http_response accepted() { return http_response{202, {}, {}}; }

}  // namespace

bool session_endpoint::lookup_waits(const http_request& req) const {
    if (!p_.st.shared()) return false;
    auto sid = req.headers.get("Mcp-Session-Id");
    return sid && !sid->empty() && !p_.sessions.loaded_state(std::string(*sid));
}

void session_endpoint::post(http_request&& req, json body, std::shared_ptr<responder> res) {
    if (!lookup_waits(req)) return post_now(std::move(req), std::move(body), std::move(res));
    auto r = std::make_shared<http_request>(std::move(req));
    auto b = std::make_shared<json>(std::move(body));
    on_pool(res, [this, r, b, res] { post_now(std::move(*r), std::move(*b), res); });
}

void session_endpoint::get(const http_request& req, std::shared_ptr<responder> res) {
    if (!p_.st.shared()) return get_now(req, std::move(res));
    auto r = std::make_shared<http_request>(req);
    on_pool(res, [this, r, res] { get_now(*r, res); });
}

void session_endpoint::del(const http_request& req, std::shared_ptr<responder> res) {
    if (!p_.st.shared()) return del_now(req, std::move(res));
    auto r = std::make_shared<http_request>(req);
    on_pool(res, [this, r, res] { del_now(*r, res); });
}

void session_endpoint::post_now(http_request&& req, json body, std::shared_ptr<responder> res) {
    if (body.is_array()) {
        if (body.empty())
            return res->respond(http::rpc_error(400, nullptr, rpc_code::invalid_request, "Invalid Request: empty batch"));
        auto s = session_for(req, nullptr);
        if (!s) return res->respond(std::move(s.error()));
        if ((*s)->version != "2025-03-26")
            return res->respond(http::rpc_error(400, nullptr, rpc_code::invalid_request,
                                                "Invalid Request: batches are only accepted on sessions at 2025-03-26"));
        return on_pool(res, [this, s = *s, body = std::move(body), res]() mutable { batch(s, std::move(body), res); });
    }
    auto kind = classify(body);
    const auto given_id = body.is_object() ? body.find("id") : body.end();
    const json id = given_id != body.end() && valid_id(*given_id) ? *given_id : json(nullptr);
    if (kind.kind == message_kind::invalid)
        return res->respond(http::rpc_error(400, id, rpc_code::invalid_request, "Invalid Request: " + kind.why));
    const bool is_initialize = kind.kind == message_kind::request &&
                               std::string_view(body["method"].get_ref<const std::string&>()) == "initialize";
    if (is_initialize) {
        // Only the session's own principal learns that it exists: another
        // one's initialize is treated as if the id were unknown (a new
        // session), so an id cannot be probed.
        if (auto sid = req.headers.get("Mcp-Session-Id"))
            if (auto s = p_.sessions.find(std::string(*sid)).value_or(nullptr); s && s->principal == req.principal)
                return res->respond(http::rpc_error(400, id, rpc_code::invalid_request,
                                                    "Invalid Request: the session is already initialized"));
        return on_pool(res, [this, body = std::move(body), principal = req.principal, res]() mutable {
            initialize(std::move(body), std::move(principal), res);
        });
    }
    auto s = session_for(req, id);
    if (!s) return res->respond(std::move(s.error()));
    switch (kind.kind) {
        case message_kind::notification:
            notification(*s, body);
            return res->respond(accepted());
        case message_kind::response:
            return client_answer(*s, std::move(body), [res] { res->respond(accepted()); });
        default:
            return request(*s, std::move(body), std::move(req.body), res);
    }
}

void session_endpoint::del_now(const http_request& req, std::shared_ptr<responder> res) {
    auto s = session_for(req, nullptr);
    if (!s) return res->respond(std::move(s.error()));
    p_.sessions.end(*s);
    res->respond(http_response{200, {}, {}});
}

std::expected<std::shared_ptr<session_state>, http_response> session_endpoint::session_for(const http_request& req,
                                                                                          const json& id) {
    auto refuse = [&](unsigned status, std::string message) {
        return std::unexpected(http::rpc_error(status, id, rpc_code::invalid_request, message));
    };
    auto sid = req.headers.get("Mcp-Session-Id");
    if (!sid || sid->empty())
        return refuse(400, "Bad Request: Mcp-Session-Id header is required. This is an MCP endpoint (Streamable "
                           "HTTP): a client POSTs an initialize request here first, then sends the Mcp-Session-Id "
                           "it gets back with every request");
    auto found = p_.sessions.find(std::string(*sid));
    if (!found) {
        // Not "no such session": a client told 404 starts a new session and
        // leaves this one behind. 503 with Retry-After tells it to come back.
        auto r = http::rpc_error(503, id, rpc_code::internal_error,
                                 "Service Unavailable: cannot look the session up now (" + found.error().message +
                                     "); retry");
        r.headers.set("Retry-After", "1");
        return std::unexpected(std::move(r));
    }
    auto s = *found;
    // Another principal's session is as unknown as one that never existed.
    if (s && p_.authenticated && s->principal != req.principal) s = nullptr;
    if (!s) return refuse(404, "Session not found: it ended, expired or never existed; initialize a new one");
    if (auto v = req.headers.get("MCP-Protocol-Version")) {
        const auto& known = p_.options.versions;
        if (std::find(known.begin(), known.end(), *v) == known.end() && *v != "2024-11-05")
            return refuse(400, "Bad Request: unsupported MCP-Protocol-Version '" + std::string(*v) + "'");
        if (p_.options.strict_protocol_version && *v != s->version)
            return refuse(400, "Bad Request: MCP-Protocol-Version '" + std::string(*v) +
                                   "' does not match the session's negotiated version " + s->version);
    }
    return s;
}

bool session_endpoint::initialize_allowed(const std::string& principal, std::chrono::seconds& retry_after) {
    if (principal.empty() || p_.options.initialize_per_minute == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(rate_mu_);
    auto& times = initializations_[principal];
    while (!times.empty() && now - times.front() >= std::chrono::minutes(1)) times.pop_front();
    if (times.size() >= p_.options.initialize_per_minute) {
        retry_after = std::chrono::ceil<std::chrono::seconds>(times.front() + std::chrono::minutes(1) - now);
        return false;
    }
    times.push_back(now);
    return true;
}

void session_endpoint::on_pool(const std::shared_ptr<responder>& res, std::function<void()> work) {
    if (!p_.handlers.post(std::move(work)))
        res->respond(http::rpc_error(503, nullptr, rpc_code::internal_error, "the server is busy; retry later"));
}

void session_endpoint::initialize(json msg, std::string principal, std::shared_ptr<responder> res) {
    const json id = msg["id"];
    const json params = msg.value("params", json::object());
    if (auto problem = initialize_params_problem(params))
        return res->respond(http::rpc_error(400, id, rpc_code::invalid_params, "Invalid params: " + *problem));
    const std::string version = negotiate(p_.options, params["protocolVersion"].get<std::string>());
    if (std::chrono::seconds wait{}; !initialize_allowed(principal, wait)) {
        auto r = http::rpc_error(429, id, rpc_code::invalid_request,
                                 "Too Many Requests: '" + principal + "' may initialize " +
                                     std::to_string(p_.options.initialize_per_minute) + " sessions a minute");
        r.headers.set("Retry-After", std::to_string(std::max<long long>(1, wait.count())));
        return res->respond(std::move(r));
    }
    auto created = p_.sessions.create(version, params.value("capabilities", json::object()),
                                      params.value("clientInfo", json::object()), std::move(principal));
    if (!created) {
        const auto& why = created.error();
        const unsigned status = why.why == create_refusal::reason::principal_full ? 429 : 503;
        return res->respond(http::rpc_error(
            status, id, rpc_code::internal_error,
            (status == 429 ? "Too Many Requests: " : "Service Unavailable: ") + why.message));
    }
    auto s = *created;
    json result{{"protocolVersion", version},
                {"capabilities", server_capabilities(version)},
                {"serverInfo", {{"name", p_.options.server_name}, {"version", p_.options.server_version}}}};
    if (!p_.options.instructions.empty()) result["instructions"] = p_.options.instructions;
    const json response = make_result(id, std::move(result));
    // The session's topic opens with the handshake, like every later request.
    auto rec = append(p_.st, *s, "", msg, session_log::flag_client_request);
    auto ack = rec ? append(p_.st, *s, std::to_string(rec->offset), response, session_log::flag_final) : rec;
    if (!ack) {
        p_.sessions.end(s);
        return res->respond(http::rpc_error(503, id, rpc_code::internal_error,
                                            "Service Unavailable: cannot record the session: " + ack.error().message));
    }
    auto r = http::rpc_answer(200, response);
    r.headers.set("Mcp-Session-Id", s->id);
    spdlog::info("session {}: initialized at {} by {}", s->id, version, s->client_info.value("name", "?"));
    res->respond(std::move(r));
}

void session_endpoint::request(std::shared_ptr<session_state> s, json msg, std::string raw,
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
    c->runs_on = p_.calls.placement(*c);
    c->id_key = to_json(c->id);
    const std::string& key = c->id_key;
    {
        std::lock_guard lock(s->mu);
        if (s->running.contains(key))
            return res->respond(http::rpc_error(400, c->id, rpc_code::invalid_request,
                                                "Invalid Request: id " + key + " is already in use by a running request"));
        s->running[key] = c->cancelled;
    }
    p_.meter.arrived();
    const bool streaming = !p_.options.json_response;
    if (c->runs_on == execution::io) {
        c->channel = std::make_shared<at_once_channel>(channel_parts(), p_.bursts, std::move(s), std::move(res),
                                                      streaming, std::move(raw));
        return c->channel->finish(c, p_.calls.run(c));  // never waits: an I/O-thread handler
    }
    auto channel = std::make_shared<session_channel>(channel_parts(), s, std::move(res), streaming);
    c->channel = channel;
    // Committed on this connection's strand with the requests that came in
    // the same burst (commit_bursts), without waking the store's appender.
    const auto record = session_log::encode("", raw);
    const store::store::record_spec spec[] = {{record, session_log::flag_client_request}};
    auto recorded = [this, c, channel](store::result<store::append_ack> rec) {
        auto& s = *channel->session();
        if (!rec) {
            {
                std::lock_guard lock(s.mu);
                s.running.erase(c->id_key);
            }
            channel->responder()->respond(http::rpc_error(503, c->id, rpc_code::internal_error,
                                                          "Service Unavailable: cannot record the request: " +
                                                              rec.error().message));
            p_.meter.left();
            return;
        }
        channel->recorded_at(rec->offset);
        {
            std::lock_guard lock(s.mu);
            s.live_streams.insert(rec->offset);
        }
        // This runs on the thread committing the store's batch (an I/O
        // thread in commit_queued, the appender, or a thread in a blocking
        // append), which must never wait for the store: the request goes
        // on elsewhere.
        if (!p_.handlers.post([this, c] { p_.calls.serve(c, p_.meter); }))
            channel->responder()->post([c] {
                c->channel->open(c);
                c->channel->finish(c, fail(rpc_code::internal_error, "the server is busy; retry later"));
            });
    };
    p_.st.append_group_deferred(s->topic, spec, std::move(recorded));
    p_.bursts.queued(channel->responder());
}

void session_endpoint::batch(std::shared_ptr<session_state> s, json batch, std::shared_ptr<responder> res) {
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
            notification(s, msg);
            continue;
        }
        if (kind.kind == message_kind::response) {
            client_answer(s, msg, nullptr);
            continue;
        }
        if (msg["method"] == "initialize") {
            responses.push_back(make_error(id, rpc_code::invalid_request, "initialize cannot be part of a batch"));
            continue;
        }
        auto c = std::make_shared<call>();
        c->id = id;
        c->id_key = to_json(id);
        c->method = msg["method"].get<std::string>();
        c->params = msg.value("params", json::object());
        auto channel = std::make_shared<batch_channel>(channel_parts(), s);
        c->channel = channel;
        auto rec = append(p_.st, *s, "", msg, session_log::flag_client_request);
        if (!rec) {
            responses.push_back(make_error(id, rpc_code::internal_error, "cannot record the request"));
            continue;
        }
        channel->recorded_at(rec->offset);
        {
            std::lock_guard lock(s->mu);  // running here: a resume of its stream waits for the final
            s->live_streams.insert(rec->offset);
        }
        channel->finish(c, p_.calls.run(c));
        if (auto answer = channel->take_answer()) responses.push_back(std::move(*answer));
    }
    if (responses.empty()) return res->respond(accepted());
    res->respond(http::rpc_answer(200, responses));
}

void session_endpoint::notification(const std::shared_ptr<session_state>& s, const json& msg) {
    const auto& method = msg["method"].get_ref<const std::string&>();
    const json params = msg.value("params", json::object());
    if (method == "notifications/initialized") {
        std::lock_guard lock(s->mu);
        s->initialized = true;
    } else if (method == "notifications/cancelled") {
        if (!params.contains("requestId")) return;
        // The request may run here, or on another server sharing the store.
        if (!cancel_running(*s, to_json(params["requestId"]))) p_.signals.cancelled(*s, params["requestId"]);
        p_.workers.cancel({call_origin::kind::session, s->id, {}}, params["requestId"]);  // a call waiting on a worker
    }
    // roots/list_changed and others need no action here.
}

void session_endpoint::client_answer(const std::shared_ptr<session_state>& s, json msg, std::function<void()> done) {
    // Recorded first, so the answer is part of the session's history wherever
    // the waiting handler runs; then the handler wakes.
    auto m = std::make_shared<json>(std::move(msg));
    p_.st.append_async(s->topic, session_log::encode("", to_json(*m)), session_log::flag_client_answer,
                       [s, m, &signals = p_.signals, done = std::move(done)](store::result<store::append_ack> ack) {
                           if (!ack)
                               spdlog::error("session {}: cannot record the client's answer {}: {}", s->id,
                                             to_json((*m)["id"]), ack.error().message);
                           // The handler waits here, or on another server sharing the store.
                           if (!deliver_answer(*s, *m)) {
                               spdlog::debug("session {}: answer {} matches no request waiting here", s->id,
                                             to_json((*m)["id"]));
                               signals.answered(*s, *m);
                           }
                           if (done) done();
                       });
}

}  // namespace litemcp::server
