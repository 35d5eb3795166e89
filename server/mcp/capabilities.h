// What the server tells a client about itself: the protocol versions it
// speaks, the one it answers a client's initialize with, and its
// capabilities at each version (MCP-CHECKLIST: lifecycle). Both eras read
// them from here, so initialize and server/discover cannot disagree.
//
// Threading: pure functions of their arguments.
#pragma once

#include <string>
#include <string_view>

#include "server/config/config.h"
#include "server/json/json.h"

namespace litemcp::server {

// The stateless revision, served beside the legacy ones on the same endpoint.
inline constexpr std::string_view modern_version = "2026-07-28";

// The version an initialize answers with: the client's when the server
// speaks it (2024-11-05 always), the server's newest otherwise.
std::string negotiate(const mcp_options& o, const std::string& requested);
// Every version the server speaks, 2026-07-28 first (server/discover, and the
// data of an unsupported-version error).
json supported_versions(const mcp_options& o);
// The capabilities object of initialize and server/discover at `version`.
json server_capabilities(std::string_view version);

}  // namespace litemcp::server
