#include "server/mcp/capabilities.h"

namespace litemcp::server {

std::string negotiate(const mcp_options& o, const std::string& requested) {
    for (auto& v : o.versions)
        if (v == requested) return v;
    if (requested == "2024-11-05") return requested;
    return o.versions.front();
}

json supported_versions(const mcp_options& o) {
    json supported = json::array({std::string(modern_version)});
    for (auto& v : o.versions) supported.push_back(v);
    return supported;
}

json server_capabilities(std::string_view version) {
    // 2026-07-28 clients learn of changes through subscriptions/listen.
    if (version == modern_version)
        return json{{"tools", {{"listChanged", true}}},
                    {"resources", {{"subscribe", true}, {"listChanged", true}}},
                    {"prompts", {{"listChanged", true}}},
                    {"logging", json::object()},
                    {"completions", json::object()},
                    {"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}};
    json caps{{"tools", {{"listChanged", true}}},
              {"resources", {{"subscribe", true}, {"listChanged", true}}},
              {"prompts", {{"listChanged", true}}},
              {"logging", json::object()}};
    if (version >= "2025-03-26") caps["completions"] = json::object();
    if (version >= "2025-11-25")
        caps["tasks"] = {{"list", json::object()}, {"cancel", json::object()},
                         {"requests", {{"tools", {{"call", json::object()}}}}}};
    return caps;
}

}  // namespace litemcp::server
