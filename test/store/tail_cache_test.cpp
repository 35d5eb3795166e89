#include "store/tail_cache.h"

#include <doctest/doctest.h>

using namespace litemcp::store;

TEST_CASE("tail cache serves the newest bytes and forgets older ones") {
    tail_cache c(10);
    std::string out;
    c.append(0, "abcdef");
    REQUIRE(c.read(1, 3, out));
    CHECK(out == "bcd");
    c.append(6, "ghijkl");  // wraps; holds positions 2..11
    CHECK_FALSE(c.read(0, 2, out));
    REQUIRE(c.read(2, 10, out));
    CHECK(out == "cdefghijkl");
    CHECK_FALSE(c.read(11, 2, out));  // past the end
}

TEST_CASE("an append larger than the cache keeps its newest part") {
    tail_cache c(4);
    std::string out;
    c.append(0, "0123456789");
    REQUIRE(c.read(6, 4, out));
    CHECK(out == "6789");
    CHECK_FALSE(c.read(5, 1, out));
}

TEST_CASE("a gap or reset restarts the cache") {
    tail_cache c(16);
    std::string out;
    c.append(0, "abc");
    c.append(100, "xyz");
    CHECK_FALSE(c.read(0, 1, out));
    REQUIRE(c.read(100, 3, out));
    c.reset(50);
    CHECK_FALSE(c.read(100, 3, out));
}

TEST_CASE("a zero-sized cache is disabled") {
    tail_cache c(0);
    std::string out;
    c.append(0, "abc");
    CHECK_FALSE(c.read(0, 1, out));
}
