// The writer of json_text.h (the reader is json_reader.cpp).
#include "server/json/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace litemcp::server {

using namespace std::string_view_literals;  // literals appended without strlen

namespace {

// The length of the UTF-8 sequence at p (RFC 3629's table), or 0 when the
// bytes there are not one.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
    const unsigned c = p[0];
    auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return p + i < end && p[i] >= lo && p[i] <= hi;
    };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

// Bytes a string holds as they are: printable ASCII other than '"' and '\'.
constexpr bool plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\' && c < 0x80; }

void append_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const auto* run = p;
        while (p < end && plain(*p)) ++p;
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        if (p == end) break;
        const unsigned char c = *p;
        if (c >= 0x80) {
            const auto n = utf8_sequence(p, end);
            if (n == 0) {  // not UTF-8: a replacement character for the byte
                out.append("\xEF\xBF\xBD"sv);
                ++p;
            } else {
                out.append(reinterpret_cast<const char*>(p), n);
                p += n;
            }
            continue;
        }
        ++p;
        switch (c) {
        case '"': out.append("\\\""sv); break;
        case '\\': out.append("\\\\"sv); break;
        case '\b': out.append("\\b"sv); break;
        case '\f': out.append("\\f"sv); break;
        case '\n': out.append("\\n"sv); break;
        case '\r': out.append("\\r"sv); break;
        case '\t': out.append("\\t"sv); break;
        default: {
            const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
            out.append(u, sizeof u);
        }
        }
    }
    out.push_back('"');
}

template <class T>
void append_integer(std::string& out, T v) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

}  // namespace

std::string to_string(const json_syntax_error& e) { return e.message + " at byte " + std::to_string(e.offset); }

namespace {

void write(std::string& out, const json& value, int indent, std::size_t depth) {
    // Before a member or element: a new line and its indentation, when indenting.
    auto line = [&](std::size_t level) {
        if (indent < 0) return;
        out.push_back('\n');
        out.append(level * static_cast<std::size_t>(indent), ' ');
    };
    switch (value.type()) {
    case json::value_t::null: out.append("null"sv); return;
    case json::value_t::boolean: out.append(value.get<bool>() ? "true"sv : "false"sv); return;
    case json::value_t::number_integer: append_integer(out, value.get<std::int64_t>()); return;
    case json::value_t::number_unsigned: append_integer(out, value.get<std::uint64_t>()); return;
    case json::value_t::string: append_string(out, value.get_ref<const std::string&>()); return;
    case json::value_t::array: {
        out.push_back('[');
        bool first = true;
        for (auto& v : value.get_ref<const json::array_t&>()) {
            if (!first) out.push_back(',');
            first = false;
            line(depth + 1);
            write(out, v, indent, depth + 1);
        }
        if (!first) line(depth);
        out.push_back(']');
        return;
    }
    case json::value_t::object: {
        out.push_back('{');
        bool first = true;
        for (auto& [k, v] : value.get_ref<const json::object_t&>()) {
            if (!first) out.push_back(',');
            first = false;
            line(depth + 1);
            append_string(out, k);
            out.append(indent < 0 ? ":"sv : ": "sv);
            write(out, v, indent, depth + 1);
        }
        if (!first) line(depth);
        out.push_back('}');
        return;
    }
    default:  // doubles (nlohmann's shortest round-trip form), binary, discarded
        out.append(value.dump());
        return;
    }
}

}  // namespace

void append_json(std::string& out, const json& value, int indent) { write(out, value, indent, 0); }

void json_members::key(std::string_view key) {
    if (!std::exchange(first_, false)) out_.push_back(',');
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
}

json_members& json_members::string(std::string_view key, std::string_view value) {
    this->key(key);
    append_string(out_, value);
    return *this;
}

json_members& json_members::number(std::string_view key, std::uint64_t value) {
    this->key(key);
    append_integer(out_, value);
    return *this;
}

json_members& json_members::value(std::string_view key, const json& value) {
    this->key(key);
    write(out_, value, -1, 0);
    return *this;
}

std::string to_json(const json& value, int indent) {
    std::string out;
    append_json(out, value, indent);
    return out;
}

}  // namespace litemcp::server
