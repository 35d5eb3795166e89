// A request as litemcp sends it to an upstream that speaks 2026-07-28
// (mcp_client.h): its params carry the _meta envelope (protocol version,
// client capabilities and info, log level), and its headers say again what
// the body says, for routing: MCP-Protocol-Version, Mcp-Method, Mcp-Name,
// and an Mcp-Param-<name> for each tool argument that the tool's inputSchema
// marks with x-mcp-header.
//
// Threading: pure functions; no shared state.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"
#include "transport/http_message.h"

namespace litemcp::server::modern_request {

inline constexpr const char* version = "2026-07-28";

// params (made an object if it is not one) with the _meta envelope naming
// the client by its capabilities and info; a log level the caller set is kept.
json with_envelope(json params, const json& capabilities, const json& info);

// The x-mcp-header arguments of each tool: tool name -> (argument, header name).
using tool_header_params = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;
// Those of the tools as a server lists them.
tool_header_params header_params_of(const json& tools);

// Sets, for the request `message`, MCP-Protocol-Version and Mcp-Method; Mcp-Name
// for tools/call, prompts/get and resources/read; and Mcp-Param-<name> for
// each of a tools/call's arguments in `params` that is a string, number or
// boolean.
void set_routing_headers(transport::header_list& headers, const json& message, const tool_header_params& params);

// A header value as 2026-07-28 carries it: as it is when it is printable
// ASCII without leading or trailing space, else "=?base64?...?=".
std::string header_value(const std::string& v);

}  // namespace litemcp::server::modern_request
