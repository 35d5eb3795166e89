// The modern era (MCP 2026-07-28) on the same /mcp endpoint: stateless
// requests that carry a _meta envelope (protocol version, client
// capabilities, optional log level), validated one by one -- headers against
// the body, versions, methods -- and answered through the same handlers as
// legacy requests. No session, no topic: a modern request leaves nothing in
// the store (durability in this era comes from the Tasks extension).
//
// Served: request validation (-32602, -32020, -32022, 404/-32601),
// server/discover, subscriptions/listen (list changes, resource updates), the
// list, read, get, call and complete methods with resultType, serverInfo and
// cache hints, per-request logLevel, progress on an SSE response, Mcp-Param-*
// headers checked against the arguments they mirror (x-mcp-header),
// input_required rounds (requestState sealed by request_state_codec) and the
// Tasks extension (task_runner.h, methods/tasks.cpp). Closing the response stream cancels the
// request.
#include <spdlog/spdlog.h>

#include <charconv>

#include "server/auth/auth.h"
#include "server/util/base64.h"
#include "server/http/request_checks.h"
#include "server/json/json_text.h"
#include "server/app/mcp_server_impl.h"
#include "server/mcp/method_table.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

constexpr std::string_view key_version = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view key_capabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view key_log_level = "io.modelcontextprotocol/logLevel";

const std::vector<std::string> modern_versions = {std::string(modern_version)};

// Mcp-Name and Mcp-Param-* values may be "=?base64?<b64 of UTF-8>?=".
std::optional<std::string> header_value(std::string_view raw) {
    while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
    constexpr std::string_view open = "=?base64?", close = "?=";
    if (!raw.starts_with(open) || !raw.ends_with(close) || raw.size() < open.size() + close.size())
        return std::string(raw);
    return base64_decode(raw.substr(open.size(), raw.size() - open.size() - close.size()), base64_alphabet::standard);
}

// Tool parameters marked "x-mcp-header": <Name> in the inputSchema, through
// a chain of "properties", with the argument's path.
void header_params(const json& schema, const json& args, std::vector<std::pair<std::string, const json*>>& out) {
    if (!schema.is_object() || !schema.contains("properties") || !schema["properties"].is_object()) return;
    for (auto& [prop, sub] : schema["properties"].items()) {
        if (!sub.is_object()) continue;
        const json* value = args.is_object() && args.contains(prop) ? &args[prop] : nullptr;
        if (sub.contains("x-mcp-header") && sub["x-mcp-header"].is_string())
            out.emplace_back(sub["x-mcp-header"].get<std::string>(), value);
        if (value) header_params(sub, *value, out);
    }
}

// Mcp-Param-* headers must mirror the arguments they name.
std::optional<std::string> check_header_params(const json& input_schema, const json& args, const http_request& req) {
    std::vector<std::pair<std::string, const json*>> params;
    header_params(input_schema, args, params);
    for (auto& [name, value] : params) {
        if (!value || value->is_null()) continue;  // absent or null: no header expected
        const std::string header = "Mcp-Param-" + name;
        auto raw = req.headers.get(header);
        if (!raw) return header + " is required: the argument it mirrors is present";
        auto decoded = header_value(*raw);
        if (!decoded) return header + " is not valid base64 inside =?base64?...?=";
        bool same = false;
        if (value->is_string()) {
            same = *decoded == value->get<std::string>();
        } else if (value->is_boolean()) {
            same = *decoded == (value->get<bool>() ? "true" : "false");
        } else if (value->is_number_integer()) {
            long long n = 0;  // compared as numbers: "007" is 7
            auto [p, ec] = std::from_chars(decoded->data(), decoded->data() + decoded->size(), n);
            same = ec == std::errc() && p == decoded->data() + decoded->size() && n == value->get<long long>();
        }
        if (!same) return header + " does not match the argument it mirrors";
    }
    return std::nullopt;
}

}  // namespace

bool mcp_server::impl::is_modern(const json& body, const http_request& req) const {
    if (!body.is_object()) return false;
    if (const auto params = body.find("params"); params != body.end() && params->is_object())
        if (const auto meta = params->find("_meta");
            meta != params->end() && meta->is_object() && meta->contains(key_version))
            return true;
    // No envelope, but a modern header and no session: a malformed modern
    // request, which must be told so -- never served as legacy.
    auto v = req.headers.get("MCP-Protocol-Version");
    const auto method = body.find("method");
    const bool initialize =
        method != body.end() && method->is_string() && method->get_ref<const std::string&>() == "initialize";
    return v && *v == modern_version && !req.headers.get("Mcp-Session-Id") && !initialize;
}

void mcp_server::impl::serve_modern(json body, const http_request& req, std::shared_ptr<responder> res) {
    const json id = body.contains("id") && valid_id(body["id"]) ? body["id"] : json(nullptr);
    auto refuse = [&](unsigned status, int code, std::string message, std::optional<json> data = std::nullopt) {
        res->respond(error_response(status, id, code, message, std::move(data)));
    };
    auto kind = classify(body);
    if (kind.kind == message_kind::invalid) return refuse(400, rpc_code::invalid_request, "Invalid Request: " + kind.why);
    if (kind.kind == message_kind::response)
        return refuse(400, rpc_code::invalid_request, "Invalid Request: a 2026-07-28 client sends no responses");

    // The order the specification's checks imply: the version header, the
    // envelope, header against body, then the version itself.
    auto header = req.headers.get("MCP-Protocol-Version");
    if (!header) return refuse(400, rpc_code::header_mismatch, "Header mismatch: MCP-Protocol-Version is required");
    const json params = body.value("params", json::object());
    const json meta = params.is_object() ? params.value("_meta", json::object()) : json();
    // A notification without an envelope is judged by its header alone (the
    // ladder's last step): accepted and dropped, as core defines none.
    if (kind.kind == message_kind::notification && !(meta.is_object() && meta.contains(key_version)))
        return res->respond(http_response{202, {}, {}});
    if (!params.is_object() || !meta.is_object() || !meta.contains(key_version) || !meta[key_version].is_string() ||
        !meta.contains(key_capabilities) || !meta[key_capabilities].is_object())
        return refuse(400, rpc_code::invalid_params,
                      "Invalid params: params._meta needs \"" + std::string(key_version) + "\" (a string) and \"" +
                          std::string(key_capabilities) + "\" (an object)");
    const auto version = meta[key_version].get<std::string>();
    if (*header != version)
        return refuse(400, rpc_code::header_mismatch,
                      "Header mismatch: MCP-Protocol-Version '" + std::string(*header) +
                          "' is not the body's protocol version '" + version + "'");
    if (version != modern_version) {
        json supported = json::array();
        for (auto& v : modern_versions) supported.push_back(v);
        for (auto& v : cfg.mcp.versions) supported.push_back(v);
        return refuse(400, rpc_code::unsupported_protocol_version,
                      "Unsupported protocol version '" + version + "'",
                      json{{"supported", supported}, {"requested", version}});
    }
    if (kind.kind == message_kind::notification) return res->respond(http_response{202, {}, {}});

    const auto& method = body["method"].get_ref<const std::string&>();
    auto mcp_method = req.headers.get("Mcp-Method");
    if (!mcp_method || *mcp_method != method)
        return refuse(400, rpc_code::header_mismatch,
                      "Header mismatch: Mcp-Method must be the request's method '" + method + "'");
    const auto* entry = find_method(method);
    const std::string named = entry ? std::string(entry->named_by) : std::string();
    if (!named.empty() && params.contains(named) && params[named].is_string()) {
        auto raw = req.headers.get("Mcp-Name");
        auto value = raw ? header_value(*raw) : std::nullopt;
        if (!value || *value != params[named].get<std::string>())
            return refuse(400, rpc_code::header_mismatch,
                          "Header mismatch: Mcp-Name must be params." + named +
                              " (literal, or =?base64?...?= encoded)");
    }
    if (method == "tools/call" && params.contains("name") && params["name"].is_string()) {
        auto t = reg.find_tool(params["name"].get<std::string>());
        if (!t) t = workers->worker_tool(params["name"].get<std::string>());
        if (t)
            if (auto problem = check_header_params(t->definition.value("inputSchema", json::object()),
                                                   params.value("arguments", json::object()), req))
                return refuse(400, rpc_code::header_mismatch, "Header mismatch: " + *problem);
    }
    std::optional<log_level> level;
    if (meta.contains(key_log_level)) {
        level = meta[key_log_level].is_string() ? parse_log_level(meta[key_log_level].get<std::string>()) : std::nullopt;
        if (!level)
            return refuse(400, rpc_code::invalid_params,
                          "Invalid params: " + std::string(key_log_level) +
                              " must be one of debug, info, notice, warning, error, critical, alert, emergency");
    }

    if (!entry || !served(*entry, era::stateless, version))
        return refuse(404, rpc_code::method_not_found, "Method not found: " + method + " (in protocol version " +
                                                            std::string(modern_version) + ")");
    if (method == "server/discover") return res->respond(json_response(200, make_result(id, discover())));
    if (method == "subscriptions/listen") return serve_listen(id, params, req, std::move(res));

    // A request of its own, answered on its response: no session, nothing stored.
    auto c = std::make_shared<call>();
    c->id = id;
    c->id_key = to_json(id);
    c->method = method;
    c->params = params;
    if (meta.contains("progressToken")) c->progress_token = meta["progressToken"];
    if (auto problem = take_answers(*c, req.principal)) return refuse(400, rpc_code::invalid_params, "Invalid params: " + *problem);
    // SSE only when something may precede the response; JSON otherwise.
    const bool streaming = http::accepts(req, "text/event-stream") && (c->progress_token || level);
    c->channel = std::make_shared<direct_channel>(
        direct_parts(), direct_channel::caller{std::string(modern_version), meta[key_capabilities], req.principal, level},
        res, streaming);
    c->runs_on = calls->placement(*c);
    meter.arrived();
    auto run = [this, c] { run_request(c); };
    if (c->runs_on == execution::io) return run();
    if (!handlers->post(run)) {
        meter.left();
        res->respond(error_response(503, id, rpc_code::internal_error, "the server is busy; retry later"));
    }
}

void mcp_server::impl::serve_listen(const json& id, const json& params, const http_request& req,
                                    std::shared_ptr<responder> res) {
    if (!http::accepts(req, "text/event-stream"))
        return res->respond(error_response(406, id, rpc_code::invalid_request,
                                           "Not Acceptable: subscriptions/listen answers with text/event-stream"));
    if (!params.contains("notifications") || !params["notifications"].is_object())
        return res->respond(error_response(400, id, rpc_code::invalid_params,
                                           "Invalid params: subscriptions/listen needs params.notifications (an object)"));
    const auto& wanted = params["notifications"];
    // What litemcp honours: the list changes and resource updates.
    static const std::pair<const char*, const char*> kinds[] = {
        {"toolsListChanged", "notifications/tools/list_changed"},
        {"promptsListChanged", "notifications/prompts/list_changed"},
        {"resourcesListChanged", "notifications/resources/list_changed"}};
    json honoured = json::object();
    std::set<std::string> methods;
    for (auto [flag, notification] : kinds)
        if (wanted.contains(flag) && wanted[flag].is_boolean() && wanted[flag].get<bool>()) {
            honoured[flag] = true;
            methods.insert(notification);
        }
    std::set<std::string> uris;
    if (wanted.contains("resourceSubscriptions")) {
        if (!wanted["resourceSubscriptions"].is_array())
            return res->respond(error_response(400, id, rpc_code::invalid_params,
                                               "Invalid params: notifications.resourceSubscriptions must be an array of URIs"));
        json list = json::array();
        for (auto& u : wanted["resourceSubscriptions"])
            if (u.is_string() && uris.insert(u.get<std::string>()).second) list.push_back(u);
        if (!list.empty()) honoured["resourceSubscriptions"] = list;
    }
    // The Tasks extension's status notifications (notifications/tasks) for
    // the tasks named, to a client that declared the extension.
    std::set<std::string> task_ids;
    if (wanted.contains("taskIds")) {
        if (!wanted["taskIds"].is_array())
            return res->respond(error_response(400, id, rpc_code::invalid_params,
                                               "Invalid params: notifications.taskIds must be an array of task ids"));
        const json& caps = params["_meta"].value("io.modelcontextprotocol/clientCapabilities", json::object());
        if (caps.contains("extensions") && caps["extensions"].contains("io.modelcontextprotocol/tasks")) {
            json list = json::array();
            for (auto& t : wanted["taskIds"]) {
                if (!t.is_string()) continue;
                // Only tasks this client may see (another principal's are left out, as unknown ones).
                auto task = tasks->find(t.get<std::string>());
                if (!task) continue;
                {
                    std::lock_guard lock(task->mu);
                    if (!task->rec.session.empty() || (auth && auth->enabled() && task->rec.principal != req.principal))
                        continue;
                }
                if (task_ids.insert(t.get<std::string>()).second) list.push_back(t);
            }
            if (!list.empty()) honoured["taskIds"] = list;
        }
    }
    {
        std::lock_guard lock(listens_mu);
        std::erase_if(listens, [](auto& w) {
            auto l = w.lock();
            return !l || !l->open();
        });
        if (listens.size() >= cfg.mcp.max_listen_streams)
            return res->respond(error_response(503, id, rpc_code::internal_error,
                                               "Service Unavailable: " + std::to_string(listens.size()) +
                                                   " listen streams are open, the limit"));
        auto l = listen_stream::start(*st, *delivery, res->start_sse({}), id, std::move(methods), std::move(uris),
                                      std::move(task_ids), std::move(honoured));
        listens.push_back(l);
    }
}

std::optional<std::string> mcp_server::impl::take_answers(call& c, const std::string& principal) const {
    const auto* entry = find_method(c.method);
    if (!entry || !entry->asks_for_input) return std::nullopt;  // unknown parameters of other methods are ignored
    const json& p = c.params;
    if (p.contains("requestState")) {
        if (!p["requestState"].is_string()) return "requestState must be a string";
        auto answers = states->open(p["requestState"].get<std::string>(),
                                    {c.method, request_state_codec::params_digest(p), principal});
        if (!answers) return answers.error();
        c.answers = std::move(*answers);
    }
    if (p.contains("inputResponses")) {
        if (!p["inputResponses"].is_object()) return "inputResponses must be an object of results keyed like inputRequests";
        for (auto& [key, value] : p["inputResponses"].items()) {
            if (!value.is_object()) return "inputResponses." + key + " must be an object (the result of the input request)";
            c.answers[key] = value;
        }
    }
    return std::nullopt;
}

json mcp_server::impl::discover() const {
    json supported = json::array();
    for (auto& v : modern_versions) supported.push_back(v);
    for (auto& v : cfg.mcp.versions) supported.push_back(v);
    json result{{"supportedVersions", supported}, {"capabilities", server_capabilities(std::string(modern_version))}};
    if (!cfg.mcp.instructions.empty()) result["instructions"] = cfg.mcp.instructions;
    return results->decorate("server/discover", std::move(result));
}

}  // namespace litemcp::server
