// The 2026-07-28 requests: the envelope and header checks, in the order the
// specification implies, then the call on its own response.
#include "server/mcp/stateless_endpoint.h"

#include <charconv>
#include <set>

#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/json/json_text.h"
#include "server/mcp/capabilities.h"
#include "server/mcp/method_table.h"
#include "server/util/base64.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

constexpr std::string_view key_version = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view key_capabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view key_log_level = "io.modelcontextprotocol/logLevel";

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

// A request's envelope, read and checked.
struct envelope {
    json params;  // the request's params (an object)
    json capabilities;
    std::optional<json> level_given;  // the logLevel asked for, if any
};

// The envelope of a request or notification, or the answer that ends the
// exchange: an error, or 202 for a notification (core defines none).
std::expected<envelope, http_response> read_envelope(const json& body, message_kind kind, const http_request& req,
                                                     const json& id, const mcp_options& o) {
    auto refuse = [&](unsigned status, int code, std::string message, std::optional<json> data = std::nullopt) {
        return std::unexpected(http::rpc_error(status, id, code, message, std::move(data)));
    };
    // The order the specification's checks imply: the version header, the
    // envelope, header against body, then the version itself.
    auto header = req.headers.get("MCP-Protocol-Version");
    if (!header) return refuse(400, rpc_code::header_mismatch, "Header mismatch: MCP-Protocol-Version is required");
    envelope e{body.value("params", json::object()), {}, {}};
    const json meta = e.params.is_object() ? e.params.value("_meta", json::object()) : json();
    // A notification without an envelope is judged by its header alone (the
    // ladder's last step).
    if (kind == message_kind::notification && !(meta.is_object() && meta.contains(key_version)))
        return std::unexpected(http_response{202, {}, {}});
    if (!e.params.is_object() || !meta.is_object() || !meta.contains(key_version) || !meta[key_version].is_string() ||
        !meta.contains(key_capabilities) || !meta[key_capabilities].is_object())
        return refuse(400, rpc_code::invalid_params,
                      "Invalid params: params._meta needs \"" + std::string(key_version) + "\" (a string) and \"" +
                          std::string(key_capabilities) + "\" (an object)");
    const auto version = meta[key_version].get<std::string>();
    if (*header != version)
        return refuse(400, rpc_code::header_mismatch,
                      "Header mismatch: MCP-Protocol-Version '" + std::string(*header) +
                          "' is not the body's protocol version '" + version + "'");
    if (version != modern_version)
        return refuse(400, rpc_code::unsupported_protocol_version, "Unsupported protocol version '" + version + "'",
                      json{{"supported", supported_versions(o)}, {"requested", version}});
    if (kind == message_kind::notification) return std::unexpected(http_response{202, {}, {}});
    e.capabilities = meta[key_capabilities];
    if (meta.contains(key_log_level)) e.level_given = meta[key_log_level];
    return e;
}

// Mcp-Method, Mcp-Name and a tool's Mcp-Param-* headers against the body.
std::optional<std::string> header_mismatch(const std::string& method, const json& params, const http_request& req,
                                           registry& reg, worker_hub& workers) {
    auto mcp_method = req.headers.get("Mcp-Method");
    if (!mcp_method || *mcp_method != method) return "Mcp-Method must be the request's method '" + method + "'";
    const auto* entry = find_method(method);
    const std::string named = entry ? std::string(entry->named_by) : std::string();
    if (!named.empty() && params.contains(named) && params[named].is_string()) {
        auto raw = req.headers.get("Mcp-Name");
        auto value = raw ? header_value(*raw) : std::nullopt;
        if (!value || *value != params[named].get<std::string>())
            return "Mcp-Name must be params." + named + " (literal, or =?base64?...?= encoded)";
    }
    if (method == "tools/call" && params.contains("name") && params["name"].is_string()) {
        auto t = reg.find_tool(params["name"].get<std::string>());
        if (!t) t = workers.worker_tool(params["name"].get<std::string>());
        if (t)
            return check_header_params(t->definition.value("inputSchema", json::object()),
                                       params.value("arguments", json::object()), req);
    }
    return std::nullopt;
}

}  // namespace

bool stateless_endpoint::claims(const json& body, const http_request& req) {
    if (!body.is_object()) return false;
    if (const auto params = body.find("params"); params != body.end() && params->is_object())
        if (const auto meta = params->find("_meta");
            meta != params->end() && meta->is_object() && meta->contains(key_version))
            return true;
    auto v = req.headers.get("MCP-Protocol-Version");
    const auto method = body.find("method");
    const bool initialize =
        method != body.end() && method->is_string() && method->get_ref<const std::string&>() == "initialize";
    return v && *v == modern_version && !req.headers.get("Mcp-Session-Id") && !initialize;
}

void stateless_endpoint::serve(json body, const http_request& req, std::shared_ptr<responder> res) {
    const json id = body.contains("id") && valid_id(body["id"]) ? body["id"] : json(nullptr);
    auto refuse = [&](unsigned status, int code, std::string message) {
        res->respond(http::rpc_error(status, id, code, message));
    };
    auto kind = classify(body);
    if (kind.kind == message_kind::invalid) return refuse(400, rpc_code::invalid_request, "Invalid Request: " + kind.why);
    if (kind.kind == message_kind::response)
        return refuse(400, rpc_code::invalid_request, "Invalid Request: a 2026-07-28 client sends no responses");
    auto e = read_envelope(body, kind.kind, req, id, p_.options);
    if (!e) return res->respond(std::move(e.error()));
    const auto& method = body["method"].get_ref<const std::string&>();
    if (auto mismatch = header_mismatch(method, e->params, req, p_.reg, p_.workers))
        return refuse(400, rpc_code::header_mismatch, "Header mismatch: " + *mismatch);
    std::optional<log_level> level;
    if (e->level_given) {
        level = e->level_given->is_string() ? parse_log_level(e->level_given->get<std::string>()) : std::nullopt;
        if (!level)
            return refuse(400, rpc_code::invalid_params,
                          "Invalid params: " + std::string(key_log_level) +
                              " must be one of debug, info, notice, warning, error, critical, alert, emergency");
    }
    const auto* entry = find_method(method);
    if (!entry || !served(*entry, era::stateless, std::string(modern_version)))
        return refuse(404, rpc_code::method_not_found,
                      "Method not found: " + method + " (in protocol version " + std::string(modern_version) + ")");
    if (method == "server/discover") return res->respond(http::rpc_answer(200, make_result(id, discover())));
    if (method == "subscriptions/listen") return listen(id, e->params, req, std::move(res));

    // A request of its own, answered on its response: no session, nothing stored.
    auto c = std::make_shared<call>();
    c->id = id;
    c->id_key = to_json(id);
    c->method = method;
    c->params = std::move(e->params);
    if (const auto& meta = c->params["_meta"]; meta.contains("progressToken")) c->progress_token = meta["progressToken"];
    if (auto problem = take_answers(*c, req.principal))
        return refuse(400, rpc_code::invalid_params, "Invalid params: " + *problem);
    // SSE only when something may precede the response; JSON otherwise.
    const bool streaming = http::accepts(req, "text/event-stream") && (c->progress_token || level);
    c->channel = std::make_shared<direct_channel>(
        direct_channel::parts{p_.results, p_.meter, p_.workers, p_.options.retry},
        direct_channel::caller{std::string(modern_version), std::move(e->capabilities), req.principal, level}, res,
        streaming);
    c->runs_on = p_.calls.placement(*c);
    p_.meter.arrived();
    if (c->runs_on == execution::io) return p_.calls.serve(c, p_.meter);
    if (!p_.handlers.post([this, c] { p_.calls.serve(c, p_.meter); })) {
        p_.meter.left();
        refuse(503, rpc_code::internal_error, "the server is busy; retry later");
    }
}

void stateless_endpoint::listen(const json& id, const json& params, const http_request& req,
                                std::shared_ptr<responder> res) {
    auto refuse = [&](unsigned status, int code, std::string message) {
        res->respond(http::rpc_error(status, id, code, message));
    };
    if (!http::accepts(req, "text/event-stream"))
        return refuse(406, rpc_code::invalid_request, "Not Acceptable: subscriptions/listen answers with text/event-stream");
    if (!params.contains("notifications") || !params["notifications"].is_object())
        return refuse(400, rpc_code::invalid_params,
                      "Invalid params: subscriptions/listen needs params.notifications (an object)");
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
            return refuse(400, rpc_code::invalid_params,
                          "Invalid params: notifications.resourceSubscriptions must be an array of URIs");
        json list = json::array();
        for (auto& u : wanted["resourceSubscriptions"])
            if (u.is_string() && uris.insert(u.get<std::string>()).second) list.push_back(u);
        if (!list.empty()) honoured["resourceSubscriptions"] = list;
    }
    // The Tasks extension's status notifications (notifications/tasks) for
    // the tasks named, to a client that declared the extension.
    std::vector<std::string> asked;
    if (wanted.contains("taskIds")) {
        if (!wanted["taskIds"].is_array())
            return refuse(400, rpc_code::invalid_params, "Invalid params: notifications.taskIds must be an array of task ids");
        const json& caps = params["_meta"].value(key_capabilities, json::object());
        if (caps.contains("extensions") && caps["extensions"].contains("io.modelcontextprotocol/tasks"))
            for (auto& t : wanted["taskIds"])
                if (t.is_string()) asked.push_back(t.get<std::string>());
    }
    listen_request l{id, std::move(methods), std::move(uris), {}, std::move(honoured)};
    if (asked.empty()) return open_listen(std::move(l), std::move(res));
    // Looking a task up may be a round trip to a shared store: not on an I/O
    // thread. The stream opens back on the connection's strand.
    auto find_then_open = [this, l = std::move(l), asked = std::move(asked), principal = req.principal, res]() mutable {
        json list = json::array();
        for (auto& t : asked) {
            // Only tasks this client may see (another principal's are left out, as unknown ones).
            auto task = p_.tasks.find(t);
            if (!task) continue;
            {
                std::lock_guard lock(task->mu);
                if (!task->rec.session.empty() || (p_.authenticated && task->rec.principal != principal)) continue;
            }
            if (l.task_ids.insert(t).second) list.push_back(t);
        }
        if (!list.empty()) l.honoured["taskIds"] = list;
        if (!p_.st.shared()) return open_listen(std::move(l), std::move(res));
        res->post([this, l = std::move(l), res]() mutable { open_listen(std::move(l), std::move(res)); });
    };
    if (!p_.st.shared()) return find_then_open();  // a local read
    if (!p_.handlers.post(std::move(find_then_open)))
        refuse(503, rpc_code::internal_error, "Service Unavailable: the server is busy; retry later");
}

void stateless_endpoint::open_listen(listen_request l, std::shared_ptr<responder> res) {
    std::lock_guard lock(listens_mu_);
    std::erase_if(listens_, [](auto& w) {
        auto l = w.lock();
        return !l || !l->open();
    });
    if (listens_.size() >= p_.options.max_listen_streams)
        return res->respond(http::rpc_error(503, l.id, rpc_code::internal_error,
                                            "Service Unavailable: " + std::to_string(listens_.size()) +
                                                " listen streams are open, the limit"));
    listens_.push_back(listen_stream::start(p_.st, p_.delivery, res->start_sse({}), l.id, std::move(l.methods),
                                            std::move(l.uris), std::move(l.task_ids), std::move(l.honoured)));
}

bool stateless_endpoint::listening() {
    std::lock_guard lock(listens_mu_);
    return !listens_.empty();
}

void stateless_endpoint::finish_listens() {
    std::lock_guard lock(listens_mu_);
    for (auto& w : listens_)
        if (auto l = w.lock()) l->finish();
    listens_.clear();
}

std::optional<std::string> stateless_endpoint::take_answers(call& c, const std::string& principal) const {
    const auto* entry = find_method(c.method);
    if (!entry || !entry->asks_for_input) return std::nullopt;  // unknown parameters of other methods are ignored
    const json& p = c.params;
    if (p.contains("requestState")) {
        if (!p["requestState"].is_string()) return "requestState must be a string";
        auto answers = p_.states.open(p["requestState"].get<std::string>(),
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

json stateless_endpoint::discover() const {
    json result{{"supportedVersions", supported_versions(p_.options)},
                {"capabilities", server_capabilities(modern_version)}};
    if (!p_.options.instructions.empty()) result["instructions"] = p_.options.instructions;
    return p_.results.decorate("server/discover", std::move(result));
}

}  // namespace litemcp::server
