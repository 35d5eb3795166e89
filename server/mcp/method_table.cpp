#include "server/mcp/method_table.h"

#include "server/mcp/methods/methods.h"

namespace litemcp::server {

namespace {

// In the order of the specification's sections.
constexpr mcp_method table[] = {
    // name                      stateful since         stateless io     cache  named_by  input  handler
    {"initialize",               true,  "",            false, false, false, "",      false, nullptr},
    {"ping",                     true,  "",            false, true,  false, "",      false, methods::ping},
    {"server/discover",          false, "",            true,  false, true,  "",      false, nullptr},
    {"subscriptions/listen",     false, "",            true,  false, false, "",      false, nullptr},
    {"logging/setLevel",         true,  "",            false, false, false, "",      false, methods::logging_set_level},
    {"tools/list",               true,  "",            true,  true,  true,  "",      false, methods::tools_list},
    {"tools/call",               true,  "",            true,  false, false, "name",  true,  methods::tools_call},
    {"resources/list",           true,  "",            true,  true,  true,  "",      false, methods::resources_list},
    {"resources/templates/list", true,  "",            true,  true,  true,  "",      false, methods::resource_templates_list},
    {"resources/read",           true,  "",            true,  false, true,  "uri",   true,  methods::resources_read},
    {"resources/subscribe",      true,  "",            false, false, false, "",      false, methods::resources_subscribe},
    {"resources/unsubscribe",    true,  "",            false, false, false, "",      false, methods::resources_subscribe},
    {"prompts/list",             true,  "",            true,  true,  true,  "",      false, methods::prompts_list},
    {"prompts/get",              true,  "",            true,  false, false, "name",  true,  methods::prompts_get},
    {"completion/complete",      true,  "",            true,  false, false, "",      false, methods::completion_complete},
    {"tasks/get",                true,  "2025-11-25",  true,  false, false, "taskId", false, methods::tasks},
    {"tasks/result",             true,  "2025-11-25",  false, false, false, "",      false, methods::tasks},
    {"tasks/list",               true,  "2025-11-25",  false, false, false, "",      false, methods::tasks},
    {"tasks/cancel",             true,  "2025-11-25",  true,  false, false, "taskId", false, methods::tasks},
    {"tasks/update",             false, "",            true,  false, false, "taskId", false, methods::tasks},
};

}  // namespace

const mcp_method* find_method(std::string_view name) {
    for (const auto& m : table)
        if (m.name == name) return &m;
    return nullptr;
}

bool served(const mcp_method& m, era e, std::string_view version) {
    if (e == era::stateless) return m.stateless;
    return m.stateful && version >= m.stateful_since;
}

std::span<const mcp_method> all_methods() { return table; }

std::string_view method_label(std::string_view method) {
    if (auto* m = find_method(method)) return m->name;
    return method.starts_with("notifications/") ? "notification" : "other";
}

}  // namespace litemcp::server
