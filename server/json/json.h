// The server's JSON value type: the one include for code that only needs
// values (nlohmann::json). Reading and writing JSON text is json_text.h.
#pragma once

#include <nlohmann/json.hpp>

namespace litemcp::server {

using json = nlohmann::json;

}  // namespace litemcp::server
