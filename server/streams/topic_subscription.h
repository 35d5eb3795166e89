// A consumer in the store's ready set, bound to lite topics: while it is
// open, an append to one of them past the consumer's cursor calls wake.
// What every reader of topics is woken by -- a topic follower (session and
// listen streams) and a worker's queue -- so nothing polls.
//
// The consumer's name is the caller's: a durable reader (a worker's queue)
// uses a fixed one, whose cursors the store keeps across restarts and
// across subscriptions; a stream's reader a unique one. One subscription
// per name at a time: opening a name that is open replaces its wake-up, and
// closing either ends both.
//
// Threading: wake runs on the store's threads and must only post work
// elsewhere. take_ready(), suspend() and close() may be called from any
// thread; close() more than once. Lifetime: the owner's; destruction closes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"

namespace litemcp::server {

class topic_subscription {
public:
    // Adds the consumer to the ready set; it is woken once it binds.
    static store::result<std::unique_ptr<topic_subscription>> open(store::store& st, std::string consumer,
                                                                   std::function<void()> wake);
    ~topic_subscription();
    topic_subscription(const topic_subscription&) = delete;
    topic_subscription& operator=(const topic_subscription&) = delete;

    // Follows one more topic: wakes at once when it already holds records
    // past the consumer's cursor (offset 0 when it has none).
    store::result<void> bind(std::string_view topic);
    // Clears the ready mark before reading: the next append wakes again.
    void take_ready();
    // No wake-ups for topic for a while (a worker asked its queue to pause).
    void suspend(std::string_view topic, std::chrono::milliseconds duration);
    // Leaves the ready set: appends no longer wake it (a wake-up already
    // under way may still run, so wake must stay safe to call).
    void close();

    const std::string& consumer() const { return consumer_; }

private:
    topic_subscription(store::store& st, std::string consumer) : store_(st), consumer_(std::move(consumer)) {}

    store::store& store_;
    const std::string consumer_;
    std::atomic<bool> closed_{false};
};

}  // namespace litemcp::server
