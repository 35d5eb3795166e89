// The candidate reader of JSON text on Boost.JSON's SAX parser
// (boost::json::basic_parser), building the same nlohmann values as the
// server's own reader (server/json/json_text.h): same numbers' types, a
// repeated key keeps its last value, a UTF-8 byte order mark is skipped,
// nesting is bounded by max_json_depth. Compared with the server's reader
// for agreement (test/server/json_text_test.cpp) and speed
// (json_reader_bench.cpp); docs/server.md says which one the server uses
// and why.
#pragma once

#include <expected>
#include <string_view>

#include "server/json/json_text.h"

namespace litemcp::bench {

std::expected<server::json, server::json_syntax_error> parse_json_boost(std::string_view text,
                                                                         server::json_read_options options = {});

}  // namespace litemcp::bench
