#include "server/util/base64.h"

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

TEST_CASE("encoding round-trips in both alphabets") {
    CHECK(base64_encode("Hello", base64_alphabet::standard) == "SGVsbG8=");
    CHECK(base64_encode("echo", base64_alphabet::standard) == "ZWNobw==");
    CHECK(base64_encode("\xfb\xff", base64_alphabet::url) == "-_8");
    CHECK(base64_encode("", base64_alphabet::url).empty());
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    for (auto a : {base64_alphabet::standard, base64_alphabet::url})
        for (std::size_t n = 0; n <= all.size(); n += 37)
            CHECK(base64_decode(base64_encode(all.substr(0, n), a), a) == std::optional<std::string>(all.substr(0, n)));
}
