#include "boost_json_reader.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/src.hpp>

#include <charconv>
#include <string>
#include <vector>

namespace litemcp::bench {

using server::json;

namespace {

// basic_parser's handler: builds the nlohmann value as the events come.
class builder {
public:
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    json root;
    std::string overflow;  // a number too large for a double, for the error message

    bool on_document_begin(boost::json::error_code&) { return true; }
    bool on_document_end(boost::json::error_code&) { return true; }
    bool on_array_begin(boost::json::error_code&) {
        open_.push_back(&place(json::array()));
        return true;
    }
    bool on_array_end(std::size_t, boost::json::error_code&) {
        open_.pop_back();
        return true;
    }
    bool on_object_begin(boost::json::error_code&) {
        open_.push_back(&place(json::object()));
        return true;
    }
    bool on_object_end(std::size_t, boost::json::error_code&) {
        open_.pop_back();
        return true;
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
        text_.append(s.data(), s.size());
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
        text_.append(s.data(), s.size());
        place(json(std::move(text_)));
        text_.clear();
        return true;
    }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, boost::json::string_view s, boost::json::error_code&) {
        // nlohmann: a non-negative integer is unsigned, a negative one ("-0" too) signed.
        const bool negative = number_.empty() ? (!s.empty() && s[0] == '-') : number_[0] == '-';
        number_.clear();
        if (negative) place(json(i));
        else place(json(static_cast<std::uint64_t>(i)));
        return true;
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
        number_.clear();
        place(json(u));
        return true;
    }
    bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
        // Read from the text, correctly rounded as strtod (nlohmann) does.
        number_.append(s.data(), s.size());
        double d = 0;
        auto [p, err] = std::from_chars(number_.data(), number_.data() + number_.size(), d);
        if (err == std::errc::result_out_of_range && !is_tiny(number_)) {
            overflow = number_;
            ec = boost::json::error::exponent_overflow;
            return false;
        }
        if (err == std::errc::result_out_of_range) d = number_[0] == '-' ? -0.0 : 0.0;
        number_.clear();
        place(json(d));
        return true;
    }
    bool on_bool(bool b, boost::json::error_code&) {
        place(json(b));
        return true;
    }
    bool on_null(boost::json::error_code&) {
        place(json(nullptr));
        return true;
    }
    bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

private:
    // A value where the parser is: the root, an array's next element or
    // the member named by the last key (a repeated key keeps the last).
    json& place(json&& v) {
        if (open_.empty()) return root = std::move(v);
        json& top = *open_.back();
        if (top.is_array()) {
            top.push_back(std::move(v));
            return top.back();
        }
        json& slot = top[key_];
        key_.clear();
        slot = std::move(v);
        return slot;
    }
    // An underflow (a magnitude below the smallest double) reads as zero.
    static bool is_tiny(const std::string& t) {
        const auto e = t.find_first_of("eE");
        return e != std::string::npos && e + 1 < t.size() && t[e + 1] == '-';
    }
    std::vector<json*> open_;
    std::string key_, text_, number_;
};

std::string message_of(const boost::json::error_code& ec, const builder& b) {
    using boost::json::error;
    if (ec == error::too_deep)
        return "arrays and objects are nested deeper than " + std::to_string(server::max_json_depth);
    if (ec == error::extra_data) return "unexpected text after the JSON value";
    if (ec == error::incomplete) return "unexpected end of the text";
    if (ec == error::exponent_overflow) return "number overflow: " + b.overflow + " is too large for a double";
    if (ec == error::illegal_leading_surrogate || ec == error::illegal_trailing_surrogate ||
        ec == error::expected_hex_digit || ec == error::expected_utf16_escape)
        return "invalid \\u escape";
    return "syntax error";
}

}  // namespace

std::expected<json, server::json_syntax_error> parse_json_boost(std::string_view text,
                                                                 server::json_read_options options) {
    std::size_t skipped = 0;
    if (text.starts_with("\xEF\xBB\xBF")) skipped = 3;  // a UTF-8 byte order mark, as nlohmann skips it
    boost::json::parse_options o;
    o.max_depth = server::max_json_depth;
    o.allow_comments = options.comments;
    boost::json::basic_parser<builder> p(o);
    boost::json::error_code ec;
    const std::size_t used = p.write_some(false, text.data() + skipped, text.size() - skipped, ec);
    if (ec) return std::unexpected(server::json_syntax_error{skipped + used, message_of(ec, p.handler())});
    // write_some stops after the value (and the whitespace after it).
    if (skipped + used != text.size())
        return std::unexpected(server::json_syntax_error{skipped + used, "unexpected text after the JSON value"});
    return std::move(p.handler().root);
}

}  // namespace litemcp::bench
