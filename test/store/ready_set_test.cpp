#include "store/ready_set.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace litemcp::store;
using namespace std::chrono_literals;

namespace {
template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds within = 2000ms) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        if (p()) return true;
        std::this_thread::sleep_for(1ms);
    }
    return p();
}
}  // namespace

TEST_CASE("a bound consumer is woken once until it drains") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c1", [&] { ++wakes; });
    REQUIRE(rs.bind("c1", "t/a", false));
    REQUIRE(rs.bind("c1", "t/b", false));
    CHECK(wakes == 0);
    rs.notify({"t/a"});
    rs.notify({"t/a"});
    rs.notify({"t/b"});
    CHECK(wakes == 1);
    auto ready = rs.take_ready("c1");
    std::sort(ready.begin(), ready.end());
    CHECK(ready == std::vector<std::string>{"t/a", "t/b"});
    rs.notify({"t/b"});
    CHECK(wakes == 2);
    CHECK(rs.take_ready("c1") == std::vector<std::string>{"t/b"});
    CHECK(rs.take_ready("c1").empty());
}

TEST_CASE("only consumers bound to the topic are woken") {
    ready_set rs;
    std::atomic<int> a{0}, b{0};
    rs.add_consumer("a", [&] { ++a; });
    rs.add_consumer("b", [&] { ++b; });
    rs.bind("a", "t/x", false);
    rs.bind("b", "t/y", false);
    rs.notify({"t/x", "t/z"});
    CHECK(a == 1);
    CHECK(b == 0);
    CHECK(rs.bound_consumers("t/x") == std::vector<std::string>{"a"});
    CHECK_FALSE(rs.has_bindings("t/z"));
}

TEST_CASE("bind with unread records wakes at once; unbind and remove stop wakes") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c", [&] { ++wakes; });
    CHECK_FALSE(rs.bind("nobody", "t/a", true));
    rs.bind("c", "t/a", true);
    CHECK(wakes == 1);
    rs.take_ready("c");
    rs.unbind("c", "t/a");
    rs.notify({"t/a"});
    CHECK(wakes == 1);
    CHECK_FALSE(rs.has_bindings("t/a"));
    rs.bind("c", "t/a", false);
    rs.remove_consumer("c");
    rs.notify({"t/a"});
    CHECK(wakes == 1);
    CHECK(rs.stats().bindings == 0);
    CHECK(rs.stats().consumers == 0);
}

TEST_CASE("suspend holds one topic for its duration, others keep flowing") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c", [&] { ++wakes; });
    rs.bind("c", "t/slow", false);
    rs.bind("c", "t/fast", false);
    const auto start = std::chrono::steady_clock::now();
    rs.suspend("c", "t/slow", 150ms);
    rs.notify({"t/slow"});
    CHECK(wakes == 0);
    rs.notify({"t/fast"});
    CHECK(wakes == 1);
    CHECK(rs.take_ready("c") == std::vector<std::string>{"t/fast"});
    REQUIRE(eventually([&] { return wakes == 2; }));
    CHECK(std::chrono::steady_clock::now() - start >= 150ms);
    CHECK(rs.take_ready("c") == std::vector<std::string>{"t/slow"});
}

TEST_CASE("a suspension with no records meanwhile ends without a wake") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c", [&] { ++wakes; });
    rs.bind("c", "t/a", false);
    rs.suspend("c", "t/a", 20ms);
    std::this_thread::sleep_for(80ms);
    CHECK(wakes == 0);
    rs.notify({"t/a"});  // no longer suspended
    CHECK(wakes == 1);
}

TEST_CASE("suspending a ready topic defers it; resume releases it early") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c", [&] { ++wakes; });
    rs.bind("c", "t/a", false);
    rs.notify({"t/a"});
    CHECK(wakes == 1);
    rs.suspend("c", "t/a", std::chrono::hours(1));
    CHECK(rs.take_ready("c").empty());
    rs.resume("c", "t/a");
    CHECK(wakes == 2);
    CHECK(rs.take_ready("c") == std::vector<std::string>{"t/a"});
}

TEST_CASE("extending a suspension keeps the topic held until the later time") {
    ready_set rs;
    std::atomic<int> wakes{0};
    rs.add_consumer("c", [&] { ++wakes; });
    rs.bind("c", "t/a", false);
    rs.suspend("c", "t/a", 30ms);
    rs.suspend("c", "t/a", 300ms);
    rs.notify({"t/a"});
    std::this_thread::sleep_for(100ms);
    CHECK(wakes == 0);
    CHECK(eventually([&] { return wakes == 1; }));
}
