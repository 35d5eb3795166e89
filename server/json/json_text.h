// JSON text to and from nlohmann::json values: the server's one reader and
// one writer of JSON (request bodies, session records, task and worker
// records, every response).
//
// The reader is Boost.JSON's SAX parser (boost::json::basic_parser)
// building nlohmann values (json_reader.cpp): the grammar is RFC 8259's,
// accepted exactly as nlohmann::json::parse accepts it -- the same texts
// parse (a leading UTF-8 byte order mark included), to the same values and
// number types (a non-negative integer is unsigned, a negative one signed,
// one too large for 64 bits a double; a double that overflows is an error),
// and a repeated key keeps its last value. Unlike nlohmann, nesting is
// bounded (max_json_depth), a NUL byte after the value is an error
// (nlohmann ends its input there), and so is an exponent beyond 2^31 - 1 in
// magnitude (Boost.JSON's bound; nlohmann reads 1e-3000000000 as 0). The writer appends in runs where
// nlohmann's dump() goes one character at a time; its output is byte for
// byte dump()'s, except that bytes of a string that are not UTF-8 are
// written as U+FFFD where dump() would throw.
//
// Threading: free functions, no shared state.
#pragma once

#include "server/json/json.h"

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace litemcp::server {

// Arrays and objects nested deeper than this are a parse error (the writer,
// the schema validator and the handlers walk values recursively).
inline constexpr std::size_t max_json_depth = 512;

struct json_syntax_error {
    std::size_t offset = 0;  // byte of the text where parsing stopped
    std::string message;     // what was wrong there, for a client to read
};

struct json_read_options {
    // Skip `// ...` and `/* ... */` comments where whitespace may be; for
    // hand-written files, which are read by nlohmann's own parser (its
    // ignore_comments), errors naming a line and column. Default: false.
    bool comments = false;
};

std::expected<json, json_syntax_error> parse_json(std::string_view text, json_read_options options = {});

// "<message> at byte <offset>", for an error answer or a log line.
std::string to_string(const json_syntax_error& e);

// Appends the text of a value: compact with indent -1 (the default), else
// one member or element per line, indented by that many spaces per level
// (nlohmann's dump(indent)).
void append_json(std::string& out, const json& value, int indent = -1);
std::string to_json(const json& value, int indent = -1);

// Writes a JSON object into out member by member, in the order written, for
// a record written often: no json value is built, so nothing is copied.
// Keys are literals that need no escaping; values are written as
// append_json writes them. end() closes the object.
class json_members {
public:
    explicit json_members(std::string& out) : out_(out) { out_.push_back('{'); }
    json_members& string(std::string_view key, std::string_view value);
    json_members& number(std::string_view key, std::uint64_t value);
    json_members& value(std::string_view key, const json& value);
    void end() { out_.push_back('}'); }

private:
    void key(std::string_view key);
    std::string& out_;
    bool first_ = true;
};

}  // namespace litemcp::server
