// The JSON answers of litemcp's HTTP APIs besides /mcp (which answers with
// JSON-RPC messages, json_rpc.h): /workers/, /admin/, /metrics' neighbours.
// A body is JSON; an error is {"error": "<what is wrong>"}.
//
// Threading: pure functions.
#pragma once

#include <string>

#include "server/json.h"
#include "transport/http_message.h"

namespace litemcp::server::http {

enum class json_style {
    compact,  // for programs (/workers/)
    pretty,   // indented, with a final newline: for curl in a terminal (/admin/)
};

transport::http_response json_answer(unsigned status, const json& body, json_style style = json_style::compact);
transport::http_response problem(unsigned status, std::string message, json_style style = json_style::compact);

}  // namespace litemcp::server::http
