// An upstream: an MCP server registered by URL (docs/workers.md, "Register
// your MCP server"). It is a worker whose instance is litemcp's own MCP
// client of that server: the registration's "upstream" block says where it
// is and how to reach it; the tools, resources and prompts are what the
// server lists, tools and prompts named with the prefix.
//
// This file holds the values and the pure rules: reading the block, naming,
// turning the server's lists into the registration. (What the API shows of
// the block, without its secrets, is the worker's description.) Threading: values; no shared state.
#pragma once

#include <chrono>
#include <expected>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

struct upstream_definition {
    std::string name;  // the worker's name; its queue is mcp.worker/<name>
    std::string url;   // the server's Streamable HTTP endpoint (http:// or https://)
    // Sent with every request, bearerToken as "Authorization: Bearer ...".
    // Secrets: kept in the registration, never shown by the API.
    std::vector<std::pair<std::string, std::string>> headers;
    // Put before every tool and prompt name of the server. Default:
    // "<name>__"; empty: the server's names as they are.
    std::string prefix;
    // The longest silence of the server while it answers one request (a
    // call's stream may stay open longer while it sends progress). Default:
    // the server's --upstream-request-timeout-ms (60 s).
    std::chrono::milliseconds request_timeout{60'000};

    // Reads a registration's "upstream" block; request_timeout_default
    // applies when the block names none.
    static std::expected<upstream_definition, std::string> read(const std::string& name, const json& block,
                                                                std::chrono::milliseconds request_timeout_default);

    // The server's name of a tool or prompt listed under ours; nullopt when
    // it does not carry the prefix.
    std::optional<std::string> upstream_name(const std::string& listed) const;
    // A resource URI of the server under which litemcp lists it when
    // something else serves the URI already: "upstream://<name>/<uri>".
    std::string namespaced_uri(const std::string& uri) const { return "upstream://" + name + "/" + uri; }
    // The server's URI of one litemcp lists (namespaced or not).
    std::string upstream_uri(const std::string& listed) const {
        const auto prefix = "upstream://" + name + "/";
        return listed.starts_with(prefix) ? listed.substr(prefix.size()) : listed;
    }
    // The URL as logs and answers show it: a query (often a key) hidden.
    std::string shown_url() const { return shown(url); }
    static std::string shown(const std::string& url) {
        auto q = url.find('?');
        return q == std::string::npos ? url : url.substr(0, q) + "?…";
    }
};

// A delivered call as the server is asked it (litemcp's instance of an
// upstream, and litemcp-connect): under its own JSON-RPC id, one per
// attempt (call id "/" attempt), so a late answer of an attempt given up is
// not taken for the next one's; the server's name of the tool or prompt; the
// client's progress token replaced by that id, where the server's progress
// comes back under; the delivery id and attempt kept in _meta, litemcp's
// deadline dropped; a namespaced resource URI read as the server's. The error is the client's answer when the name does not
// carry the prefix.
struct forwarded_request {
    std::string id;
    std::string method;
    json params;
};
std::expected<forwarded_request, std::string> forward_call(const upstream_definition& d,
                                                           worker_messages::delivered_call call);

// The registration body of an upstream: what was asked (name, upstream,
// worker options) with the server's lists, tools and prompts renamed with
// the prefix. lists: {"tools": [...], "resources": [...], "prompts": [...]}
// as the server listed them; a resource whose URI is in `taken` (served by
// something else) is listed under d.namespaced_uri. An error names what the
// server listed that cannot be served (a name too long with the prefix, ...).
std::expected<json, std::string> upstream_registration(const json& asked, const upstream_definition& d,
                                                       const json& lists, const std::set<std::string>& taken = {});

}  // namespace litemcp::server
