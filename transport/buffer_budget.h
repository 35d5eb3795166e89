// The bytes a server holds for its clients across all connections: request
// bodies being received or waiting for their answer, header buffers, SSE
// queues and answers the client has not read yet (--max-buffered-bytes).
//
// Two tiers, so a normal client always gets through: a holder that would
// pass `large` bytes (64 KiB) may use only 7/8 of the limit; smaller holders
// may use all of it. Half-sent bodies and stuck readers then fill at most
// 7/8, and a ping, a small body or a small event still fits.
//
// Threading: every method may be called from any thread (relaxed atomics:
// the counter guards no other memory). Lifetime: owned by the server; it
// outlives every charge on it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace litemcp::transport {

class buffer_budget {
public:
    static constexpr std::size_t large = 64u << 10;

    explicit buffer_budget(std::size_t limit) : limit_(limit), bulk_(limit - limit / 8) {}

    // Takes n bytes more for a holder that will then hold `after` bytes.
    // false: over its tier's share; nothing is taken.
    bool try_take(std::size_t n, std::size_t after) {
        const std::size_t cap = after > large ? bulk_ : limit_;
        // Compare and swap: a refused take never shows in used_, where it
        // could make a small one fail.
        auto was = used_.load(std::memory_order_relaxed);
        do {
            if (was + n > cap) return false;
        } while (!used_.compare_exchange_weak(was, was + n, std::memory_order_relaxed));
        return true;
    }
    // Takes n bytes whatever the limit: for what cannot be refused any more
    // (an answer already computed, a frame of a stream that dropped others
    // to make room).
    void take(std::size_t n) { used_.fetch_add(n, std::memory_order_relaxed); }
    void give_back(std::size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

    std::size_t used() const { return used_.load(std::memory_order_relaxed); }
    std::size_t limit() const { return limit_; }

    // Requests refused with 503, and streams dropped, to stay within it.
    std::atomic<std::uint64_t> refusals{0}, drops{0};

private:
    std::atomic<std::size_t> used_{0};
    const std::size_t limit_, bulk_;
};

// One holder's share of a budget (a request body, a header buffer): grown
// and shrunk as the holder does, given back when destroyed or moved from.
// Threading: one owner at a time (not synchronised itself).
class buffer_charge {
public:
    buffer_charge() = default;
    explicit buffer_charge(buffer_budget* b) : budget_(b) {}
    buffer_charge(buffer_charge&& o) noexcept : budget_(o.budget_), held_(std::exchange(o.held_, 0)) {}
    buffer_charge& operator=(buffer_charge&& o) noexcept {
        if (this != &o) {
            release();
            budget_ = o.budget_;
            held_ = std::exchange(o.held_, 0);
        }
        return *this;
    }
    buffer_charge(const buffer_charge&) = delete;
    buffer_charge& operator=(const buffer_charge&) = delete;
    ~buffer_charge() { release(); }

    // Holds at least `bytes`; false (and unchanged) when the budget refuses.
    bool grow_to(std::size_t bytes) {
        if (bytes <= held_ || !budget_) return true;
        if (!budget_->try_take(bytes - held_, bytes)) return false;
        held_ = bytes;
        return true;
    }
    void shrink_to(std::size_t bytes) {
        if (bytes >= held_) return;
        budget_->give_back(held_ - bytes);
        held_ = bytes;
    }
    void release() { shrink_to(0); }
    std::size_t held() const { return held_; }

private:
    buffer_budget* budget_ = nullptr;
    std::size_t held_ = 0;
};

}  // namespace litemcp::transport
