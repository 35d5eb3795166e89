// Upstreams declared in configuration (docs/workers.md, "MCP servers from a
// configuration file"): the "mcpServers" shape that Claude Desktop, Cursor
// and Envoy use ({"mcpServers": {name: {url, headers, ...}}}), VS Code's
// ({"servers": {name: {"type": "http", url, headers}}}), and the official
// registry's server.json ({"name", "remotes": [{"type": "streamable-http",
// "url", "headers": [{"name", "value"}]}]}). Each entry becomes the
// registration body of an upstream, as POST /workers would take it.
//
// Threading: pure functions.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "server/json/json.h"

namespace litemcp::server {

struct declared_upstreams {
    json bodies = json::object();        // name -> registration body (with "declared": true)
    std::vector<std::string> warnings;   // entries skipped, and why
};

// Reads a document in any of the three shapes; `where` names it in messages.
// An error when the document is none of them or an entry cannot be used.
std::expected<declared_upstreams, std::string> read_declared_upstreams(const json& doc, const std::string& where);

}  // namespace litemcp::server
