// The worker API over HTTP (docs/workers.md), and how the worker hub reaches
// MCP sessions: progress and results of worker calls go to the calling
// request's stream, exactly like an in-process tool's.
//
//   POST   /workers                                  register (again)
//   GET    /workers/<name>                           the worker's state
//   DELETE /workers/<name>                           deregister
//   GET    /workers/<name>/calls                     an instance's SSE stream of calls
//   POST   /workers/<name>/calls/<callId>/<action>   progress | log | result | failure | suspend | extend
//
// Bodies are checked against schemas/worker-*.json; every error is JSON
// {"error": "..."} with the HTTP status that says what kind it is.
#include <spdlog/spdlog.h>

#include "schemas/schemas.h"
#include "server/json_text.h"
#include "server/mcp_server_impl.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

http_response answer_of(const api_answer& a) {
    http_response r;
    r.status = a.status;
    r.headers.set("Content-Type", "application/json");
    r.body = to_json(a.body);
    return r;
}

http_response api_error(unsigned status, std::string message) {
    return answer_of({status, json{{"error", std::move(message)}}});
}

std::optional<std::string> bearer(const http_request& req) {
    auto h = req.headers.get("Authorization");
    if (!h || h->size() < 7 || !transport::iequals(h->substr(0, 7), "Bearer ")) return std::nullopt;
    auto token = h->substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token.empty()) return std::nullopt;
    return std::string(token);
}

std::vector<std::string> path_parts(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start < path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > start) parts.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

constexpr std::string_view actions[] = {"progress", "log", "result", "failure", "suspend", "extend"};

}  // namespace

void mcp_server::impl::handle_workers(http_request req, std::shared_ptr<responder> res) {
    auto parts = path_parts(req.path);  // "workers", name, "calls", id, action
    auto not_allowed = [&](std::string allow) {
        auto r = api_error(405, "method " + req.method + " is not allowed on " + req.path);
        r.headers.set("Allow", allow);
        res->respond(std::move(r));
    };
    // A JSON body checked against schemas/<schema>.json.
    auto body_of = [&](std::string_view schema) -> std::optional<json> {
        auto ct = req.headers.get("Content-Type");
        if (!ct || !transport::iequals(ct->substr(0, ct->find(';')), "application/json")) {
            res->respond(api_error(415, "Content-Type must be application/json"));
            return std::nullopt;
        }
        auto body = parse_json(req.body);
        if (!body) {
            res->respond(api_error(400, "the body is not JSON: " + to_string(body.error())));
            return std::nullopt;
        }
        if (auto problem = api_schemas.at(std::string(schema))->validate(*body)) {
            res->respond(api_error(400, "invalid " + std::string(schema) + " request: " + *problem));
            return std::nullopt;
        }
        return std::move(*body);
    };

    if (parts.size() == 1) {
        if (req.method != "POST") return not_allowed("POST");
        // With authentication on, registering needs a token with the
        // mcp:workers scope, and its principal owns the worker.
        if (!authenticate(req, res, scope::workers)) return;
        auto body = body_of("worker-register");
        if (!body) return;
        auto credential = auth->enabled() ? std::nullopt : bearer(req);
        return res->respond(answer_of(workers->register_worker(*body, credential, req.principal)));
    }
    const std::string& name = parts[1];
    if (parts.size() == 2) {
        if (req.method == "GET") return res->respond(answer_of(workers->describe(name, bearer(req))));
        if (req.method == "DELETE") return res->respond(answer_of(workers->deregister(name, bearer(req))));
        return not_allowed("GET, DELETE");
    }
    if (parts[2] != "calls" || parts.size() == 4 || parts.size() > 5)
        return res->respond(api_error(404, "no worker endpoint at " + req.path));
    if (parts.size() == 3) {
        if (req.method != "GET") return not_allowed("GET");
        auto accept = req.headers.get("Accept");
        if (!accept || (accept->find("text/event-stream") == std::string_view::npos &&
                        accept->find("*/*") == std::string_view::npos))
            return res->respond(api_error(406, "Accept must list text/event-stream"));
        if (auto denied = workers->check_attach(name, bearer(req))) return res->respond(answer_of(*denied));
        std::string instance = std::string(req.headers.get("Worker-Instance").value_or(""));
        if (instance.empty() || instance.size() > 128) instance = random_id().substr(0, 12);
        auto sse = res->start_sse({});
        workers->attach(name, instance, sse);
        return;
    }
    const std::string& call_id = parts[3];
    const std::string& action = parts[4];
    if (std::find(std::begin(actions), std::end(actions), action) == std::end(actions))
        return res->respond(api_error(404, "unknown action '" + action +
                                               "': one of progress, log, result, failure, suspend, extend"));
    if (req.method != "POST") return not_allowed("POST");
    auto body = body_of("worker-" + action);
    if (!body) return;
    res->respond(answer_of(workers->answer(name, bearer(req), call_id, action, *body)));
}

rpc_result mcp_server::impl::defer_to_worker(const std::shared_ptr<call>& c, const std::string& worker) {
    if (c->held)  // an I/O-thread handler answers at once; worker tools run on the pool
        return fail(rpc_code::internal_error, "'" + c->params.value("name", c->method) +
                                                  "' is served by a worker and cannot run on the I/O thread");
    if (!c->res && !c->task)
        return fail(rpc_code::invalid_request, "'" + c->params.value("name", c->method) +
                                                   "' is served by a worker, which cannot answer inside a batch");
    call_ticket t{c->session->id, c->tag, c->id, c->progress_token, c->method, c};
    {
        std::lock_guard lock(c->promotion_mu);  // promote() reads it
        c->deferred = true;
    }
    auto queued = workers->submit(worker, std::move(t), c->params);
    if (queued) {
        // Promoted to a task while it was being queued: the task takes it over.
        std::shared_ptr<task> owner;
        {
            std::lock_guard lock(c->promotion_mu);
            if (c->promotion_state == call::promotion::promoted) owner = c->task;
        }
        if (owner) hand_to_worker(owner, *c);
        return json::object();  // ignored: the worker's answer completes the call
    }
    {
        std::lock_guard lock(c->promotion_mu);
        c->deferred = false;
    }
    if (c->method == "tools/call")
        return json{{"content", json::array({{{"type", "text"}, {"text", queued.error()}}})}, {"isError", true}};
    return fail(rpc_code::internal_error, queued.error());
}

// ---- call_sink: the hub's way back to the calling session --------------------

void mcp_server::impl::notify(const call_ticket& t, json notification, std::optional<log_level> level) {
    if (t.live) {
        std::shared_ptr<task> owner;
        {
            std::lock_guard lock(t.live->promotion_mu);
            owner = t.live->task;
        }
        if (owner) return tasks->note(*owner, std::move(notification));
    } else if (t.session_id.starts_with("task/")) {
        if (auto owner = tasks->find(t.session_id.substr(5))) tasks->note(*owner, std::move(notification));
        return;
    }
    auto s = t.live ? t.live->session : sessions->find(t.session_id);
    if (!s || s->ended) return;
    if (level) {
        std::lock_guard lock(s->mu);
        if (*level < s->level) return;
    }
    if (t.live) return emit_on_stream(t.live, notification);
    // Restored after a restart: no request object here; the client reads the
    // stream back with GET + Last-Event-ID.
    st->append_async(s->topic, session_log::encode(t.stream, to_json(notification)), 0, nullptr);
}

void mcp_server::impl::finish(const call_ticket& t, std::optional<json> response) {
    if (t.live) return finish_request(t.live, std::move(response));
    if (t.session_id.starts_with("task/")) {  // restored after a restart: the task waits for it
        if (auto owner = tasks->find(t.session_id.substr(5))) settle_task(owner, nullptr, std::move(response));
        return;
    }
    auto s = sessions->find(t.session_id);
    if (!s) return;  // the session ended or expired meanwhile
    const auto flags = session_log::flag_final | (response ? 0 : session_log::flag_silent);
    const std::uint64_t stream = std::stoull(t.stream);
    st->append_async(s->topic, session_log::encode(t.stream, response ? to_json(*response) : "{}"), flags,
                     [s, stream](store::result<store::append_ack> ack) {
                         if (!ack) spdlog::error("session {}: cannot record a worker's answer: {}", s->id, ack.error().message);
                         std::lock_guard lock(s->mu);
                         s->live_streams.erase(stream);
                     });
}

void mcp_server::impl::restored(const call_ticket& t) {
    if (t.session_id.starts_with("task/")) return;  // the task record says it is the worker's
    auto s = sessions->find(t.session_id);
    if (!s) return;
    std::lock_guard lock(s->mu);
    s->live_streams.insert(std::stoull(t.stream));
}

}  // namespace litemcp::server
