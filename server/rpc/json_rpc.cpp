#include "server/rpc/json_rpc.h"

#include "server/json/json_text.h"

namespace litemcp::server {

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

classified classify(const json& msg) {
    if (!msg.is_object()) return {message_kind::invalid, "a JSON-RPC message must be an object"};
    auto v = msg.find("jsonrpc");
    if (v == msg.end() || !v->is_string() || std::string_view(v->get_ref<const std::string&>()) != "2.0")
        return {message_kind::invalid, "\"jsonrpc\" must be \"2.0\""};
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

namespace {
// Envelopes are built member by member: an initializer list such as
// json{{"jsonrpc", "2.0"}, ...} first builds every pair as a two-element
// array, about three times the allocations, on every message.
json envelope() {
    json out(json::value_t::object);
    out.get_ref<json::object_t&>().emplace("jsonrpc", "2.0");
    return out;
}
void put(json& object, const char* key, json value) {
    object.get_ref<json::object_t&>().insert_or_assign(key, std::move(value));
}
}  // namespace

json make_result(const json& id, json result) {
    json out = envelope();
    put(out, "id", id);
    put(out, "result", std::move(result));
    return out;
}

std::string result_text(std::string_view id_text, const json& result) {
    std::string out;
    out.append(R"({"id":)").append(id_text).append(R"(,"jsonrpc":"2.0","result":)");
    append_json(out, result);
    out.push_back('}');
    return out;
}

json make_error(const json& id, int code, std::string_view message, std::optional<json> data) {
    json err(json::value_t::object);
    put(err, "code", code);
    put(err, "message", message);
    if (data) put(err, "data", std::move(*data));
    // No readable id: JSON-RPC asks for null; MCP's schema omits the member.
    json out = envelope();
    put(out, "error", std::move(err));
    if (!id.is_null()) put(out, "id", id);
    return out;
}

json make_notification(std::string_view method, json params) {
    json out = envelope();
    put(out, "method", method);
    if (!params.is_null()) put(out, "params", std::move(params));
    return out;
}

json make_request(const json& id, std::string_view method, json params) {
    json out = envelope();
    put(out, "id", id);
    put(out, "method", method);
    if (!params.is_null()) put(out, "params", std::move(params));
    return out;
}

}  // namespace litemcp::server
