#include "server/json/simple_schema.h"

#include <doctest/doctest.h>

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <random>

using namespace litemcp::server;

namespace {

json parse(const char* text) { return json::parse(text); }

bool valijson_accepts(const json& schema, const json& document) {
    valijson::Schema compiled;
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema);
    parser.populateSchema(schema_adapter, compiled);
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(document);
    return validator.validate(compiled, target, nullptr);
}

}  // namespace

TEST_CASE("the subset compiles; anything beyond it does not") {
    for (auto text : {R"({})", R"(true)", R"(false)",
                      R"({"type": "object", "properties": {"text": {"type": "string", "description": "what to echo"}},
                          "required": ["text"], "additionalProperties": false, "title": "echo"})",
                      R"({"type": ["string", "null"], "enum": ["a", "b", null], "default": "a"})",
                      R"({"type": "array", "items": {"type": "integer"}})",
                      R"({"const": true, "$comment": "c", "examples": [true], "deprecated": false})"}) {
        CAPTURE(text);
        CHECK(simple_schema::compile(parse(text)));
    }
    for (auto text : {R"("object")", R"({"type": "integer", "minimum": 1})", R"({"type": "string", "pattern": "a+"})",
                      R"({"$ref": "#/$defs/x", "$defs": {"x": {}}})", R"({"anyOf": [{}, {}]})",
                      R"({"additionalProperties": {"type": "string"}})", R"({"items": [{}, {}]})",
                      R"({"enum": [1, 2]})", R"({"const": {"a": 1}})", R"({"type": "float"})", R"({"type": []})",
                      R"({"required": [1]})", R"({"properties": {"a": {"format": "email"}}})",
                      R"({"x-vendor": 1})"}) {
        CAPTURE(text);
        CHECK_FALSE(simple_schema::compile(parse(text)));
    }
}

TEST_CASE("a quick yes for valid arguments, and no yes for invalid ones") {
    auto echo = simple_schema::compile(parse(R"({"type": "object", "properties": {"text": {"type": "string"}},
                                                  "required": ["text"]})"));
    REQUIRE(echo);
    CHECK(echo->accepts(json{{"text", "hi"}}));
    CHECK(echo->accepts(json{{"text", "hi"}, {"other", 1}}));  // open: other members are fine
    CHECK_FALSE(echo->accepts(json::object()));                // required
    CHECK_FALSE(echo->accepts(json{{"text", 7}}));              // the member's type
    CHECK_FALSE(echo->accepts(json::array()));                  // the document's type

    auto closed = simple_schema::compile(parse(R"({"type": "object", "properties": {"a": {}, "c": {}},
                                                    "additionalProperties": false})"));
    REQUIRE(closed);
    CHECK(closed->accepts(json{{"a", 1}, {"c", 2}}));
    CHECK_FALSE(closed->accepts(json{{"a", 1}, {"b", 2}}));

    auto numbers = simple_schema::compile(parse(R"({"type": "array", "items": {"type": "integer"}})"));
    REQUIRE(numbers);
    CHECK(numbers->accepts(json::parse("[1, -2, 18446744073709551615]")));
    CHECK_FALSE(numbers->accepts(json::parse("[1, \"2\"]")));
    CHECK_FALSE(numbers->accepts(json::parse("[1.0]")));  // an integer by 2020-12, but left to valijson

    auto choice = simple_schema::compile(parse(R"({"enum": ["a", "b", null], "const": "a"})"));
    REQUIRE(choice);
    CHECK(choice->accepts("a"));
    CHECK_FALSE(choice->accepts("b"));  // in the enum, not the const
    CHECK_FALSE(choice->accepts(1));

    // Keywords for objects on a value that is not one: valid by the
    // specification, but left to valijson.
    auto loose = simple_schema::compile(parse(R"({"required": ["a"]})"));
    REQUIRE(loose);
    CHECK_FALSE(loose->accepts("a string"));
    CHECK_FALSE(simple_schema::compile(parse("false"))->accepts(json::object()));
    CHECK(simple_schema::compile(parse("true"))->accepts(json::object()));
}

// Generated schemas of the subset and generated documents: the quick yes
// must never contradict valijson, and must answer most valid documents.
TEST_CASE("the quick yes agrees with valijson") {
    std::mt19937 rng(20261201);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const std::vector<json> plains = {"x", "y", true, false, nullptr};
    const std::vector<std::string> names = {"a", "b", "c"};
    const std::vector<std::string> types = {"object", "array", "string", "number", "integer", "boolean", "null"};

    std::function<json(int)> schema = [&](int depth) -> json {
        if (pick(10) == 0) return pick(4) != 0;  // true, mostly
        json s = json::object();
        if (pick(3) != 0) {
            if (pick(3) == 0) s["type"] = json::array({types[pick(7)], types[pick(7)]});
            else s["type"] = types[pick(7)];
        }
        if (depth > 0 && pick(2) == 0) {
            s["properties"] = json::object();
            for (auto& n : names)
                if (pick(2) == 0) s["properties"][n] = schema(depth - 1);
        }
        if (pick(3) == 0) {
            s["required"] = json::array();
            for (auto& n : names)
                if (pick(3) == 0) s["required"].push_back(n);
        }
        if (pick(4) == 0) s["additionalProperties"] = pick(2) == 0;
        if (depth > 0 && pick(4) == 0) s["items"] = schema(depth - 1);
        if (pick(6) == 0) {
            s["enum"] = json::array();
            for (int i = pick(3) + 1; i > 0; --i) s["enum"].push_back(plains[pick(5)]);
        }
        if (pick(10) == 0) s["const"] = plains[pick(5)];
        if (pick(4) == 0) s["description"] = "d";
        // Mostly as tools write them: keywords for objects with "type": "object".
        const bool for_objects =
            s.contains("properties") || s.contains("required") || s.contains("additionalProperties");
        if (pick(4) != 0 && for_objects && !s.contains("items")) s["type"] = "object";
        if (pick(4) != 0 && s.contains("items") && !for_objects) s["type"] = "array";
        return s;
    };
    std::function<json(int)> document = [&](int depth) -> json {
        switch (pick(depth > 0 ? 10 : 8)) {
            case 0: return pick(100) - 50;
            case 1: return pick(2) == 0 ? 1.0 : 2.5;
            case 2: return json(std::vector<std::string>{"x", "y", "z"}[pick(3)]);
            case 3: return pick(2) == 0;
            case 4: return nullptr;
            case 5: return json(18446744073709551615ull);
            case 6: case 7: return json(std::vector<std::string>{"x", "y"}[pick(2)]);
            case 8: {
                json a = json::array();
                for (int i = pick(4); i > 0; --i) a.push_back(document(depth - 1));
                return a;
            }
            default: {
                json o = json::object();
                for (auto n : {"a", "b", "c", "d"})
                    if (pick(2) == 0) o[n] = document(depth - 1);
                return o;
            }
        }
    };

    int quick_yes = 0, valid = 0, invalid = 0;
    for (int i = 0; i < 4000; ++i) {
        const json s = schema(2);
        auto simple = simple_schema::compile(s);
        REQUIRE(simple);  // the generator stays inside the subset
        for (int j = 0; j < 10; ++j) {
            const json d = document(2);
            const bool full = valijson_accepts(s, d);
            const bool quick = simple->accepts(d);
            if (quick && !full) {
                CAPTURE(s.dump());
                CAPTURE(d.dump());
                FAIL("the quick yes accepted what valijson rejects");
            }
            valid += full;
            invalid += !full;
            quick_yes += quick;
        }
    }
    MESSAGE("valid ", valid, ", invalid ", invalid, ", quick yes ", quick_yes);
    CHECK(invalid > 5000);
    CHECK(valid > 5000);
    // Most valid documents need no valijson; the rest are the generator's
    // deliberate cases left to it (1.0, object keywords on a string, ...).
    CHECK(quick_yes * 2 > valid);
}
