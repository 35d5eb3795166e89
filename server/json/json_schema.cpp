#include "server/json/json_schema.h"

#include "server/json/simple_schema.h"

// valijson compiles patterns with std::regex, whose GCC 12 implementation
// trips -Wmaybe-uninitialized false positives once sanitizers change inlining.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Without this valijson calls abort() on a schema it cannot compile (a remote
// $ref, a bad pattern); with it, it throws and compile() returns the error.
#define VALIJSON_USE_EXCEPTIONS 1

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cctype>

namespace litemcp::server {

struct json_schema::compiled {
    valijson::Schema schema;
    std::optional<simple_schema> simple;  // the quick yes, when the schema is in its subset
};

json_schema::json_schema() : c_(std::make_unique<compiled>()) {}
json_schema::~json_schema() = default;

std::expected<std::shared_ptr<const json_schema>, std::string> json_schema::compile(const json& schema) {
    std::shared_ptr<json_schema> s(new json_schema());
    try {
        valijson::SchemaParser parser;  // no fetch callback: a remote $ref fails here
        valijson::adapters::NlohmannJsonAdapter adapter(schema);
        parser.populateSchema(adapter, s->c_->schema);
    } catch (const std::exception& e) {
        return std::unexpected(std::string(e.what()));
    }
    s->c_->simple = simple_schema::compile(schema);
    return s;
}

namespace {

// valijson's context is {"<root>", "[tools]", "[0]", ...}.
std::string path_of(const std::vector<std::string>& context) {
    std::string out;
    for (auto& part : context) {
        if (part == "<root>" || part.size() < 2) continue;
        auto inner = part.substr(1, part.size() - 2);
        const bool index = !inner.empty() && std::all_of(inner.begin(), inner.end(), [](unsigned char ch) {
            return std::isdigit(ch);
        });
        if (index) out += "[" + inner + "]";
        else out += (out.empty() ? "" : ".") + inner;
    }
    return out.empty() ? "(the document)" : out;
}

}  // namespace

std::optional<std::string> json_schema::validate(const json& document) const {
    if (c_->simple && c_->simple->accepts(document)) return std::nullopt;
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(document);
    // Without a results object valijson stops at the first failure and
    // builds no error list: the common case, a valid document, costs less.
    if (validator.validate(c_->schema, target, nullptr)) return std::nullopt;
    valijson::ValidationResults results;  // a second pass, for the messages
    if (validator.validate(c_->schema, target, &results)) return std::nullopt;
    // valijson reports the outer failure ("failed to validate against
    // properties") after the inner one that says what is wrong: keep the
    // most specific (deepest) problems.
    std::vector<valijson::ValidationResults::Error> errors;
    valijson::ValidationResults::Error err;
    while (results.popError(err)) errors.push_back(err);
    std::stable_sort(errors.begin(), errors.end(),
                     [](auto& a, auto& b) { return a.context.size() > b.context.size(); });
    std::string out;
    int shown = 0;
    for (auto& e : errors) {
        if (shown == 3) break;
        std::string what = e.description;
        while (!what.empty() && (what.back() == '.' || what.back() == ' ')) what.pop_back();
        const std::string line = path_of(e.context) + ": " + what;
        if (out.find(line) != std::string::npos) continue;
        out += (shown ? "; " : "") + line;
        ++shown;
    }
    return out;
}

}  // namespace litemcp::server
