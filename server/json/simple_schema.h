// A quick yes for the common case of tool arguments: a check of the subset
// of JSON Schema that most MCP tools' inputSchemas are written in (type,
// properties, required, additionalProperties as a boolean, items as one
// schema, enum and const of strings, booleans and null, and annotations such
// as title and description).
//
// It only ever says "valid for certain" or "ask the full validator":
// accepts() is true only where every keyword of the schema holds for the
// document, and false for anything it is unsure of (an integer written as
// 1.0, properties of a value that is not an object). A false is then settled
// by valijson, which also words the problems (json_schema::validate). A
// schema that uses anything else (minimum, pattern, $ref, anyOf, ...) does
// not compile to one, and its documents go to valijson every time.
//
// Threading: accepts() is thread-safe. Lifetime: immutable once compiled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json/json.h"

namespace litemcp::server {

class simple_schema {
public:
    // nullopt when the schema (a boolean or an object) is outside the subset.
    static std::optional<simple_schema> compile(const json& schema);
    // True: the document is valid. False: it may not be; ask valijson.
    bool accepts(const json& document) const;

private:
    enum type_bit : std::uint8_t {
        t_object = 1, t_array = 2, t_string = 4, t_number = 8, t_integer = 16, t_boolean = 32, t_null = 64,
        t_any = 127,
    };
    static std::uint8_t type_of(const json& value);
    bool object_keywords() const { return !properties.empty() || !required.empty() || closed; }

    bool never = false;              // the schema `false`
    std::uint8_t types = t_any;      // "type"
    std::vector<std::pair<std::string, simple_schema>> properties;  // sorted by name
    std::vector<std::string> required;
    bool closed = false;             // "additionalProperties": false
    std::shared_ptr<const simple_schema> items;
    std::vector<std::vector<json>> allowed;  // "enum" and "const": the value is in each list
};

}  // namespace litemcp::server
