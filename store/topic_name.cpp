// Validation of lite-topic names and consumer ids (declared in store/store.h).
#include "store/store.h"

#include <array>

namespace litemcp::store {
namespace {

// Every append checks its topic's name: one table lookup per character.
enum char_class : unsigned char { parent_first = 1, parent_rest = 2, lite = 4 };

constexpr std::array<unsigned char, 256> char_classes = [] {
    std::array<unsigned char, 256> t{};
    auto mark = [&](char c, unsigned char bits) { t[static_cast<unsigned char>(c)] |= bits; };
    for (char c = 'a'; c <= 'z'; ++c) mark(c, parent_first | parent_rest | lite);
    for (char c = '0'; c <= '9'; ++c) mark(c, parent_first | parent_rest | lite);
    for (char c = 'A'; c <= 'Z'; ++c) mark(c, lite);
    for (char c : {'.', '_', '-'}) mark(c, parent_rest | lite);
    for (char c : {':', '@', '=', '+'}) mark(c, lite);
    return t;
}();

bool is(char c, char_class k) { return (char_classes[static_cast<unsigned char>(c)] & k) != 0; }
bool parent_char(char c, bool first) { return is(c, first ? parent_first : parent_rest); }
bool lite_char(char c) { return is(c, lite); }

}  // namespace

result<std::string_view> parse_topic_name(std::string_view name) {
    const auto slash = name.find('/');
    if (slash == std::string_view::npos)
        return make_error(errc::invalid_name, "topic '" + std::string(name.substr(0, 80)) +
                                                  "' must be <parent>/<lite>");
    auto parent = name.substr(0, slash);
    auto lite = name.substr(slash + 1);
    if (parent.empty() || parent.size() > 64)
        return make_error(errc::invalid_name, "parent topic name must be 1..64 characters");
    for (std::size_t i = 0; i < parent.size(); ++i)
        if (!parent_char(parent[i], i == 0))
            return make_error(errc::invalid_name, "parent topic '" + std::string(parent) +
                                                      "' may use only [a-z0-9._-], starting with [a-z0-9]");
    if (lite.empty() || lite.size() > 191)
        return make_error(errc::invalid_name, "lite topic name must be 1..191 characters");
    for (char c : lite)
        if (!lite_char(c))
            return make_error(errc::invalid_name, "lite topic '" + std::string(lite.substr(0, 80)) +
                                                      "' may use only [A-Za-z0-9._:@=+-]");
    return parent;
}

result<void> validate_consumer_id(std::string_view id) {
    if (id.empty() || id.size() > 256) return make_error(errc::invalid_name, "consumer id must be 1..256 characters");
    for (char c : id)
        if (!lite_char(c) && c != '/')
            return make_error(errc::invalid_name, "consumer id may use only [A-Za-z0-9._:@=+/-]");
    return {};
}

}  // namespace litemcp::store
