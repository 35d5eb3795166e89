// The MCP methods litemcp serves, one entry each: the handler, the eras that
// serve it, whether it may answer on the I/O thread, whether a 2026-07-28
// result may be cached, which parameter Mcp-Name mirrors, and whether it may
// ask the client for input. Every list of methods reads from here: dispatch,
// placement, the stateless era's gate, its cache hints and its input rounds.
//
// Threading: a constant table. Lifetime: static.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "server/rpc/provider.h"

namespace litemcp::server {

// The two eras of MCP over Streamable HTTP (docs/server.md): stateful
// (2025-03-26 to 2025-11-25, Mcp-Session-Id) and stateless (2026-07-28).
enum class era : std::uint8_t { stateful = 1, stateless = 2 };

struct method_scope;  // what a handler works with (methods/methods.h)
using method_handler = rpc_result (*)(method_scope&);

struct mcp_method {
    std::string_view name;
    bool stateful = true;             // served on sessions ...
    std::string_view stateful_since;  // ... from this revision on ("": every revision)
    bool stateless = true;            // served by the 2026-07-28 era
    // Answers without waiting for anything: runs on the I/O thread (for
    // tools/call the tool decides, tool::runs_on).
    bool on_io_thread = false;
    bool cacheable = false;           // 2026-07-28: its result carries ttlMs and cacheScope
    std::string_view named_by;        // 2026-07-28: the parameter Mcp-Name mirrors, or ""
    bool asks_for_input = false;      // its handler may ask the client (elicitation, sampling, roots)
    // Null for methods the endpoint answers itself (initialize,
    // server/discover, subscriptions/listen).
    method_handler handler = nullptr;
};

// The entry of a method, or nullptr when litemcp knows no such method.
const mcp_method* find_method(std::string_view name);
// Whether the method is served in era e at protocol version `version`.
bool served(const mcp_method& m, era e, std::string_view version);
std::span<const mcp_method> all_methods();
// A JSON-RPC method as a metrics label: the methods of the table by name,
// any notification as "notification", anything else a client makes up as
// "other", so a client cannot grow the label space.
std::string_view method_label(std::string_view method);

}  // namespace litemcp::server
