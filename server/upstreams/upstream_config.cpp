#include "server/upstreams/upstream_config.h"

#include <cctype>

#include "server/json/json_fields.h"

namespace litemcp::server {

namespace {

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    for (unsigned char c : n)
        if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

std::expected<json, std::string> headers_object(const json& h, const std::string& at) {
    if (h.is_null()) return json::object();
    if (!h.is_object()) return std::unexpected(at + ": headers must be an object of strings");
    for (auto& [k, v] : h.items())
        if (!v.is_string()) return std::unexpected(at + ".headers." + k + ": not a string");
    return h;
}

// One entry of mcpServers / servers.
std::expected<void, std::string> add_entry(declared_upstreams& out, const std::string& name, const json& e,
                                           const std::string& at) {
    if (!e.is_object()) return std::unexpected(at + ": not an object");
    if (!valid_name(name)) return std::unexpected(at + ": the name must be 1 to 64 of A-Z a-z 0-9 . _ -");
    const auto type = string_field(e, "type");
    if (e.contains("command") || type == "stdio") {
        out.warnings.push_back(at + ": a stdio server (command) cannot be reached by URL; run it with litemcp-connect "
                                    "(docs/workers.md) -- skipped");
        return {};
    }
    if (type == "sse") {
        out.warnings.push_back(at + ": the HTTP+SSE transport of 2024-11-05 is not supported -- skipped");
        return {};
    }
    if (!e.contains("url") || !e["url"].is_string())
        return std::unexpected(at + ": neither a url nor a command");
    const auto url = e["url"].get<std::string>();
    if (!url.starts_with("http://") && !url.starts_with("https://"))
        return std::unexpected(at + ".url: '" + url + "' is not an http:// or https:// URL");
    auto headers = headers_object(e.value("headers", json()), at);
    if (!headers) return std::unexpected(headers.error());
    json upstream = {{"url", url}};
    if (!headers->empty()) upstream["headers"] = *headers;
    if (e.contains("toolPrefix") && e["toolPrefix"].is_string()) upstream["toolPrefix"] = e["toolPrefix"];
    out.bodies[name] = json{{"name", name}, {"upstream", std::move(upstream)}, {"declared", true}};
    return {};
}

}  // namespace

std::expected<declared_upstreams, std::string> read_declared_upstreams(const json& doc, const std::string& where) {
    declared_upstreams out;
    if (!doc.is_object()) return std::unexpected(where + ": not a JSON object");
    for (const char* key : {"mcpServers", "servers"}) {
        if (!doc.contains(key)) continue;
        const auto& servers = doc[key];
        if (!servers.is_object()) return std::unexpected(where + ": " + key + " must be an object of servers by name");
        for (auto& [name, e] : servers.items())
            if (auto r = add_entry(out, name, e, where + ": " + key + "." + name); !r) return std::unexpected(r.error());
        return out;
    }
    if (doc.contains("remotes")) {
        // server.json: the registry's name is reverse-DNS with a slash; the
        // worker is named after its last part.
        auto full = string_field(doc, "name");
        auto name = full.substr(full.find_last_of('/') == std::string::npos ? 0 : full.find_last_of('/') + 1);
        if (!valid_name(name)) return std::unexpected(where + ": name '" + full + "' gives no usable worker name");
        if (!doc["remotes"].is_array()) return std::unexpected(where + ": remotes must be an array");
        for (auto& r : doc["remotes"]) {
            if (string_field(r, "type") != "streamable-http") continue;
            json e = {{"url", string_field(r, "url")}};
            json headers = json::object();
            const json given = r.contains("headers") && r["headers"].is_array() ? r["headers"] : json::array();
            for (auto& h : given)
                if (!string_field(h, "name").empty() && h.contains("value") && h["value"].is_string())
                    headers[string_field(h, "name")] = h["value"];
            e["headers"] = headers;
            if (auto added = add_entry(out, name, e, where + ": remotes"); !added) return std::unexpected(added.error());
            return out;
        }
        return std::unexpected(where + ": no remote of type streamable-http");
    }
    return std::unexpected(where + ": neither mcpServers, servers nor a server.json with remotes");
}

}  // namespace litemcp::server
