// parse_json (json_text.h) on Boost.JSON's SAX parser, boost::json::basic_parser:
// the grammar, UTF-8 validation, escapes and depth are Boost's; this file
// builds nlohmann values from its events, with nlohmann's number types, and
// words its errors. Measured against the reader it replaced and nlohmann's
// in test/bench/README.md ("JSON readers").
//
// Texts with comments (configuration files, never a request) are read by
// nlohmann's parser instead: Boost 1.81's comment support accepts "[1,/*x*/]",
// refuses "/* a **/ []", ends a // comment only at a line feed and reports
// no usable offset for a broken comment before the value.
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "server/json/json_text.h"

namespace litemcp::server {

namespace {

namespace bj = boost::json;

// basic_parser's handler: builds the value as the events come.
class builder {
public:
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    json root;
    std::string overflow;  // a number too large for a double, for the error

    // Where the parser is, for wording an error.
    enum class in { nothing, array, object };
    in container() const {
        if (open_.empty()) return in::nothing;
        return open_.back()->is_array() ? in::array : in::object;
    }
    bool after_key() const { return key_ready_; }

    bool on_document_begin(bj::error_code&) { return true; }
    bool on_document_end(bj::error_code&) { return true; }
    bool on_array_begin(bj::error_code&) {
        open_.push_back(&place(json::array()));
        return true;
    }
    bool on_array_end(std::size_t, bj::error_code&) {
        open_.pop_back();
        return true;
    }
    bool on_object_begin(bj::error_code&) {
        open_.push_back(&place(json::object()));
        return true;
    }
    bool on_object_end(std::size_t, bj::error_code&) {
        open_.pop_back();
        return true;
    }
    bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
        text_.append(s.data(), s.size());
        return true;
    }
    bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
        if (text_.empty()) {
            place(json(std::string(s.data(), s.size())));
        } else {
            text_.append(s.data(), s.size());
            place(json(std::move(text_)));
            text_.clear();
        }
        return true;
    }
    bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
        key_.append(s.data(), s.size());
        key_ready_ = true;
        return true;
    }
    bool on_number_part(bj::string_view s, bj::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, bj::string_view s, bj::error_code&) {
        // nlohmann: a non-negative integer is unsigned, a negative one ("-0" too) signed.
        const bool negative = number_.empty() ? (!s.empty() && s[0] == '-') : number_[0] == '-';
        number_.clear();
        if (negative) place(json(i));
        else place(json(static_cast<std::uint64_t>(i)));
        return true;
    }
    bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
        number_.clear();
        place(json(u));
        return true;
    }
    bool on_double(double, bj::string_view s, bj::error_code& ec) {
        // Read again from the text, correctly rounded as strtod (nlohmann) reads it.
        number_.append(s.data(), s.size());
        double d = 0;
        auto [p, err] = std::from_chars(number_.data(), number_.data() + number_.size(), d);
        if (err == std::errc::result_out_of_range) {
            if (!underflows(number_)) {
                overflow = std::move(number_);
                ec = bj::error::exponent_overflow;
                return false;
            }
            d = number_[0] == '-' ? -0.0 : 0.0;  // below the smallest double: zero, as strtod
        }
        number_.clear();
        place(json(d));
        return true;
    }
    bool on_bool(bool b, bj::error_code&) {
        place(json(b));
        return true;
    }
    bool on_null(bj::error_code&) {
        place(json(nullptr));
        return true;
    }
    bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
    bool on_comment(bj::string_view, bj::error_code&) { return true; }

private:
    // The value goes where the parser is: the root, an array's next element
    // or the member named by the last key (a repeated key keeps the last).
    json& place(json&& v) {
        if (open_.empty()) return root = std::move(v);
        json& top = *open_.back();
        if (top.is_array()) {
            top.push_back(std::move(v));
            return top.back();
        }
        json& slot = top[key_];
        key_.clear();
        key_ready_ = false;
        slot = std::move(v);
        return slot;
    }
    static bool underflows(const std::string& t) {
        const auto e = t.find_first_of("eE");
        return e != std::string::npos && e + 1 < t.size() && t[e + 1] == '-';
    }
    std::vector<json*> open_;  // the arrays and objects being filled, innermost last
    std::string key_, text_, number_;
    bool key_ready_ = false;  // a key was read; its value was not
};

// Whether byte `at` of text lies inside a string (an error's wording).
bool inside_string(std::string_view text, std::size_t at) {
    bool in = false;
    for (std::size_t i = 0; i < at && i < text.size(); ++i) {
        const char c = text[i];
        if (in) {
            if (c == '\\') ++i;
            else if (c == '"') in = false;
        } else if (c == '"') {
            in = true;
        }
    }
    return in;
}

constexpr bool token_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' ||
           c == '-';
}

// What went wrong at byte `at`, said the way a client can act on.
std::string syntax_message(std::string_view text, std::size_t at, const builder& b) {
    const bool end = at >= text.size();
    if (inside_string(text, at)) {
        if (end) return "unexpected end of the text in a string";
        const auto c = static_cast<unsigned char>(text[at]);
        if (c < 0x20) return "control character in a string: it must be escaped";
        if (at > 0 && text[at - 1] == '\\') return "invalid escape in a string";
        return "invalid UTF-8 in a string";
    }
    // Inside a literal or a number: one that breaks off, or ends unfinished.
    if (at > 0 && token_char(text[at - 1])) {
        std::size_t start = at;
        while (start > 0 && token_char(text[start - 1])) --start;
        const std::string_view token = text.substr(start, at - start);
        const bool number = token[0] == '-' || (token[0] >= '0' && token[0] <= '9');
        const bool broken = end ? (number ? std::string_view(".eE+-").find(token.back()) != std::string_view::npos
                                          : token != "true" && token != "false" && token != "null")
                                : token_char(text[at]);
        if (broken) return number ? "invalid number" : "invalid literal";
    }
    std::size_t p = at;
    while (p > 0 && (text[p - 1] == ' ' || text[p - 1] == '\t' || text[p - 1] == '\n' || text[p - 1] == '\r')) --p;
    const char prev = p > 0 ? text[p - 1] : '\0';
    const auto where = b.container();
    std::string want;
    if (prev == '{' || (prev == ',' && where == builder::in::object)) want = "a string as an object key";
    else if (where == builder::in::object && b.after_key() && prev != ':') want = "':' after an object key";
    else if (prev == ':' || prev == '[' || prev == ',' || prev == '\0') want = "a value";
    else if (where == builder::in::object) want = "',' or '}' after an object member";
    else if (where == builder::in::array) want = "',' or ']' after an array element";
    else return "unexpected text after the JSON value";
    if (end) {
        if (want.starts_with("',' or '}'")) return "unexpected end of the text: expected ',' or '}'";
        if (want.starts_with("',' or ']'")) return "unexpected end of the text: expected ',' or ']'";
        return "unexpected end of the text: expected " + want;
    }
    if (want == "a value") {
        const char c = text[at];
        if (c == '-' || (c >= '0' && c <= '9')) return "invalid number";
        return "unexpected character: expected a value";
    }
    return "expected " + want;
}

std::expected<json, json_syntax_error> read_text(std::string_view text);

// nlohmann's own error for a text with comments: "parse error at line 2,
// column 16: ..." at the byte it stopped after.
json_syntax_error nlohmann_error(const json::exception& e, std::string_view text) {
    std::string_view what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (const auto close = what.find("] "); close != std::string_view::npos) what.remove_prefix(close + 2);
    const auto* parse = dynamic_cast<const json::parse_error*>(&e);
    const std::size_t byte = parse && parse->byte > 0 ? parse->byte - 1 : 0;  // none for a number overflow
    return {std::min(byte, text.size()), std::string(what)};
}

// A text that may hold comments, read as nlohmann reads it. An error before
// the first '/' (where no comment can have begun) is worded as for any text.
std::expected<json, json_syntax_error> read_with_comments(std::string_view text) {
    try {
        return json::parse(text, nullptr, true, true);
    } catch (const json::exception& e) {
        if (auto plain = read_text(text); !plain && plain.error().offset < text.find('/'))
            return std::unexpected(std::move(plain.error()));
        return std::unexpected(nlohmann_error(e, text));
    }
}

}  // namespace

std::expected<json, json_syntax_error> parse_json(std::string_view text, json_read_options options) {
    return options.comments ? read_with_comments(text) : read_text(text);
}

namespace {

std::expected<json, json_syntax_error> read_text(std::string_view text) {
    std::size_t skipped = 0;
    if (text.starts_with("\xEF\xBB\xBF")) skipped = 3;  // a UTF-8 byte order mark, as nlohmann skips it
    bj::parse_options o;
    o.max_depth = max_json_depth;
    bj::basic_parser<builder> parser(o);
    bj::error_code ec;
    const std::size_t read = parser.write_some(false, text.data() + skipped, text.size() - skipped, ec);
    auto& b = parser.handler();
    const std::size_t at = skipped + read;
    if (!ec) {
        // write_some stops after the value and the whitespace after it.
        if (at != text.size()) return std::unexpected(json_syntax_error{at, "unexpected text after the JSON value"});
        return std::move(b.root);
    }
    json_syntax_error e{at, {}};
    if (ec == bj::error::too_deep) {
        e.offset = at + 1;  // past the bracket that went too deep
        e.message = "arrays and objects are nested deeper than " + std::to_string(max_json_depth);
    } else if (ec == bj::error::exponent_overflow && b.overflow.empty()) {
        // Boost.JSON's own bound, before a double is made of it.
        e.message = "number out of range: an exponent beyond 2147483647 in magnitude";
    } else if (ec == bj::error::exponent_overflow) {
        const auto start = text.rfind(b.overflow, at);
        if (start != std::string_view::npos) e.offset = start;
        e.message = "number overflow: " + b.overflow + " is too large for a double";
    } else if (ec == bj::error::illegal_trailing_surrogate) {
        e.message = "invalid \\u escape: a low surrogate without a high one";
    } else if (ec == bj::error::illegal_leading_surrogate || ec == bj::error::expected_utf16_escape) {
        e.message = "invalid \\u escape: a high surrogate must be followed by a low one";
    } else if (ec == bj::error::expected_hex_digit) {
        e.message = "invalid \\u escape: expected four hexadecimal digits";
    } else {
        e.message = syntax_message(text, at, b);
    }
    return std::unexpected(std::move(e));
}

}  // namespace

}  // namespace litemcp::server
