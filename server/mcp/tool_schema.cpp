#include "server/mcp/tool_schema.h"

namespace litemcp::server {

struct tool_schemas::compiled {
    std::shared_ptr<const json_schema> schema;
    std::string problem;  // non-empty when the schema could not be compiled
};

tool_schemas::tool_schemas() = default;
tool_schemas::~tool_schemas() = default;

std::optional<std::string> tool_schemas::validate(const std::shared_ptr<const tool>& t, const json& arguments) {
    std::shared_ptr<compiled> c;
    {
        std::lock_guard lock(mu_);
        auto it = cache_.find(t.get());
        if (it != cache_.end() && !it->second.first.expired()) c = it->second.second;
        if (!c) {
            c = std::make_shared<compiled>();
            auto schema = json_schema::compile(t->definition.value("inputSchema", json::object()));
            if (schema) c->schema = *schema;
            else c->problem = "the tool's inputSchema cannot be used: " + schema.error();
            // Drop entries of tools that are gone, then remember this one.
            std::erase_if(cache_, [](auto& kv) { return kv.second.first.expired(); });
            cache_[t.get()] = {t, c};
        }
    }
    if (!c->problem.empty()) return c->problem;
    if (auto problem = c->schema->validate(arguments)) return "invalid arguments: " + *problem;
    return std::nullopt;
}

}  // namespace litemcp::server
