#include "server/workers/worker_api.h"

#include <algorithm>

#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/util/ids.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;
using responder_ptr = std::shared_ptr<responder>;
using http::route_args;

namespace {

// The worker API's status for each of the hub's outcomes.
unsigned status_of(worker_outcome o) {
    switch (o) {
        case worker_outcome::done: return 200;
        case worker_outcome::registered: return 201;
        case worker_outcome::invalid: return 400;
        case worker_outcome::no_credential: return 401;
        case worker_outcome::wrong_credential: return 403;
        case worker_outcome::unknown_worker:
        case worker_outcome::unknown_call: return 404;
        case worker_outcome::conflict: return 409;
        case worker_outcome::too_many_instances: return 429;
        case worker_outcome::internal: return 500;
        case worker_outcome::upstream_failed: return 502;
        case worker_outcome::full:
        case worker_outcome::store_unavailable: return 503;
    }
    return 500;
}

http_response answer_of(const worker_answer& a) { return http::json_answer(status_of(a.outcome), a.body); }

// The worker hub takes the credential as an owned string.
std::optional<std::string> credential(const http_request& req) {
    auto token = http::bearer_token(req);
    return token ? std::optional<std::string>(*token) : std::nullopt;
}

}  // namespace

worker_api::worker_api(parts p) : p_(p) { add_routes(); }

std::optional<json> worker_api::body_of(const http_request& req, const std::string& schema,
                                        const responder_ptr& res) const {
    if (!http::is_json(req)) {
        res->respond(http::problem(415, "Content-Type must be application/json"));
        return std::nullopt;
    }
    auto body = parse_json(req.body);
    if (!body) {
        res->respond(http::problem(400, "the body is not JSON: " + to_string(body.error())));
        return std::nullopt;
    }
    if (auto problem = p_.schemas.at(schema)->validate(*body)) {
        res->respond(http::problem(400, "invalid " + schema + " request: " + *problem));
        return std::nullopt;
    }
    return std::move(*body);
}

void worker_api::add_routes() {
    using args = const route_args&;
    auto& w = p_.workers;
    routes_.add("POST", "/workers", "register (again)", [this, &w](http_request& req, args, const responder_ptr& res) {
        // With authentication on, registering needs a token with the
        // mcp:workers scope, and its principal owns the worker.
        if (auto refused = p_.auth.admit(req, scope::workers)) {
            auto r = http::problem(refused->status, refused->message);
            r.headers.set("WWW-Authenticate", refused->challenge);
            return res->respond(std::move(r));
        }
        auto body = body_of(req, "worker-register", res);
        if (!body) return;
        auto given = p_.auth.enabled() ? std::nullopt : credential(req);
        if (body->contains("upstream")) {
            // An MCP server by URL: reached and listed before it is registered.
            if (!p_.register_upstream) return res->respond(http::problem(501, "upstreams are not available here"));
            return p_.register_upstream(std::move(*body), given, req.principal,
                                        [res](worker_answer a) { res->respond(answer_of(a)); });
        }
        res->respond(answer_of(w.register_worker(*body, given, req.principal)));
    });
    routes_.add("GET", "/workers/{name}", "the worker's state", [&w](http_request& req, args a, const responder_ptr& res) {
        res->respond(answer_of(w.describe(a[0], credential(req))));
    });
    routes_.add("DELETE", "/workers/{name}", "deregister", [&w](http_request& req, args a, const responder_ptr& res) {
        res->respond(answer_of(w.deregister(a[0], credential(req))));
    });
    routes_.add("GET", "/workers/{name}/calls", "an instance's SSE stream of calls",
                [&w](http_request& req, args a, const responder_ptr& res) {
                    if (!http::accepts(req, "text/event-stream"))
                        return res->respond(http::problem(406, "Accept must list text/event-stream"));
                    if (auto denied = w.check_attach(a[0], credential(req))) return res->respond(answer_of(*denied));
                    std::string instance(req.headers.get("Worker-Instance").value_or(""));
                    if (instance.empty() || instance.size() > 128) instance = random_id().substr(0, 12);
                    w.attach(a[0], instance, sse_channel(res->start_sse({})));
                });
    routes_.add("POST", "/workers/{name}/calls/{call}", "one JSON-RPC message about the call",
                [this](http_request& req, args a, const responder_ptr& res) { take_message(req, a[0], a[1], res); });
    // The answer endpoints before the channel carried JSON-RPC.
    routes_.add("POST", "/workers/{name}/calls/{call}/{action}", "(gone: POST the JSON-RPC message to the call)",
                [](http_request&, args, const responder_ptr& res) {
                    res->respond(http::problem(410, "the worker API takes one JSON-RPC message at POST /workers/<name>/calls/<callId> "
                                                    "(the response, notifications/progress, notifications/message, "
                                                    "io.litemcp/failure, io.litemcp/suspend or io.litemcp/extend; docs/workers.md)"));
                });
}

void worker_api::take_message(const http_request& req, const std::string& name, const std::string& call_id,
                              const responder_ptr& res) {
    if (auto denied = p_.workers.check_credential(name, credential(req))) return res->respond(answer_of(*denied));
    if (!http::is_json(req)) return res->respond(http::problem(415, "Content-Type must be application/json"));
    auto message = parse_json(req.body);
    if (!message) return res->respond(http::problem(400, "the body is not JSON: " + to_string(message.error())));
    auto report = worker_messages::report_of(*message, call_id);
    if (!report) return res->respond(http::problem(400, report.error()));
    if (report->action == "ask") return ask_client(name, call_id, std::move(report->body), res);
    const auto schema = "worker-" + report->action;
    if (auto problem = p_.schemas.at(schema)->validate(report->body))
        return res->respond(http::problem(400, "invalid " + std::string(message->value("method", "response")) + ": " + *problem));
    res->respond(answer_of(p_.workers.answer(name, credential(req), call_id, report->action, report->body)));
}

void worker_api::ask_client(const std::string& name, const std::string& call_id, json ask,
                            const responder_ptr& res) {
    json id = ask["id"];
    const auto method = ask["method"].get<std::string>();
    auto reply = [res, id](json answer) {
        answer["jsonrpc"] = "2.0";
        answer["id"] = id;
        res->respond(http::json_answer(200, answer));
    };
    if (method == "ping") return reply(json{{"result", json::object()}});
    if (method != "sampling/createMessage" && method != "elicitation/create" && method != "roots/list")
        return reply(json{{"error", {{"code", rpc_code::method_not_found},
                                     {"message", "a worker may ask its calling client sampling/createMessage, "
                                                 "elicitation/create or roots/list, or litemcp ping; not " + method}}}});
    // Answered when the client answers (or cannot be asked, or gives up).
    p_.workers.ask_client(name, call_id, method, std::move(ask["params"]), std::move(reply));
}

void worker_api::handle(http_request req, std::shared_ptr<responder> res) {
    routes_.serve(req, res, http::json_style::compact);
}

}  // namespace litemcp::server
