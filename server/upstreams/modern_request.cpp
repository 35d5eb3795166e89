#include "server/upstreams/modern_request.h"

#include "server/json/json_fields.h"
#include "server/util/base64.h"

namespace litemcp::server::modern_request {

json with_envelope(json params, const json& capabilities, const json& info) {
    if (!params.is_object()) params = json::object();
    json& meta = params["_meta"];
    if (!meta.is_object()) meta = json::object();
    meta["io.modelcontextprotocol/protocolVersion"] = version;
    meta["io.modelcontextprotocol/clientCapabilities"] = capabilities;
    meta["io.modelcontextprotocol/clientInfo"] = info;
    // Log messages at info and above reach litemcp, which filters them by
    // each calling session's level.
    if (!meta.contains("io.modelcontextprotocol/logLevel")) meta["io.modelcontextprotocol/logLevel"] = "info";
    return params;
}

tool_header_params header_params_of(const json& tools) {
    tool_header_params found;
    for (auto& t : tools) {
        const auto name = string_field(t, "name");
        const json props = object_field(object_field(t, "inputSchema"), "properties");
        for (auto& [arg, schema] : props.items())
            if (auto h = string_field(schema, "x-mcp-header"); !name.empty() && !h.empty()) found[name].emplace_back(arg, h);
    }
    return found;
}

void set_routing_headers(transport::header_list& headers, const json& message, const tool_header_params& params) {
    const auto method = string_field(message, "method");
    headers.set("MCP-Protocol-Version", version);
    headers.set("Mcp-Method", method);
    const auto p = object_field(message, "params");
    const auto name = method == "resources/read" ? string_field(p, "uri") : string_field(p, "name");
    if ((method == "tools/call" || method == "prompts/get" || method == "resources/read") && !name.empty())
        headers.set("Mcp-Name", header_value(name));
    // A task's requests are routed by its id.
    if (method.starts_with("tasks/") && !string_field(p, "taskId").empty())
        headers.set("Mcp-Name", header_value(string_field(p, "taskId")));
    if (method != "tools/call") return;
    const auto it = params.find(name);
    if (it == params.end()) return;
    const json args = object_field(p, "arguments");
    for (auto& [arg, header] : it->second) {
        auto v = args.find(arg);
        if (v == args.end() || v->is_null() || v->is_object() || v->is_array()) continue;
        headers.set("Mcp-Param-" + header, header_value(v->is_string() ? v->get<std::string>() : v->dump()));
    }
}

std::string header_value(const std::string& v) {
    bool plain = !v.empty() && v.front() != ' ' && v.back() != ' ' && !(v.starts_with("=?base64?") && v.ends_with("?="));
    for (unsigned char c : v)
        if (c < 0x20 || c > 0x7e) plain = false;
    if (plain) return v;
    return "=?base64?" + base64_encode(v, base64_alphabet::standard) + "?=";
}

}  // namespace litemcp::server::modern_request
