#include "server/json/simple_schema.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace litemcp::server {

namespace {

// Keywords that never make a document invalid.
constexpr std::array<std::string_view, 9> annotations = {
    "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly", "$schema"};

bool is_annotation(std::string_view key) {
    return std::find(annotations.begin(), annotations.end(), key) != annotations.end();
}

// enum and const values compared with ==: only kinds whose equality cannot
// differ between nlohmann-json and valijson (no numbers, no containers).
bool plain(const json& v) { return v.is_string() || v.is_boolean() || v.is_null(); }

}  // namespace

std::uint8_t simple_schema::type_of(const json& value) {
    switch (value.type()) {
        case json::value_t::object: return t_object;
        case json::value_t::array: return t_array;
        case json::value_t::string: return t_string;
        case json::value_t::boolean: return t_boolean;
        case json::value_t::null: return t_null;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return t_integer | t_number;
        case json::value_t::number_float: return t_number;  // 1.0 is settled by valijson
        default: return 0;
    }
}

std::optional<simple_schema> simple_schema::compile(const json& schema) {
    simple_schema s;
    if (schema.is_boolean()) {
        s.never = !schema.get<bool>();
        return s;
    }
    if (!schema.is_object()) return std::nullopt;
    for (const auto& [key, value] : schema.items()) {
        if (is_annotation(key)) continue;
        if (key == "type") {
            auto bit = [](const json& name) -> std::uint8_t {
                if (!name.is_string()) return 0;
                const auto& n = name.get_ref<const std::string&>();
                if (n == "object") return t_object;
                if (n == "array") return t_array;
                if (n == "string") return t_string;
                if (n == "number") return t_number;
                if (n == "integer") return t_integer;
                if (n == "boolean") return t_boolean;
                if (n == "null") return t_null;
                return 0;
            };
            if (value.is_string()) {
                s.types = bit(value);
            } else if (value.is_array() && !value.empty()) {
                s.types = 0;
                for (const auto& name : value) {
                    const auto b = bit(name);
                    if (b == 0) return std::nullopt;
                    s.types |= b;
                }
            } else {
                return std::nullopt;
            }
            if (s.types == 0) return std::nullopt;
        } else if (key == "properties") {
            if (!value.is_object()) return std::nullopt;
            for (const auto& [name, sub] : value.items()) {  // in key order: sorted
                auto compiled = compile(sub);
                if (!compiled) return std::nullopt;
                s.properties.emplace_back(name, std::move(*compiled));
            }
        } else if (key == "required") {
            if (!value.is_array()) return std::nullopt;
            for (const auto& name : value) {
                if (!name.is_string()) return std::nullopt;
                s.required.push_back(name.get<std::string>());
            }
        } else if (key == "additionalProperties") {
            if (!value.is_boolean()) return std::nullopt;
            s.closed = !value.get<bool>();
        } else if (key == "items") {
            if (!value.is_object() && !value.is_boolean()) return std::nullopt;  // not a tuple
            auto compiled = compile(value);
            if (!compiled) return std::nullopt;
            s.items = std::make_shared<const simple_schema>(std::move(*compiled));
        } else if (key == "enum") {
            if (!value.is_array() || !std::all_of(value.begin(), value.end(), plain)) return std::nullopt;
            s.allowed.emplace_back(value.begin(), value.end());
        } else if (key == "const") {
            if (!plain(value)) return std::nullopt;
            s.allowed.push_back({value});
        } else {
            return std::nullopt;
        }
    }
    return s;
}

bool simple_schema::accepts(const json& document) const {
    if (never) return false;
    if ((types & type_of(document)) == 0) return false;
    for (const auto& values : allowed)
        if (std::find(values.begin(), values.end(), document) == values.end()) return false;
    if (object_keywords()) {
        if (!document.is_object()) return false;
        for (const auto& name : required)
            if (!document.contains(name)) return false;
        for (const auto& [name, sub] : properties)
            if (const auto v = document.find(name); v != document.end() && !sub.accepts(*v)) return false;
        if (closed) {
            for (const auto& [key, value] : document.items()) {
                const auto at = std::lower_bound(properties.begin(), properties.end(), key,
                                                 [](const auto& p, const std::string& k) { return p.first < k; });
                if (at == properties.end() || at->first != key) return false;
            }
        }
    }
    if (items) {
        if (!document.is_array()) return false;
        for (const auto& element : document)
            if (!items->accepts(element)) return false;
    }
    return true;
}

}  // namespace litemcp::server
