// The project's own JSON schemas (schemas/*.json), compiled into the binary
// by schemas/embed.py: the worker API's request bodies today.
#pragma once

#include <optional>
#include <string_view>

namespace litemcp::schemas {

// The text of schemas/<name>.json; nullopt for an unknown name.
std::optional<std::string_view> find(std::string_view name);

}  // namespace litemcp::schemas
