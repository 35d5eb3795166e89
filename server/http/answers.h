// The JSON answers of litemcp's HTTP APIs: /mcp answers with JSON-RPC
// messages (json_rpc.h); /workers/, /admin/ and /metrics' neighbours with
// JSON bodies whose errors are {"error": "<what is wrong>"}.
//
// Threading: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/json/json.h"
#include "transport/http_message.h"

namespace litemcp::server::http {

enum class json_style {
    compact,  // for programs (/workers/)
    pretty,   // indented, with a final newline: for curl in a terminal (/admin/)
};

transport::http_response json_answer(unsigned status, const json& body, json_style style = json_style::compact);
transport::http_response problem(unsigned status, std::string message, json_style style = json_style::compact);

// /mcp: a JSON-RPC message (or a batch's array) as the body; the same with
// its text already written; a JSON-RPC error.
transport::http_response rpc_answer(unsigned status, const json& message);
transport::http_response rpc_answer_text(unsigned status, std::string text);
transport::http_response rpc_error(unsigned status, const json& id, int code, std::string_view message,
                                   std::optional<json> data = std::nullopt);

}  // namespace litemcp::server::http
