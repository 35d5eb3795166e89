// Input in rounds: how a 2026-07-28 request or a task asks its client for
// input (request_context::ask). Nothing waits: the answers the client has
// given so far (call::answers) are returned; when one is missing the ask
// fails with rpc_code::input_pending and the call records what it wants
// (call::input_requests), which the client gets as an input_required result
// or a task waiting in input_required. The handler runs again with the
// answers.
//
// Threading: functions of one call, on the thread running its handler.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/mcp/call.h"

namespace litemcp::server {

// The client capability a server-to-client method needs, if any.
std::optional<std::string> capability_for(std::string_view method);

// ask() in rounds, for a client that declared `capabilities`.
input_outcome ask_in_rounds(call& c, const json& capabilities, std::vector<input_request> inputs);
// request() in rounds: an ask() of one input, keyed by the method and the
// request's place in the handler's sequence.
rpc_result request_in_rounds(call& c, const json& capabilities, std::string method, json params);

}  // namespace litemcp::server
