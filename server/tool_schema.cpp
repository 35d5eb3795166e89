#include "server/tool_schema.h"

// valijson compiles patterns with std::regex, whose GCC 12 implementation
// trips -Wmaybe-uninitialized false positives once sanitizers change inlining.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace litemcp::server {

struct tool_schemas::compiled {
    valijson::Schema schema;
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
            auto schema = t->definition.value("inputSchema", json::object());
            try {
                valijson::SchemaParser parser;  // no fetch callback: remote $ref fails to compile
                valijson::adapters::NlohmannJsonAdapter adapter(schema);
                parser.populateSchema(adapter, c->schema);
            } catch (const std::exception& e) {
                c->problem = std::string("the tool's inputSchema cannot be used: ") + e.what();
            }
            // Drop entries of tools that are gone, then remember this one.
            std::erase_if(cache_, [](auto& kv) { return kv.second.first.expired(); });
            cache_[t.get()] = {t, c};
        }
    }
    if (!c->problem.empty()) return c->problem;
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(arguments);
    if (validator.validate(c->schema, target, &results)) return std::nullopt;
    std::string out = "invalid arguments";
    valijson::ValidationResults::Error err;
    int shown = 0;
    while (results.popError(err) && shown < 3) {
        std::string path;
        for (auto& p : err.context) path += p;
        out += (shown ? "; " : ": ") + path + " " + err.description;
        ++shown;
    }
    return out;
}

}  // namespace litemcp::server
