#include "server/json/json_text.h"

#include <doctest/doctest.h>

#include <random>

using namespace litemcp::server;

namespace {

// Same value and same number types, all the way down (json's operator==
// calls 1 and 1u and 1.0 equal).
bool same(const json& a, const json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!same(a[i], b[i])) return false;
        return true;
    }
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
            if (ia.key() != ib.key() || !same(ia.value(), ib.value())) return false;
        return true;
    }
    if (a.is_number_float()) {
        const double x = a.get<double>(), y = b.get<double>();
        return x == y && std::signbit(x) == std::signbit(y);
    }
    return a == b;
}

// parse_json accepts exactly what nlohmann accepts, to the same value; the
// writer writes what dump() writes.
int accepted = 0, rejected = 0;

void check_like_nlohmann(const std::string& text, bool comments = false) {
    CAPTURE(text);
    const json expected = json::parse(text, nullptr, false, comments);
    const auto got = parse_json(text, {.comments = comments});
    ++(expected.is_discarded() ? rejected : accepted);
    if (expected.is_discarded()) {
        CHECK_FALSE(got.has_value());
        if (!got) {
            CHECK_FALSE(got.error().message.empty());
            CHECK(got.error().offset <= text.size());
        }
        return;
    }
    REQUIRE(got.has_value());
    CHECK(same(*got, expected));
    CHECK(to_json(*got) == expected.dump());
    CHECK(to_json(*got, 2) == expected.dump(2));
    CHECK(to_json(*got, 0) == expected.dump(0));
}

// Random JSON texts: values of every kind with random spacing, escapes and
// number forms.
class text_generator {
public:
    explicit text_generator(unsigned seed) : rng_(seed) {}

    std::string value(int depth = 0) {
        switch (pick(depth < 5 ? 8 : 5)) {
        case 0: return "null";
        case 1: return pick(2) ? "true" : "false";
        case 2: return number();
        case 3:
        case 4: return string();
        case 5:
        case 6: {
            std::string s = "[" + space();
            const int n = pick(4);
            for (int i = 0; i < n; ++i) s += (i ? "," + space() : "") + value(depth + 1) + space();
            return s + "]";
        }
        default: {
            std::string s = "{" + space();
            const int n = pick(4);
            for (int i = 0; i < n; ++i)
                s += (i ? "," + space() : "") + string() + space() + ":" + space() + value(depth + 1) + space();
            return s + "}";
        }
        }
    }

    // A byte changed, dropped, doubled or inserted; or the text cut short.
    std::string mutate(std::string s) {
        static const std::string specials = "{}[]\",:\\/-+.eE0123456789 \t\n\rtfnu\x01\x7f\x80\xbf\xc0\xed\xef\xf4\xf5";
        if (s.empty()) return s;
        const std::size_t at = static_cast<std::size_t>(pick(static_cast<int>(s.size())));
        switch (pick(5)) {
        case 0: s[at] = specials[static_cast<std::size_t>(pick(static_cast<int>(specials.size())))]; break;
        case 1: s.erase(at, 1); break;
        case 2: s.insert(at, 1, s[at]); break;
        case 3: s.insert(at, 1, specials[static_cast<std::size_t>(pick(static_cast<int>(specials.size())))]); break;
        default: s.resize(at); break;
        }
        return s;
    }

private:
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    std::string space() {
        static const char* forms[] = {"", "", "", " ", "\n", "\t ", "\r\n  "};
        return forms[pick(7)];
    }

    std::string number() {
        static const char* forms[] = {"0", "-0", "7", "-12", "1.5", "-0.25", "1e3", "2E-3", "6.02e+23", "1e-400",
                                      "9223372036854775807", "-9223372036854775808", "-9223372036854775809",
                                      "18446744073709551615", "18446744073709551616", "123456789012345678901234567890",
                                      "0.1", "3.141592653589793", "1e308", "4.9e-324", "1E400", "-1e400", "00", "01",
                                      "1.", ".5", "-", "1e", "+1", "0x10"};
        return forms[pick(static_cast<int>(sizeof forms / sizeof forms[0]))];
    }

    std::string string() {
        static const char* parts[] = {"a", "hello", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                                      "\\u0041", "\\u00e9", "\\u0000", "\\u001f", "\\uD83D\\uDE00", "\\uDBFF\\uDFFF",
                                      "\\ud800", "\\udc00", "\\uD800\\u0041", "\\u12", "\\x", "é", "€", "😀",
                                      "\x7f", "\x01", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xc0\xaf", "\xef\xbf\xbf", "\xf0\x9f\x98\x80"};
        std::string s = "\"";
        const int n = pick(5);
        for (int i = 0; i < n; ++i) s += parts[pick(static_cast<int>(sizeof parts / sizeof parts[0]))];
        return s + "\"";
    }

    std::mt19937 rng_;
};

void random_texts(unsigned seed) {
    text_generator gen(seed);
    accepted = rejected = 0;
    for (int i = 0; i < 20000; ++i) {
        const auto text = gen.value();
        check_like_nlohmann(text);
        check_like_nlohmann(gen.mutate(text));
        check_like_nlohmann(gen.mutate(gen.mutate(text)));
    }
    MESSAGE(accepted << " texts accepted, " << rejected << " rejected");
    CHECK(accepted > 10000);  // both sides are exercised
    CHECK(rejected > 10000);
}

// Texts on both sides of the grammar's edges.
const char* corpus[] = {
    "{}", "[]", "null", "true", "false", "0", "-0", "1", "-1", "1.0", "-0.0", "1e2", "1E-2", "1.5e+3",
    "\"\"", "\"a\"", " \t\r\n{} \n", "\xEF\xBB\xBF{\"bom\":1}", "{\"a\":1,\"a\":2}", "{\"a\":{\"x\":1},\"a\":[2]}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}}}",
    "[1,[2,[3,[4]]],{\"k\":[{}]}]", "\"\\u0000\"", "\"\\uD834\\uDD1E\"", "\"\xF0\x9D\x84\x9E\"",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "1e308", "1e309", "-1e309", "1e-400", "-1e-400", "4.9e-324", "2.2250738585072014e-308",
    "0.1", "123456789012345678901234567890", "1.7976931348623157e308",
    // rejected
    "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}", "[1 2]",
    "tru", "nul", "True", "NaN", "Infinity", "-", "01", "1.", ".1", "1e", "1e+", "+1", "0x1", "--1",
    "\"", "\"abc", "\"\\\"", "\"\\a\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD800\"", "\"\\uDC00\"",
    "\"\\uD800\\u0041\"", "\"\\uD800x\"", "\"\x01\"", "\"\n\"", "\"\x80\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
    "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"", "\"\xE2\x82\"", "\xEF\xBB{}", "{} {}", "[] x", "{}\x00",
    "/* c */ {}", "[1]//", "\"a\"\"b\"",
};

}  // namespace

TEST_CASE("parse_json accepts exactly what nlohmann accepts, to the same values") {
    for (const char* t : corpus) check_like_nlohmann(t);
    check_like_nlohmann(std::string("\"a\0b\"", 5));  // a raw NUL in a string
    // nlohmann takes a NUL byte outside a string for the end of the text and
    // ignores what follows; here it is text after the value, an error.
    CHECK_FALSE(json::parse(std::string("{}\0x", 4), nullptr, false).is_discarded());
    CHECK_FALSE(parse_json(std::string("{}\0x", 4)).has_value());
}

TEST_CASE("parse_json and nlohmann agree on random texts and their mutations") {
    random_texts(20261201);
    random_texts(20261205);
}

TEST_CASE("comments are skipped only when asked for, as nlohmann skips them") {
    const char* corpus[] = {"// a\n{}", "{} // a", "/* a */ [1, /* b */ 2] /**/", "{\"a\" /* c */ : 1 // d\r}",
                            "[1 /* open", "[1] /x", "/", "{} /", "[/**/]", "[1,/*x*/]", "\"/* not */\"", "1//",
                            "/x", "  /", "// only", "/* open", "\n/*a*/ /", "/*a*/", "/*a*/ /x 1", "\xEF\xBB\xBF/x"};
    for (const char* t : corpus) {
        check_like_nlohmann(t, true);
        check_like_nlohmann(t, false);
    }
    // A configuration file's error names where it is, in lines and columns.
    const auto slash = parse_json("{\n  /x", {.comments = true});
    REQUIRE_FALSE(slash);
    CHECK(slash.error().offset == 5);
    CHECK(slash.error().message.find("line 2, column 4") != std::string::npos);
    text_generator gen(7);
    for (int i = 0; i < 3000; ++i) {
        auto text = gen.value();
        for (std::size_t at : {text.size() / 3, text.size() / 2})
            text.insert(at, i % 2 ? " /* c */ " : " // c\n");
        check_like_nlohmann(text, true);
        check_like_nlohmann(gen.mutate(text), true);
    }
}

TEST_CASE("numbers keep nlohmann's types") {
    CHECK(parse_json("5")->is_number_unsigned());
    CHECK(parse_json("-5")->is_number_integer());
    CHECK_FALSE(parse_json("-5")->is_number_unsigned());
    CHECK(parse_json("18446744073709551616")->is_number_float());
    CHECK(parse_json("-9223372036854775809")->is_number_float());
    CHECK(parse_json("1.0")->is_number_float());
    CHECK(parse_json("1e-400")->get<double>() == 0.0);
    auto big = parse_json("[1, 1e400]");
    REQUIRE_FALSE(big.has_value());
    CHECK(big.error().offset == 4);
    CHECK(big.error().message.find("overflow") != std::string::npos);
}

TEST_CASE("errors say where and what") {
    auto e = parse_json("{\"a\":1,}");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().offset == 7);
    CHECK(e.error().message == "expected a string as an object key");
    e = parse_json("[1 2]");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().offset == 3);
    CHECK(e.error().message == "expected ',' or ']' after an array element");
    e = parse_json("\"\\q\"");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().offset == 2);
    e = parse_json("");
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().message == "unexpected end of the text: expected a value");
}

TEST_CASE("nesting is bounded") {
    auto nested = [](std::size_t depth, char open, char close) {
        return std::string(depth, open) + std::string(depth, close);
    };
    CHECK(parse_json(nested(max_json_depth, '[', ']')).has_value());
    auto deep = parse_json(nested(max_json_depth + 1, '[', ']'));
    REQUIRE_FALSE(deep.has_value());
    CHECK(deep.error().offset == max_json_depth + 1);
    CHECK(deep.error().message.find("nested deeper than") != std::string::npos);
    std::string objects;
    for (std::size_t i = 0; i <= max_json_depth; ++i) objects += "{\"a\":";
    objects += "1" + std::string(max_json_depth + 1, '}');
    CHECK_FALSE(parse_json(objects).has_value());
    // An empty container counts as a level too.
    CHECK(parse_json(std::string(max_json_depth, '[') + "[]" + std::string(max_json_depth, ']')).has_value() == false);
    CHECK(parse_json(std::string(max_json_depth - 1, '[') + "[]" + std::string(max_json_depth - 1, ']')).has_value());
}

TEST_CASE("the writer writes what dump() writes") {
    json v = {{"text", "line\nbreak \"quoted\" back\\slash \x01\x1f\x7f tab\t é € 😀 /"},
              {"n", -3},
              {"u", 18446744073709551615ull},
              {"f", 0.1},
              {"g", 1e300},
              {"whole", 2.0},
              {"nan", std::nan("")},
              {"list", {nullptr, true, false, json::array(), json::object()}},
              {"", "empty key"}};
    CHECK(to_json(v) == v.dump());
    CHECK(to_json(v, 4) == v.dump(4));
    std::string out = "prefix:";
    append_json(out, json::array({1, "two"}));
    CHECK(out == "prefix:[1,\"two\"]");
}

TEST_CASE("the writer replaces bytes that are not UTF-8 instead of throwing") {
    const json bad = std::string("a\xC3(b\xFF\xED\xA0\x80z");
    CHECK_THROWS(bad.dump());
    CHECK(to_json(bad) == "\"a\xEF\xBF\xBD(b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\"");
    const auto again = parse_json(to_json(bad));
    REQUIRE(again.has_value());  // what it writes reads back
}

TEST_CASE("json_members writes an object member by member, in order, as the writer writes its values") {
    std::string out;
    const json params = {{"b", 1}, {"a", json::array({"x", nullptr, 2.5})}};
    json_members(out)
        .string("id", "q\"uo\\te\n")
        .number("n", 18446744073709551615ull)
        .value("params", params)
        .string("empty", "")
        .end();
    CHECK(out == R"({"id":"q\"uo\\te\n","n":18446744073709551615,"params":)" + params.dump() + R"(,"empty":""})");
    auto back = parse_json(out);
    REQUIRE(back);
    CHECK((*back)["id"] == "q\"uo\\te\n");
    CHECK((*back)["params"] == params);
    std::string none;
    json_members(none).end();
    CHECK(none == "{}");
}
