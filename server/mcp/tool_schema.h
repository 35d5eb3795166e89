// Validation of tool arguments against the tool's inputSchema (JSON Schema;
// compiled once per tool definition and cached). Remote $refs are never
// fetched: a schema that needs one is reported as unusable.
//
// Threading: thread-safe. Lifetime: owned by the server.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/json/json_schema.h"
#include "server/rpc/provider.h"

namespace litemcp::server {

class tool_schemas {
public:
    tool_schemas();
    ~tool_schemas();
    // nullopt when arguments are valid; otherwise what is wrong, for the
    // isError tool result.
    std::optional<std::string> validate(const std::shared_ptr<const tool>& t, const json& arguments);

private:
    struct compiled;
    std::mutex mu_;
    std::map<const tool*, std::pair<std::weak_ptr<const tool>, std::shared_ptr<compiled>>> cache_;
};

}  // namespace litemcp::server
