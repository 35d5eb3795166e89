// The JSON reader and writer (server/json/json_text.h) against
// nlohmann::json, the oracle the header names. Any bytes:
//
//  * parse_json accepts exactly the texts nlohmann::json::parse accepts, to
//    the same values with the same number types (a double compared by its
//    bits), except where the header says they differ: nesting deeper than
//    max_json_depth, an exponent beyond 2^31 - 1 in magnitude, and a NUL
//    byte after the value (nlohmann stops there, so the text before the NUL
//    must read as nlohmann's value);
//  * a refusal points into the text and says something;
//  * to_json writes dump()'s bytes, compact and indented, and what it
//    writes reads back to the same value (an integer may come back signed
//    or unsigned: the text is the same);
//  * comments mode (nlohmann's own parser) neither crashes nor throws.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "server/json/json_text.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using litemcp::server::json;
using litemcp::server::parse_json;
using litemcp::server::to_json;

// Equal values of equal types: nlohmann's == calls 1 and 1.0 equal, and 0.0 and -0.0.
// With `as_text`, a signed and an unsigned integer of one value are the same:
// text cannot tell them apart ("-0" reads as a signed 0, written "0" it reads
// back unsigned).
bool same(const json& a, const json& b, bool as_text = false) {
    if (as_text && a.is_number_integer() && b.is_number_integer()) return a == b;
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case json::value_t::object: {
            if (a.size() != b.size()) return false;
            // Both are std::maps: their members come in the same key order.
            for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
                if (x.key() != y.key() || !same(*x, *y, as_text)) return false;
            return true;
        }
        case json::value_t::array: {
            if (a.size() != b.size()) return false;
            for (std::size_t i = 0; i < a.size(); ++i)
                if (!same(a[i], b[i], as_text)) return false;
            return true;
        }
        case json::value_t::number_float: {
            const double x = a.get<double>(), y = b.get<double>();
            return std::memcmp(&x, &y, sizeof x) == 0;
        }
        default: return a == b;
    }
}

std::size_t depth(const json& v) {
    std::size_t deepest = 0;
    if (v.is_structured())
        for (const auto& child : v) deepest = std::max(deepest, depth(child));
    return v.is_structured() ? deepest + 1 : 0;
}

std::optional<json> nlohmann_parse(std::string_view text) {
    try {
        return json::parse(text);
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

// Whether the header explains why parse_json refused (`why`) a text nlohmann read as `theirs`.
bool refusal_explained(std::string_view text, const json& theirs, std::string_view why) {
    if (depth(theirs) > litemcp::server::max_json_depth) return true;
    if (why.starts_with("number out of range: an exponent beyond")) return true;
    const auto nul = text.find('\0');
    if (nul == std::string_view::npos) return false;
    const auto before = parse_json(text.substr(0, nul));
    return before ? same(*before, theirs) : depth(theirs) > litemcp::server::max_json_depth;
}

void check_writer(const json& value) {
    const std::string compact = to_json(value);
    FUZZ_CHECK(compact == value.dump());
    FUZZ_CHECK(to_json(value, 2) == value.dump(2));
    const auto back = parse_json(compact);
    FUZZ_CHECK(back && same(*back, value, true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto ours = parse_json(text);
    const auto theirs = nlohmann_parse(text);
    if (ours) {
        FUZZ_CHECK(theirs && same(*ours, *theirs));
        check_writer(*ours);
    } else {
        FUZZ_CHECK(ours.error().offset <= text.size());
        FUZZ_CHECK(!ours.error().message.empty());
        (void)to_string(ours.error());
        FUZZ_CHECK(!theirs || refusal_explained(text, *theirs, ours.error().message));
    }
    (void)parse_json(text, {.comments = true});
    return 0;
}
