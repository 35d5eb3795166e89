// json_reader_bench: the server's JSON reader (server/json/json_text.h,
// Boost.JSON's SAX parser building nlohmann values) beside nlohmann's own
// parse, on the texts the server reads: a tools/call request, an initialize
// request, a tools/list result, a 1 MiB document, a text of long escaped
// strings. Each reader parses each text for --ms milliseconds, the readers
// alternating over --rounds rounds; it prints the median nanoseconds per
// parse and MB/s. Run it pinned to one core:
//   taskset -c 0 build/test/bench/json_reader_bench [--rounds 5] [--ms 300]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "server/json/json_text.h"

using litemcp::server::json;

namespace {

struct text {
    const char* name;
    std::string body;
};

std::vector<text> corpus() {
    std::vector<text> out;
    out.push_back({"tools/call request",
                   R"({"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello, world"},"_meta":{"progressToken":"p-17"}}})"});
    out.push_back({"initialize request",
                   R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{"listChanged":true}},"clientInfo":{"name":"example-client","title":"Example Client","version":"1.4.2"}}})"});
    json tools = json::array();
    for (int i = 0; i < 50; ++i)
        tools.push_back({{"name", "tool_" + std::to_string(i)},
                         {"description", "Does thing number " + std::to_string(i) + " with care, and reports back."},
                         {"inputSchema",
                          {{"type", "object"},
                           {"properties",
                            {{"path", {{"type", "string"}, {"description", "where"}}},
                             {"count", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000}}},
                             {"ratio", {{"type", "number"}}}}},
                           {"required", {"path"}}}}});
    out.push_back({"tools/list result (50 tools)",
                   litemcp::server::to_json(json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"tools", tools}}}})});
    json big = json::array();
    for (int i = 0; big.dump().size() < (1u << 20); ++i)
        big.push_back({{"id", i}, {"value", i * 0.25}, {"label", "item-" + std::to_string(i)}, {"ok", i % 2 == 0}});
    out.push_back({"1 MiB document", litemcp::server::to_json(big)});
    std::string strings = "[";
    for (int i = 0; i < 200; ++i) {
        if (i) strings += ',';
        strings += "\"line one\\nline two\\t\\\"quoted\\\" \\u00e9t\\u00e9 \xE2\x82\xAC " + std::string(200, 'x') + "\"";
    }
    strings += "]";
    out.push_back({"long escaped strings", strings});
    return out;
}

using reader = std::function<bool(const std::string&)>;

// Nanoseconds per parse of t by r, over about ms milliseconds.
double time_one(const reader& r, const std::string& t, int ms) {
    using clock = std::chrono::steady_clock;
    std::size_t n = 0;
    const auto start = clock::now(), until = start + std::chrono::milliseconds(ms);
    auto now = start;
    while (now < until) {
        for (int i = 0; i < 16; ++i)
            if (!r(t)) {
                std::fprintf(stderr, "a reader rejected a corpus text\n");
                std::exit(1);
            }
        n += 16;
        now = clock::now();
    }
    return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 5, ms = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--ms")) ms = std::atoi(argv[i + 1]);
    }
    const std::vector<std::pair<const char*, reader>> readers = {
        {"litemcp (json_text)", [](const std::string& t) { return litemcp::server::parse_json(t).has_value(); }},
        {"nlohmann::json::parse", [](const std::string& t) { return !json::parse(t, nullptr, false).is_discarded(); }},
    };
    std::printf("JSON readers, median of %d rounds of %d ms each, ns per parse (MB/s)\n", rounds, ms);
    for (auto& t : corpus()) {
        std::vector<std::vector<double>> ns(readers.size());
        for (int round = 0; round < rounds; ++round)
            for (std::size_t k = 0; k < readers.size(); ++k) {
                const std::size_t j = (k + static_cast<std::size_t>(round)) % readers.size();  // alternate who goes first
                ns[j].push_back(time_one(readers[j].second, t.body, ms));
            }
        std::printf("%s, %zu bytes\n", t.name, t.body.size());
        for (std::size_t j = 0; j < readers.size(); ++j) {
            auto v = ns[j];
            std::sort(v.begin(), v.end());
            const double median = v[v.size() / 2];
            std::printf("  %-26s %12.0f ns  (%7.1f MB/s)\n", readers[j].first, median,
                        static_cast<double>(t.body.size()) / median * 1e3);
        }
    }
    return 0;
}
