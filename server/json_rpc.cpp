#include "server/json_rpc.h"

namespace litemcp::server {

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

classified classify(const json& msg) {
    if (!msg.is_object()) return {message_kind::invalid, "a JSON-RPC message must be an object"};
    auto v = msg.find("jsonrpc");
    if (v == msg.end() || *v != "2.0") return {message_kind::invalid, "\"jsonrpc\" must be \"2.0\""};
    const bool has_id = msg.contains("id");
    if (auto m = msg.find("method"); m != msg.end()) {
        if (!m->is_string() || m->get_ref<const std::string&>().empty())
            return {message_kind::invalid, "\"method\" must be a non-empty string"};
        if (auto p = msg.find("params"); p != msg.end() && !p->is_object())
            return {message_kind::invalid, "\"params\" must be an object"};
        if (!has_id) return {message_kind::notification, {}};
        if (!valid_id(msg["id"])) return {message_kind::invalid, "\"id\" must be a string or an integer"};
        return {message_kind::request, {}};
    }
    const bool has_result = msg.contains("result"), has_error = msg.contains("error");
    if (has_result || has_error) {
        if (has_result == has_error) return {message_kind::invalid, "a response has exactly one of result and error"};
        if (!has_id || !valid_id(msg["id"])) return {message_kind::invalid, "a response needs a string or integer id"};
        if (has_error && (!msg["error"].is_object() || !msg["error"].contains("code")))
            return {message_kind::invalid, "\"error\" must be an object with a code"};
        return {message_kind::response, {}};
    }
    return {message_kind::invalid, "a message needs a method, a result or an error"};
}

json make_result(const json& id, json result) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, int code, std::string_view message, std::optional<json> data) {
    json err{{"code", code}, {"message", message}};
    if (data) err["data"] = std::move(*data);
    // No readable id: JSON-RPC asks for null; MCP's schema omits the member.
    json out{{"jsonrpc", "2.0"}, {"error", std::move(err)}};
    if (!id.is_null()) out["id"] = id;
    return out;
}

json make_notification(std::string_view method, json params) {
    json out{{"jsonrpc", "2.0"}, {"method", method}};
    if (!params.is_null()) out["params"] = std::move(params);
    return out;
}

json make_request(const json& id, std::string_view method, json params) {
    json out{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) out["params"] = std::move(params);
    return out;
}

}  // namespace litemcp::server
