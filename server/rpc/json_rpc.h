// JSON-RPC 2.0 framing for MCP: classifying a message, and the one place
// where results and errors are built (every error litemcp sends comes from
// here). nlohmann::json values throughout the server layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/json/json.h"

namespace litemcp::server {

// JSON-RPC and MCP error codes litemcp uses.
namespace rpc_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int resource_not_found = -32002;        // legacy revisions
inline constexpr int url_elicitation_required = -32042;  // 2025-11-25
inline constexpr int request_cancelled = -32800;         // used internally, never sent for a cancelled request
inline constexpr int header_mismatch = -32020;           // 2026-07-28: a header disagrees with the body
inline constexpr int missing_capability = -32021;        // 2026-07-28: a needed client capability is undeclared
inline constexpr int unsupported_protocol_version = -32022;  // 2026-07-28
// The server stopped (a restart, a crash, a graceful stop past its grace
// period) while the request ran; sending it again is safe as far as litemcp
// is concerned. Outside -32768..-32000, which JSON-RPC and MCP reserve.
inline constexpr int request_interrupted = -31000;
// Never sent: request_context::ask() returns it when the handler must stop
// and the client be asked for input (an input_required result, or a task
// waiting in input_required). A handler returns it unchanged.
inline constexpr int input_pending = -32099;
}  // namespace rpc_code

enum class message_kind {
    request,       // method + id
    notification,  // method, no id
    response,      // result or error + id (a client answering a server request)
    invalid,
};

struct classified {
    message_kind kind = message_kind::invalid;
    std::string why;  // for invalid: what is wrong, for the error message
};

// Checks the JSON-RPC shape of one message (not of a batch).
classified classify(const json& msg);

// A request id must be a string or an integer (MCP forbids null).
bool valid_id(const json& id);

json make_result(const json& id, json result);
// The text of make_result(id, result) (to_json's bytes: members in key
// order), written without building the message. id_text is to_json(id).
std::string result_text(std::string_view id_text, const json& result);
json make_error(const json& id, int code, std::string_view message, std::optional<json> data = std::nullopt);
json make_notification(std::string_view method, json params);
json make_request(const json& id, std::string_view method, json params);

}  // namespace litemcp::server
