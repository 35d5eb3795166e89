#include "server/config/settings.h"

#include <doctest/doctest.h>

#include <fstream>
#include <algorithm>
#include <iterator>
#include <set>

#include "schemas/schemas.h"
#include "test_util.h"

using namespace litemcp::server;

namespace {

parsed parse(std::vector<const char*> args, std::vector<const char*> env, program_options& o) {
    args.insert(args.begin(), "litemcp");
    env.push_back(nullptr);
    return parse_settings(static_cast<int>(args.size()), args.data(), env.data(), o);
}

std::string write(const litemcp::test::temp_dir& d, const std::string& text) {
    auto path = d.path() + "/litemcp.json";
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("every setting is a key of schemas/config.json, and every key a setting") {
    program_options o;
    std::set<std::string> table, schema;
    for (auto& s : settings_for(o)) table.insert(s.name);
    const json doc = json::parse(*litemcp::schemas::find("config"));
    // mcpServers: upstreams in Claude Desktop's shape, an object rather than a setting.
    for (auto& [key, value] : doc.at("properties").items())
        if (key != "$schema" && key != "mcpServers") schema.insert(key);
    std::vector<std::string> only_table, only_schema;
    std::set_difference(table.begin(), table.end(), schema.begin(), schema.end(), std::back_inserter(only_table));
    std::set_difference(schema.begin(), schema.end(), table.begin(), table.end(), std::back_inserter(only_schema));
    CHECK_MESSAGE(only_table.empty(), "settings missing from schemas/config.json: " << only_table.size() << " first " << (only_table.empty() ? "" : only_table[0]));
    CHECK_MESSAGE(only_schema.empty(), "keys of schemas/config.json that are no setting: " << only_schema.size() << " first " << (only_schema.empty() ? "" : only_schema[0]));
}

TEST_CASE("MCP servers: the configuration file's mcpServers and --mcp-servers") {
    litemcp::test::temp_dir d;
    program_options o;
    auto path = write(d, R"({"mcpServers": {"a": {"url": "http://h/mcp"}, "b": {"command": "x"}}})");
    auto r = parse({"--config", path.c_str()}, {}, o);
    REQUIRE(r.outcome == parse_outcome::run);
    CHECK(o.config.upstreams.declared.contains("a"));
    CHECK(!o.config.upstreams.declared.contains("b"));
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("mcpServers.b") != std::string::npos);

    program_options bad;
    auto other = d.path() + "/servers.json";
    std::ofstream(other) << R"({"servers": {"x": {"url": "ftp://nope"}}})";
    auto refused = parse({"--mcp-servers", other.c_str()}, {}, bad);
    CHECK(refused.outcome == parse_outcome::invalid);
    CHECK(refused.message.find("servers.x.url") != std::string::npos);
}

TEST_CASE("the command line wins over the environment, which wins over the file") {
    litemcp::test::temp_dir d;
    auto file = write(d, R"({"port": 9001, "host": "127.0.0.2", "max-sessions": 7, "json-response": true,
                             "allowed-origins": ["https://a.example", "https://b.example"]})");
    program_options o;
    auto r = parse({"--config", file.c_str(), "--port", "9003"}, {"LITEMCP_PORT=9002", "LITEMCP_HOST=127.0.0.3"}, o);
    REQUIRE(r.outcome == parse_outcome::run);
    CHECK(o.config.http.port == 9003);
    CHECK(o.config.http.host == "127.0.0.3");
    CHECK(o.config.mcp.max_sessions == 7);
    CHECK(o.config.mcp.json_response);
    CHECK(o.config.mcp.allowed_origins == std::vector<std::string>{"https://a.example", "https://b.example"});

    program_options from_env;
    r = parse({}, {("LITEMCP_CONFIG=" + file).c_str(), "LITEMCP_EXAMPLES=1"}, from_env);
    REQUIRE(r.outcome == parse_outcome::run);
    CHECK(from_env.config.http.port == 9001);
    CHECK(from_env.examples);
}

TEST_CASE("a bad configuration file stops the start with a message naming the field") {
    litemcp::test::temp_dir d;
    struct bad {
        const char* text;
        const char* names;
    };
    for (auto [text, names] : {bad{R"({"port": "eighty"})", "port"}, bad{R"({"prot": 80})", "prot"},
                               bad{R"({"fsync": "sometimes"})", "fsync"}, bad{R"({"port": 70000})", "port"},
                               bad{R"({"allowed-hosts": [1]})", "allowed-hosts[0]"}, bad{"{nope", "not JSON"}}) {
        CAPTURE(text);
        program_options o;
        auto r = parse({"--config", write(d, text).c_str()}, {}, o);
        CHECK(r.outcome == parse_outcome::invalid);
        CHECK(r.message.find(names) != std::string::npos);
    }
    program_options o;
    auto r = parse({"--config", "/nonexistent/litemcp.json"}, {}, o);
    CHECK(r.outcome == parse_outcome::invalid);
    CHECK(r.message.find("/nonexistent/litemcp.json: No such file or directory") != std::string::npos);
}

TEST_CASE("a bad configuration file is explained in plain words, with the nearest setting") {
    litemcp::test::temp_dir d;
    struct bad {
        const char* text;
        const char* says;
    };
    for (auto [text, says] : {bad{R"({"prot": 80})", "prot: not a setting of litemcp (did you mean 'port'?)"},
                              bad{R"({"port": 99999})", "port: 99999 is above the maximum, 65535"},
                              bad{R"({"port": "eighty"})", "port: \"eighty\" is not an integer"},
                              bad{R"({"fsync": "sometimes"})", "fsync: \"sometimes\" does not fit: always | interval:<ms> | never"},
                              bad{R"({"log-level": "loud"})", "log-level: \"loud\" is not one of"},
                              bad{R"({"allowed-hosts": ["a", 1]})", "allowed-hosts[1]: 1 is not a string"},
                              bad{"[1]", "a JSON object of settings"}}) {
        CAPTURE(text);
        program_options o;
        auto r = parse({"--config", write(d, text).c_str()}, {}, o);
        CHECK(r.outcome == parse_outcome::invalid);
        CHECK(r.message.find(says) != std::string::npos);
        CAPTURE(r.message);
    }
}

TEST_CASE("a misspelt flag gets the nearest one; an unknown LITEMCP_ variable a warning") {
    program_options o;
    CHECK(parse({"--prot", "1"}, {}, o).message == "unknown flag --prot (did you mean --port?)");
    CHECK(parse({"--zzzzzz"}, {}, o).message == "unknown flag --zzzzzz (see --help)");
    auto r = parse({}, {"LITEMCP_PROT=80", "LITEMCP_PORT=81", "LITEMCP_CONFIG=", "OTHER=1"}, o);
    REQUIRE(r.outcome == parse_outcome::run);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0] == "LITEMCP_PROT is not a setting of litemcp; it is ignored (did you mean 'LITEMCP_PORT'?)");
    CHECK(o.config.http.port == 81);
}

TEST_CASE("bad flags and environment values are refused by name") {
    program_options o;
    CHECK(parse({"--nope", "1"}, {}, o).message.find("--nope") != std::string::npos);
    CHECK(parse({"--port", "x"}, {}, o).message.find("--port") != std::string::npos);
    CHECK(parse({"--port"}, {}, o).message.find("needs a value") != std::string::npos);
    CHECK(parse({}, {"LITEMCP_FSYNC=sometimes"}, o).message.find("LITEMCP_FSYNC") != std::string::npos);
    CHECK(parse({"--help"}, {}, o).outcome == parse_outcome::help);
    CHECK(parse({"--help"}, {}, o).message.find("--worker-max-attempts") != std::string::npos);
}

TEST_CASE("--version prints the release, which serverInfo reports unless configured") {
    program_options o;
    auto p = parse({"--version", "--port", "x"}, {}, o);  // it wins over anything else on the line
    CHECK(p.outcome == parse_outcome::help);
    CHECK(p.message == "litemcp " + std::string(litemcp_version()) + "\n");
    CHECK(litemcp_version().find('.') != std::string_view::npos);
    CHECK(program_options{}.config.mcp.server_version == litemcp_version());
}

TEST_CASE("a switch the file turns on can be turned off from the environment or the command line") {
    litemcp::test::temp_dir d;
    auto file = write(d, R"({"json-response": true, "access-log": true, "no-priming": false})");
    program_options o;
    auto r = parse({"--config", file.c_str(), "--json-response=false"}, {"LITEMCP_ACCESS_LOG=0"}, o);
    REQUIRE(r.outcome == parse_outcome::run);
    CHECK_FALSE(o.config.mcp.json_response);
    CHECK_FALSE(o.config.log.access_log);
    CHECK(o.config.mcp.priming);  // "no-priming": false leaves priming on

    program_options on;
    REQUIRE(parse({"--config", file.c_str(), "--no-priming"}, {}, on).outcome == parse_outcome::run);
    CHECK(on.config.mcp.json_response);
    CHECK(on.config.log.access_log);
    CHECK_FALSE(on.config.mcp.priming);

    program_options bad;
    CHECK(parse({"--access-log=maybe"}, {}, bad).message.find("--access-log") != std::string::npos);
    CHECK(parse({}, {"LITEMCP_EXAMPLES=perhaps"}, bad).message.find("LITEMCP_EXAMPLES") != std::string::npos);
}
