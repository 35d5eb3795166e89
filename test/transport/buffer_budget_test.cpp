// The bound on bytes held for clients (--max-buffered-bytes): its two
// tiers, the charges of single holders, and concurrent use.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "transport/buffer_budget.h"

using namespace litemcp::transport;

TEST_CASE("holders above 64 KiB share 7/8 of the limit; smaller ones may use all of it") {
    buffer_budget b(8u << 20);  // 8 MiB: the large holders' share is 7 MiB
    std::vector<buffer_charge> bodies;
    for (int i = 0; i < 7; ++i) {
        bodies.emplace_back(&b);
        REQUIRE(bodies.back().grow_to(1u << 20));
    }
    buffer_charge eighth(&b);
    CHECK_FALSE(eighth.grow_to(1u << 20));  // past 7/8 for a large holder: refused
    CHECK(eighth.held() == 0);
    CHECK(b.used() == 7u << 20);
    // A small holder still fits, up to the whole limit.
    std::vector<buffer_charge> small;
    for (int i = 0; i < 16; ++i) {
        small.emplace_back(&b);
        REQUIRE(small.back().grow_to(64u << 10));
    }
    CHECK(b.used() == 8u << 20);
    buffer_charge one_more(&b);
    CHECK_FALSE(one_more.grow_to(1));  // the limit itself
    small.pop_back();                  // gives its share back
    CHECK(one_more.grow_to(1));
}

TEST_CASE("a charge grows, shrinks, is given back when destroyed and moves with its holder") {
    buffer_budget b(1u << 20);
    {
        buffer_charge c(&b);
        CHECK(c.grow_to(1000));
        CHECK(c.grow_to(500));  // already held
        CHECK(b.used() == 1000);
        c.shrink_to(200);
        CHECK(b.used() == 200);
        buffer_charge moved = std::move(c);
        CHECK(c.held() == 0);
        CHECK(moved.held() == 200);
        CHECK(b.used() == 200);
        c = std::move(moved);
        CHECK(b.used() == 200);
    }
    CHECK(b.used() == 0);
    buffer_charge none;  // no budget: nothing is counted or refused
    CHECK(none.grow_to(1u << 30));
}

TEST_CASE("what cannot be refused is counted beyond the limit and given back") {
    buffer_budget b(1u << 20);
    b.take(2u << 20);
    CHECK(b.used() == 2u << 20);
    CHECK_FALSE(b.try_take(1, 1));
    b.give_back(2u << 20);
    CHECK(b.try_take(1, 1));
}

TEST_CASE("threads charging at once never pass the limit with a granted charge and end at zero") {
    buffer_budget b(1u << 20);
    std::atomic<bool> over{false};
    // The sum of granted charges (a try that is undone may show in used()
    // for a moment; a grant never takes the granted sum past the limit).
    std::atomic<std::size_t> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; ++i) {
                buffer_charge c(&b);
                const std::size_t n = 1000 + static_cast<std::size_t>((i * 7919 + t) % 200000);
                if (!c.grow_to(n)) continue;
                if (granted += n; granted.load() > b.limit()) over = true;
                granted -= n;
            }
        });
    for (auto& t : threads) t.join();
    CHECK_FALSE(over.load());
    CHECK(b.used() == 0);
}
