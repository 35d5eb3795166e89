#include "server/rpc/request_state.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

using namespace litemcp::server;

namespace {
request_state_codec with_key(std::string key, std::chrono::milliseconds ttl = std::chrono::minutes(1)) {
    return request_state_codec::load({std::move(key), ttl}, "/nonexistent").value();
}
const request_binding call_a{"tools/call", request_state_codec::params_digest({{"name", "a"}}), "alice"};
}  // namespace

TEST_CASE("a sealed state opens to its answers for the same binding") {
    auto codec = with_key("0123456789abcdef-key");
    const json answers{{"user_name", {{"action", "accept"}, {"content", {{"name", "Alice"}}}}}};
    auto state = codec.seal(call_a, answers);
    auto opened = codec.open(state, call_a);
    REQUIRE(opened);
    CHECK(*opened == answers);
}

TEST_CASE("any change to the state, the key or the binding is refused") {
    auto codec = with_key("0123456789abcdef-key");
    auto state = codec.seal(call_a, json::object());
    CHECK_FALSE(codec.open(state + "-TAMPERED", call_a));
    CHECK_FALSE(codec.open("x" + state, call_a));
    std::string flipped = state;
    flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
    CHECK_FALSE(codec.open(flipped, call_a));
    CHECK_FALSE(codec.open("no dot here", call_a));
    CHECK_FALSE(with_key("another-key-entirely").open(state, call_a));
    auto other = call_a;
    other.method = "prompts/get";
    CHECK(codec.open(state, other).error().find("another request") != std::string::npos);
    other = call_a;
    other.digest = request_state_codec::params_digest({{"name", "b"}});
    CHECK_FALSE(codec.open(state, other));
    other = call_a;
    other.principal = "mallory";
    CHECK(codec.open(state, other).error().find("principal") != std::string::npos);
}

TEST_CASE("a state expires") {
    auto codec = with_key("0123456789abcdef-key", std::chrono::milliseconds(20));
    auto state = codec.seal(call_a, json::object());
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    CHECK(codec.open(state, call_a).error().find("expired") != std::string::npos);
}

TEST_CASE("the digest ignores what changes between rounds") {
    json p{{"name", "t"}, {"arguments", {{"x", 1}}}};
    json retry = p;
    retry["_meta"] = {{"progressToken", 1}};
    retry["inputResponses"] = json::object();
    retry["requestState"] = "s";
    CHECK(request_state_codec::params_digest(p) == request_state_codec::params_digest(retry));
    retry["arguments"]["x"] = 2;
    CHECK(request_state_codec::params_digest(p) != request_state_codec::params_digest(retry));
}

TEST_CASE("without a configured key one is generated into the data folder and kept") {
    auto dir = std::filesystem::temp_directory_path() / ("litemcp-rs-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto first = request_state_codec::load({}, dir.string());
    REQUIRE(first);
    REQUIRE(std::filesystem::exists(dir / "request-state.key"));
    auto again = request_state_codec::load({}, dir.string());
    REQUIRE(again);
    CHECK(again->open(first->seal(call_a, json::object()), call_a));
    CHECK_FALSE(request_state_codec::load({"short", std::chrono::minutes(1)}, dir.string()));
    std::filesystem::remove_all(dir);
}
