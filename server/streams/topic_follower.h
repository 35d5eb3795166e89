// Follows lite topics for one reader, woken by the store's ready set and
// never by polling: its subscription (topic_subscription.h), the wake-up
// that posts one delivery at a time to a pool, and the reading
// (topic_reader.h) -- for
// every topic-to-SSE reader: a session's POST or GET stream (stream_feeder)
// and a subscriptions/listen stream (listen_stream).
//
// Threading: wake-ups arrive on the thread committing the store's batch
// and only post to the pool; on_ready runs on the pool, never twice at once
// for one follower.
// read() is for on_ready. stop() may be called from any thread, more than
// once. Lifetime: shared; the reader owns it and stops it when its stream
// ends. After stop() no on_ready starts.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/streams/topic_reader.h"
#include "server/streams/topic_subscription.h"
#include "server/util/work_pool.h"
#include "store/store.h"

namespace litemcp::server {

class topic_follower : public std::enable_shared_from_this<topic_follower> {
public:
    // Reads from the topics once at start and after every append to one of
    // them. what: names the reader in log lines ("session 3f2a...", "listen").
    static std::shared_ptr<topic_follower> start(store::store& st, work_pool& pool, std::string_view consumer_prefix,
                                                 const std::vector<std::string>& topics, std::string what,
                                                 std::function<void()> on_ready);

    // read_topic() for this reader (topic_reader.h).
    follow_outcome read(std::string_view topic, std::uint64_t& pos,
                        const std::function<bool(const store::record&)>& each);

    // Runs on_ready once more (on the pool), as a wake-up does.
    void poke() { wake(); }

    // Ends the following: the consumer leaves the ready set.
    void stop();
    ~topic_follower();

private:
    topic_follower(store::store& st, work_pool& pool, std::string what, std::function<void()> on_ready);
    void wake();
    void ready();

    store::store& store_;
    work_pool& pool_;
    const std::string what_;
    std::unique_ptr<topic_subscription> subscription_;  // set once in start(), before any wake-up
    std::function<void()> on_ready_;
    std::mutex mu_;  // one on_ready at a time
    std::atomic<bool> stopped_{false};  // not under mu_: on_ready may stop its own follower
};

}  // namespace litemcp::server
