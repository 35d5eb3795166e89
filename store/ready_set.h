// The ready set: which consumers have something to read, driven by events
// rather than polling. A consumer (an SSE stream, a worker connection) is
// registered under its client id with a wake callback and binds itself to
// lite topics. When a topic receives records, every consumer bound to it is
// marked ready and woken -- once: further appends only add to its ready
// topics until it calls take_ready(). Binding touches only that consumer's
// records; nothing here ever iterates over all topics or all consumers.
//
// suspend(consumer, topic, duration) holds wakes for that one topic until the
// time passes; if records arrived meanwhile the consumer is woken then.
//
// Threading: every method is thread-safe (one mutex; critical sections are a
// few hash operations). Wake callbacks run on the thread that caused them --
// the store's appender, a timer thread, or a caller of bind()/mark_ready() --
// outside the lock, and must only schedule work (post to a strand), never
// block or call back into the ready set synchronously with heavy work.
// Lifetime: owned by the store; bindings are in memory only (a consumer binds
// again after a restart), cursors are what persists.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace litemcp::store {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;
using string_set = std::unordered_set<std::string, string_hash, std::equal_to<>>;

struct ready_set_stats {
    std::uint64_t consumers = 0;
    std::uint64_t bindings = 0;
    std::uint64_t wakes = 0;  // wake callbacks run since start
};

class ready_set {
public:
    using wake_fn = std::function<void()>;
    using clock = std::chrono::steady_clock;

    ready_set();
    ~ready_set();
    ready_set(const ready_set&) = delete;
    ready_set& operator=(const ready_set&) = delete;

    // Registers (or replaces the callback of) a consumer.
    void add_consumer(std::string_view id, wake_fn wake);
    // Removes a consumer and all its bindings and suspensions.
    void remove_consumer(std::string_view id);
    bool has_consumer(std::string_view id) const;

    // Binds a consumer to a topic; with has_unread it is ready at once.
    // Returns false when the consumer is not registered.
    bool bind(std::string_view id, std::string_view topic, bool has_unread);
    void unbind(std::string_view id, std::string_view topic);
    bool has_bindings(std::string_view topic) const;
    std::vector<std::string> bound_consumers(std::string_view topic) const;
    // The topics a consumer is bound to.
    std::vector<std::string> bindings_of(std::string_view id) const;

    // Called after records were committed to these topics.
    void notify(const std::vector<std::string_view>& topics);
    // Marks one consumer ready on a topic (for example when it stopped reading
    // early and wants to be called again).
    void mark_ready(std::string_view id, std::string_view topic);
    // The topics that became ready since the last call; re-arms the wake.
    std::vector<std::string> take_ready(std::string_view id);

    void suspend(std::string_view id, std::string_view topic, std::chrono::milliseconds duration);
    void resume(std::string_view id, std::string_view topic);

    ready_set_stats stats() const;

private:
    struct suspension {
        clock::time_point until;
        bool missed = false;  // records arrived while suspended
    };
    struct consumer {
        std::string id;
        wake_fn wake;
        string_set topics;
        string_set ready;
        bool pending = false;  // woken and not yet drained by take_ready
        string_map<suspension> suspended;
    };
    struct timer {
        clock::time_point at;
        std::string consumer;
        std::string topic;
        bool operator>(const timer& o) const { return at > o.at; }
    };

    // Marks ready under the lock; returns the consumer to wake, if any.
    std::shared_ptr<consumer> mark_locked(const std::shared_ptr<consumer>& c, std::string_view topic);
    void run_timers();

    mutable std::mutex mu_;
    string_map<std::shared_ptr<consumer>> consumers_;
    string_map<std::vector<std::shared_ptr<consumer>>> bindings_;
    std::uint64_t binding_count_ = 0;
    std::uint64_t wakes_ = 0;

    std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
    std::condition_variable timer_cv_;
    bool stopping_ = false;
    std::thread timer_thread_;
};

}  // namespace litemcp::store
