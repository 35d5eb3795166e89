// Reading a field of a JSON object that came from outside (an upstream
// server, a configuration file) without trusting its type: a field of
// another type reads as absent, where nlohmann's value() would throw.
#pragma once

#include <string>

#include "server/json/json.h"

namespace litemcp::server {

// o[key] when o is an object and it is a string; "" otherwise.
inline std::string string_field(const json& o, const char* key) {
    if (!o.is_object()) return {};
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// o[key] when o is an object and it is an object; {} otherwise.
inline json object_field(const json& o, const char* key) {
    if (!o.is_object()) return json::object();
    auto it = o.find(key);
    return it != o.end() && it->is_object() ? *it : json::object();
}

// o[key] when o is an object and it is an object, without object_field's
// copy; nullptr otherwise.
inline const json* find_object(const json& o, const char* key) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it != o.end() && it->is_object() ? &*it : nullptr;
}

}  // namespace litemcp::server
