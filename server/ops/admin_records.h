// How the admin API shows a store record to an operator: a session record
// split into its stream, its kind and its JSON-RPC message; any other
// payload as JSON when it is JSON, as a string otherwise.
//
// Threading: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/json/json.h"

namespace litemcp::server {

json record_view(std::string_view topic, std::uint64_t offset, std::uint64_t timestamp_ms, std::uint32_t flags,
                 std::string_view payload);

}  // namespace litemcp::server
