#include "server/workers/worker_messages.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"

namespace litemcp::server::worker_messages {

json call_request(const std::string& call_id, const std::string& method, const json& client_params, unsigned attempt,
                  std::uint64_t deadline_ms) {
    json params = client_params.is_object() ? client_params : json::object();
    json& meta = params["_meta"];
    if (!meta.is_object()) meta = json::object();
    meta[delivery_id_key] = call_id;
    meta[attempt_key] = attempt;
    meta[deadline_key] = deadline_ms;
    return make_request(call_id, method, std::move(params));
}

json cancelled(const std::string& call_id, const std::string& reason) {
    return make_notification("notifications/cancelled", json{{"requestId", call_id}, {"reason", reason}});
}

json attached(const std::string& worker, const std::string& instance) {
    return make_notification("io.litemcp/attached", json{{"worker", worker}, {"instance", instance}});
}

std::uint64_t deadline_of(const json& request) {
    const json* params = find_object(request, "params");
    const json* meta = params ? find_object(*params, "_meta") : nullptr;
    if (!meta) return 0;
    auto it = meta->find(deadline_key);
    return it != meta->end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::optional<delivered_call> read_call(const json& message) {
    if (classify(message).kind != message_kind::request || !message["id"].is_string()) return std::nullopt;
    delivered_call c;
    c.id = message["id"].get<std::string>();
    c.method = message["method"].get<std::string>();
    c.params = object_field(message, "params");
    if (const json* meta = find_object(c.params, "_meta"))
        if (auto it = meta->find(attempt_key);
            it != meta->end() && it->is_number_unsigned() && it->get<std::uint64_t>() > 0)
            c.attempt = static_cast<unsigned>(std::min<std::uint64_t>(it->get<std::uint64_t>(), 1u << 30));
    c.deadline_ms = deadline_of(message);
    return c;
}

namespace {

// The notifications an instance may send, and the hub action each is.
struct notice_action {
    std::string_view method;
    std::string_view action;
};
constexpr notice_action notices[] = {
    {"notifications/progress", "progress"}, {"notifications/message", "log"}, {"io.litemcp/failure", "failure"},
    {"io.litemcp/suspend", "suspend"},      {"io.litemcp/extend", "extend"},
};

// The fields of params litemcp uses; a null optional field reads as absent.
json kept_fields(const json& params, std::initializer_list<const char*> keys) {
    json kept = json::object();
    for (const char* key : keys)
        if (auto it = params.find(key); it != params.end() && (!it->is_null() || std::string_view(key) == "data"))
            kept[key] = *it;
    return kept;
}

std::string known_notices() {
    std::string out;
    for (auto& n : notices) out += (out.empty() ? "" : ", ") + std::string(n.method);
    return out;
}

}  // namespace

std::expected<report, std::string> report_of(const json& message, std::string_view call_id) {
    if (message.is_array()) return std::unexpected("send one JSON-RPC message per request, not a batch");
    const auto shape = classify(message);
    switch (shape.kind) {
        case message_kind::invalid: return std::unexpected("not a JSON-RPC message: " + shape.why);
        case message_kind::response: {
            if (!message["id"].is_string() || message["id"].get<std::string>() != call_id)
                return std::unexpected("a response's id must be the call's id '" + std::string(call_id) + "', as delivered; it is " +
                                       to_json(message["id"]));
            if (message.contains("result")) return report{"result", json{{"result", message["result"]}}};
            return report{"error", json{{"error", message["error"]}}};
        }
        case message_kind::request:
            return report{"ask", json{{"id", message["id"]}, {"method", message["method"]}, {"params", object_field(message, "params")}}};
        case message_kind::notification: break;
    }
    const auto method = message["method"].get<std::string>();
    for (auto& n : notices) {
        if (n.method != method) continue;
        json body = object_field(message, "params");
        // MCP's notifications get no answer, so their senders seldom read
        // one: what litemcp does not use of them (the progress token, which
        // the URL says again, _meta, fields of later revisions) is left out
        // rather than refused. Its own notifications are checked whole.
        if (n.action == "progress") body = kept_fields(body, {"progress", "total", "message"});
        else if (n.action == "log") body = kept_fields(body, {"level", "data", "logger"});
        else body.erase("_meta");
        return report{std::string(n.action), std::move(body)};
    }
    return std::unexpected("unknown notification '" + method + "': an instance sends " + known_notices() +
                           ", or the call's response");
}

}  // namespace litemcp::server::worker_messages
