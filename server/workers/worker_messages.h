// The MCP JSON-RPC messages of the worker channel (docs/workers.md, "The
// channel"): litemcp delivers each call to an instance as the MCP request it
// is (tools/call, resources/read, prompts/get, its JSON-RPC id the call's id),
// tells it of a cancellation with notifications/cancelled, and the instance
// answers with the JSON-RPC response, notifications/progress and
// notifications/message -- plus three notifications of litemcp's own for the
// queue (io.litemcp/failure, io.litemcp/suspend, io.litemcp/extend), which
// MCP has no words for.
//
// This file is the one place that knows the shapes: the hub builds the
// messages here, the worker API and litemcp's in-process instances
// (server/upstreams/) read them here, and litemcp-connect reads the delivered
// call here.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "server/json/json.h"

namespace litemcp::server::worker_messages {

// The keys litemcp adds to a delivered call's _meta. The delivery id is the
// idempotency key MCP lacks: the same on every attempt of one call.
inline constexpr const char* delivery_id_key = "io.litemcp/deliveryId";
inline constexpr const char* attempt_key = "io.litemcp/attempt";
inline constexpr const char* deadline_key = "io.litemcp/deadline";  // ms since the epoch

// ---- litemcp to an instance ----

// The request that delivers a call: the client's params as they are, with
// the keys above added to their _meta (the client's progressToken stays
// there when it gave one, so the worker knows progress is wanted).
json call_request(const std::string& call_id, const std::string& method, const json& client_params, unsigned attempt,
                  std::uint64_t deadline_ms);
json cancelled(const std::string& call_id, const std::string& reason);
// The first message on an instance's stream: calls may follow.
json attached(const std::string& worker, const std::string& instance);

// A delivered call, read back (an in-process instance, the connector).
struct delivered_call {
    std::string id;
    std::string method;
    json params;  // the client's, _meta included
    unsigned attempt = 1;
    std::uint64_t deadline_ms = 0;  // 0: none given
};
// nullopt when the message is not a call request.
std::optional<delivered_call> read_call(const json& message);
// The deadline of a delivered call's request; 0 when it has none.
std::uint64_t deadline_of(const json& request);

// ---- an instance to litemcp ----

// What an instance's message about one call asks of the hub: one of the
// hub's answer actions (result, error, progress, log, failure, suspend,
// extend) and its body, in the shape schemas/worker-<action>.json checks --
// or, for a request the instance makes of the calling client, action "ask"
// with body {"id", "method", "params"}.
struct report {
    std::string action;
    json body;
};
// call_id is the call the message is about (the URL's): a response must
// carry it as its id. The error says what is wrong, for a 400.
std::expected<report, std::string> report_of(const json& message, std::string_view call_id);

}  // namespace litemcp::server::worker_messages
