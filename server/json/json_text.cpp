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
// (The reader stops at these too: the same bytes end a run of plain text.)
constexpr bool plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\' && c < 0x80; }

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) out.push_back(static_cast<char>(cp));
    else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

class reader {
public:
    reader(std::string_view text, json_read_options options)
        : begin_(reinterpret_cast<const unsigned char*>(text.data())),
          p_(begin_),
          end_(begin_ + text.size()),
          comments_(options.comments) {}

    std::expected<json, json_syntax_error> parse() {
        // A byte order mark may start the text, as nlohmann allows.
        if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) p_ += 3;
        json root;
        json* slot = &root;  // where the next value goes
        std::vector<json*> open;  // the arrays and objects being filled, innermost last
        for (;;) {
            if (!value(*slot, open)) return fail();
            if (next_) {  // value() opened a container: fill its first slot
                slot = std::exchange(next_, nullptr);
                continue;
            }
            // A value is complete: close the containers it completes, then
            // find the next slot.
            for (;;) {
                skip_space();
                if (open.empty()) {
                    if (p_ != end_) return fail("unexpected text after the JSON value");
                    return root;
                }
                json& top = *open.back();
                const bool array = top.is_array();
                if (p_ == end_) return fail(array ? "unexpected end of the text: expected ',' or ']'"
                                                  : "unexpected end of the text: expected ',' or '}'");
                if (*p_ == ',') {
                    ++p_;
                    if (array) slot = &top.get_ref<json::array_t&>().emplace_back();
                    else if (!(slot = member(top))) return fail();
                    break;
                }
                if (*p_ == (array ? ']' : '}')) {
                    ++p_;
                    open.pop_back();
                    continue;
                }
                return fail(array ? "expected ',' or ']' after an array element"
                                  : "expected ',' or '}' after an object member");
            }
        }
    }

private:
    // Parses a value into slot. A non-empty array or object is opened: it is
    // pushed on open and next_ points at its first slot.
    bool value(json& slot, std::vector<json*>& open) {
        skip_space();
        if (p_ == end_) return error("unexpected end of the text: expected a value");
        switch (*p_) {
        case '{':
        case '[': {
            const bool array = *p_ == '[';
            ++p_;
            if (open.size() >= max_json_depth)
                return error("arrays and objects are nested deeper than " + std::to_string(max_json_depth));
            slot = array ? json::array() : json::object();
            skip_space();
            if (p_ < end_ && *p_ == (array ? ']' : '}')) {
                ++p_;
                return true;
            }
            open.push_back(&slot);
            if (array) next_ = &slot.get_ref<json::array_t&>().emplace_back();
            else if (!(next_ = member(slot))) return false;
            return true;
        }
        case '"': {
            std::string s;
            if (!string(s)) return false;
            slot = std::move(s);
            return true;
        }
        case 't': return literal("true") && (slot = true, true);
        case 'f': return literal("false") && (slot = false, true);
        case 'n': return literal("null") && (slot = nullptr, true);
        default:
            if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return number(slot);
            return error("unexpected character: expected a value");
        }
    }

    // Reads `"key":` of an object member and returns the member's slot (a
    // repeated key's earlier value is replaced), or nullptr on an error.
    json* member(json& object) {
        skip_space();
        if (p_ == end_ || *p_ != '"') return error("expected a string as an object key"), nullptr;
        std::string key;
        if (!string(key)) return nullptr;
        skip_space();
        if (p_ == end_ || *p_ != ':') return error("expected ':' after an object key"), nullptr;
        ++p_;
        json& slot = object.get_ref<json::object_t&>()[std::move(key)];
        slot = nullptr;
        return &slot;
    }

    bool literal(std::string_view word) {
        if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
            return error("invalid literal");
        p_ += word.size();
        return true;
    }

    // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    bool number(json& slot) {
        const auto* start = p_;
        auto digits = [&] {
            const auto* from = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
            return p_ > from;
        };
        if (*p_ == '-') ++p_;
        if (p_ == end_ || *p_ < '0' || *p_ > '9') return error("invalid number: expected a digit");
        if (*p_ == '0') ++p_;
        else digits();
        bool integer = true;
        if (p_ < end_ && *p_ == '.') {
            ++p_;
            integer = false;
            if (!digits()) return error("invalid number: expected a digit after '.'");
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            integer = false;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (!digits()) return error("invalid number: expected a digit in the exponent");
        }
        const auto* first = reinterpret_cast<const char*>(start);
        const auto* last = reinterpret_cast<const char*>(p_);
        if (integer) {  // too large for 64 bits: read as a double, as nlohmann does
            if (*start == '-') {
                std::int64_t v = 0;
                if (std::from_chars(first, last, v).ec == std::errc()) return slot = v, true;
            } else {
                std::uint64_t v = 0;
                if (std::from_chars(first, last, v).ec == std::errc()) return slot = v, true;
            }
        }
        double d = 0;
        auto r = std::from_chars(first, last, d);
        if (r.ec == std::errc::result_out_of_range) {
            // Overflow or underflow: strtod tells them apart (huge or tiny).
            const std::string copy(first, last);
            d = std::strtod(copy.c_str(), nullptr);
        } else if (r.ec != std::errc()) {
            return error("invalid number");
        }
        if (!std::isfinite(d)) {
            p_ = start;
            return error("number overflow: " + std::string(first, last) + " is too large for a double");
        }
        slot = d;
        return true;
    }

    // Reads a string at p_ (on its opening quote) into out.
    bool string(std::string& out) {
        ++p_;
        for (;;) {
            const auto* run = p_;
            while (p_ < end_ && plain(*p_)) ++p_;
            out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p_ - run));
            if (p_ == end_) return error("unexpected end of the text in a string");
            const unsigned char c = *p_;
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c == '\\') {
                if (!escape(out)) return false;
                continue;
            }
            if (c < 0x20) return error("control character in a string: it must be escaped");
            const auto n = utf8_sequence(p_, end_);
            if (n == 0) return error("invalid UTF-8 in a string");
            out.append(reinterpret_cast<const char*>(p_), n);
            p_ += n;
        }
    }

    bool escape(std::string& out) {
        ++p_;
        if (p_ == end_) return error("unexpected end of the text in a string");
        const char c = static_cast<char>(*p_++);
        switch (c) {
        case '"': out.push_back('"'); return true;
        case '\\': out.push_back('\\'); return true;
        case '/': out.push_back('/'); return true;
        case 'b': out.push_back('\b'); return true;
        case 'f': out.push_back('\f'); return true;
        case 'n': out.push_back('\n'); return true;
        case 'r': out.push_back('\r'); return true;
        case 't': out.push_back('\t'); return true;
        case 'u': break;
        default: --p_; return error("invalid escape in a string");
        }
        std::uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return error("invalid \\u escape: a low surrogate without a high one");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
                return error("invalid \\u escape: a high surrogate must be followed by a low one");
            p_ += 2;
            if (!hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF)
                return error("invalid \\u escape: a high surrogate must be followed by a low one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        return true;
    }

    bool hex4(std::uint32_t& cp) {
        if (end_ - p_ < 4) return error("invalid \\u escape: expected four hexadecimal digits");
        for (int i = 0; i < 4; ++i) {
            const unsigned char c = *p_;
            unsigned v;
            if (c >= '0' && c <= '9') v = c - '0';
            else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
            else return error("invalid \\u escape: expected four hexadecimal digits");
            cp = cp * 16 + v;
            ++p_;
        }
        return true;
    }

    // Whitespace, and comments when they are read. (A broken comment is left
    // where it starts: whatever reads next there finds the error.)
    void skip_space() {
        for (;;) {
            while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
            if (!comments_ || end_ - p_ < 2 || *p_ != '/') return;
            if (p_[1] == '/') {
                p_ += 2;
                while (p_ < end_ && *p_ != '\n' && *p_ != '\r') ++p_;
            } else if (p_[1] == '*') {
                const auto* close = p_ + 2;
                while (end_ - close >= 2 && !(close[0] == '*' && close[1] == '/')) ++close;
                if (end_ - close < 2) return;
                p_ = close + 2;
            } else {
                return;
            }
        }
    }

    bool error(std::string message) {
        if (error_.message.empty()) error_ = {static_cast<std::size_t>(p_ - begin_), std::move(message)};
        return false;
    }
    std::unexpected<json_syntax_error> fail(std::string message = {}) {
        if (!message.empty()) error(std::move(message));
        return std::unexpected(std::move(error_));
    }

    const unsigned char* begin_;
    const unsigned char* p_;
    const unsigned char* end_;
    const bool comments_;
    json* next_ = nullptr;  // an opened container's first slot, until parse() takes it
    json_syntax_error error_;
};

void append_string(std::string& out, const std::string& s) {
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

std::expected<json, json_syntax_error> parse_json(std::string_view text, json_read_options options) {
    return reader(text, options).parse();
}

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

std::string to_json(const json& value, int indent) {
    std::string out;
    append_json(out, value, indent);
    return out;
}

}  // namespace litemcp::server
