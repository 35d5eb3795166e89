#include "server/base64.h"

#include <doctest/doctest.h>

using namespace litemcp::server;

TEST_CASE("standard base64 needs its padding and its alphabet") {
    CHECK(base64_decode("ZWNobw==", base64_alphabet::standard) == std::optional<std::string>("echo"));
    CHECK(base64_decode("SGVsbG8=", base64_alphabet::standard) == std::optional<std::string>("Hello"));
    CHECK(base64_decode("", base64_alphabet::standard) == std::optional<std::string>(""));
    CHECK_FALSE(base64_decode("ZWNobw", base64_alphabet::standard));      // unpadded
    CHECK_FALSE(base64_decode("ZW!!bw==", base64_alphabet::standard));    // not the alphabet
    CHECK_FALSE(base64_decode("ZW==bw==", base64_alphabet::standard));    // data after padding
    CHECK_FALSE(base64_decode("-_8=", base64_alphabet::standard));        // the url alphabet
}

TEST_CASE("base64url goes without padding") {
    CHECK(base64_decode("-_8", base64_alphabet::url) == std::optional<std::string>("\xfb\xff"));
    CHECK(base64_decode("eyJhbGciOiJSUzI1NiJ9", base64_alphabet::url) == std::optional<std::string>(R"({"alg":"RS256"})"));
    CHECK_FALSE(base64_decode("+/8", base64_alphabet::url));
}
