// Appends to JetStream without waiting: each message is published with a
// reply subject of its own under one inbox, JetStream's acknowledgement
// (stream and sequence) comes back there, and the append's callback runs
// with the sequence, or with an error when JetStream refuses it or does not
// answer within the request timeout (the message may then be stored or
// not: the caller sees a failed append, as after a disk error).
//
// Bounds: at most max_pending unacknowledged messages; a caller beyond that
// waits for room (as the embedded appender's queue makes it wait).
//
// Threading: publish() from any thread; callbacks run on a libnats delivery
// thread or on the timeout thread, never under the publisher's lock.
// Lifetime: owned by jetstream_store, after the link; stop() fails every
// pending append with errc::closed and joins the timeout thread.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/jetstream/nats_link.h"
#include "store/store.h"

namespace litemcp::store::jetstream {

struct publisher_stats {
    std::uint64_t published = 0;
    std::uint64_t acked = 0;
    std::uint64_t failed = 0;
    std::uint64_t timed_out = 0;
    std::uint64_t ack_micros = 0;  // total
    std::array<std::uint64_t, publish_bucket_micros.size() + 1> ack_buckets{};
    std::uint64_t pending = 0;
};

class publisher {
public:
    using done_fn = std::function<void(result<std::uint64_t> sequence)>;
    using headers = std::vector<std::pair<const char*, std::string>>;

    publisher(nats_link& link, std::size_t max_pending);
    ~publisher();
    publisher(const publisher&) = delete;
    publisher& operator=(const publisher&) = delete;

    result<void> start();
    void stop();

    // Publishes payload with hdrs on subject; done gets the stream sequence.
    void publish(const std::string& subject, const headers& hdrs, std::string_view payload, done_fn done);

    publisher_stats stats() const;

private:
    struct pending {
        done_fn done;
        std::chrono::steady_clock::time_point sent;
    };
    static void on_ack(natsConnection*, natsSubscription*, natsMsg* msg, void* self);
    void acknowledged(std::uint64_t id, result<std::uint64_t> r);
    void run_timeouts();
    void record_latency(std::chrono::steady_clock::duration d);

    nats_link& link_;
    const std::size_t max_pending_;
    std::string inbox_;
    natsSubscription* sub_ = nullptr;

    mutable std::mutex mu_;
    std::condition_variable room_cv_, timer_cv_;
    std::map<std::uint64_t, pending> pending_;  // by id: oldest first
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    publisher_stats stats_;
    std::thread timer_;
};

}  // namespace litemcp::store::jetstream
