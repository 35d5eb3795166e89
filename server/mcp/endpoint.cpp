#include "server/mcp/endpoint.h"
#include "server/mcp/method_table.h"

#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/http/router.h"
#include "server/json/json_text.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

// The label of a POST body for /metrics.
std::string body_label(const json& body) {
    if (body.is_array()) return "batch";
    if (!body.is_object()) return "invalid";
    if (!body.contains("method")) return body.contains("id") ? "response" : "invalid";
    if (!body["method"].is_string()) return "invalid";
    return std::string(method_label(body["method"].get_ref<const std::string&>()));
}

}  // namespace

void mcp_endpoint::handle(http_request&& req, std::shared_ptr<responder> res, exchange_labels& labels) {
    if (auto why = http::origin_or_host_refusal(req, p_.options.allowed_hosts, p_.options.allowed_origins))
        return res->respond(http::rpc_error(403, nullptr, rpc_code::invalid_request, *why));
    if (auto refused = p_.auth.admit(req, scope::mcp)) {
        auto answer = http::rpc_error(refused->status, nullptr, rpc_code::invalid_request, refused->message);
        answer.headers.set("WWW-Authenticate", refused->challenge);
        return res->respond(std::move(answer));
    }
    const std::string_view method = req.method;  // compared without strlen
    if (method != "POST" && method != "GET" && method != "DELETE") {
        auto r = http::rpc_error(405, nullptr, rpc_code::invalid_request, http::not_allowed_message(req));
        r.headers.set("Allow", "GET, POST, DELETE");
        return res->respond(std::move(r));
    }
    // A POST is classified here, on the I/O thread; what blocks goes to the
    // handler pool from there. GET and DELETE read the store synchronously.
    if (method == "POST") return post(std::move(req), std::move(res), labels);
    auto shared_req = std::make_shared<http_request>(std::move(req));
    const bool queued = p_.handlers.post([this, shared_req, res] {
        if (shared_req->method == "GET") p_.sessions.get(*shared_req, res);
        else p_.sessions.del(*shared_req, res);
    });
    if (!queued) res->respond(http::rpc_error(503, nullptr, rpc_code::internal_error, "the server is busy; retry later"));
}

void mcp_endpoint::post(http_request&& req, std::shared_ptr<responder> res, exchange_labels& labels) {
    if (!http::accepts(req, "application/json") || !http::accepts(req, "text/event-stream"))
        return res->respond(http::rpc_error(406, nullptr, rpc_code::invalid_request,
                                            "Not Acceptable: Accept must list application/json and text/event-stream"));
    if (!http::is_json(req))
        return res->respond(http::rpc_error(415, nullptr, rpc_code::invalid_request,
                                            "Unsupported Media Type: Content-Type must be application/json"));
    auto parsed = parse_json(req.body);
    if (!parsed)
        return res->respond(http::rpc_error(400, nullptr, rpc_code::parse_error,
                                            "Parse error: the body is not JSON: " + to_string(parsed.error())));
    json body = std::move(*parsed);
    labels.method = body_label(body);
    // 2026-07-28: a _meta envelope (or a modern header without a session)
    // is served statelessly, and a malformed one never falls back to legacy.
    if (stateless_endpoint::claims(body, req)) {
        labels.era = "modern";
        return p_.stateless.serve(std::move(body), req, std::move(res));
    }
    p_.sessions.post(std::move(req), std::move(body), std::move(res));
}

}  // namespace litemcp::server
