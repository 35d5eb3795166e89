// One compiled JSON Schema and the check of a document against it, with
// problems that name the field they concern ("tools[0].inputSchema: ...").
// Remote $refs are never fetched: a schema that needs one does not compile.
//
// Threading: validate() is thread-safe. Lifetime: immutable once compiled.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "server/json/json.h"

namespace litemcp::server {

class json_schema {
public:
    static std::expected<std::shared_ptr<const json_schema>, std::string> compile(const json& schema);
    ~json_schema();
    // nullopt when the document is valid; otherwise up to three problems,
    // each prefixed with its path ("name", "tools[0].inputSchema").
    std::optional<std::string> validate(const json& document) const;

private:
    json_schema();
    struct compiled;
    std::unique_ptr<compiled> c_;
};

}  // namespace litemcp::server
