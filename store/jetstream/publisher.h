// Appends to JetStream without waiting: each message is published with a
// reply subject of its own (pending_replies.h), JetStream's acknowledgement
// (stream and sequence) comes back there, and the append's callback runs
// with the sequence, or with an error when JetStream refuses it or does not
// answer within the request timeout (the message may then be stored or not:
// the caller sees a failed append, as after a disk error).
//
// Bounds: at most max_pending unacknowledged messages; a caller beyond that
// waits for room (as the embedded appender's queue makes it wait).
//
// Threading: publish() from any thread; callbacks run on a libnats delivery
// thread or on the deadline thread. Lifetime: owned by jetstream_store;
// stop() fails every pending append with errc::closed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/jetstream/pending_replies.h"
#include "store/store.h"

namespace litemcp::store::jetstream {

struct publisher_stats {
    std::uint64_t published = 0;
    std::uint64_t acked = 0;
    std::uint64_t failed = 0;
    std::uint64_t ack_micros = 0;  // total
    std::array<std::uint64_t, publish_bucket_micros.size() + 1> ack_buckets{};
    std::uint64_t pending = 0;
};

class publisher {
public:
    using done_fn = std::function<void(result<std::uint64_t> sequence)>;
    using headers = std::vector<std::pair<const char*, std::string>>;

    publisher(nats_link& link, std::size_t max_pending);

    result<void> start() { return replies_.start(); }
    void stop() { replies_.stop(); }

    // Publishes payload with hdrs on subject; done gets the stream sequence.
    void publish(const std::string& subject, const headers& hdrs, std::string_view payload, done_fn done);

    publisher_stats stats() const;

private:
    void count(bool ok, pending_replies::clock::duration waited);

    nats_link& link_;
    pending_replies replies_;
    mutable std::mutex mu_;
    publisher_stats stats_;
};

}  // namespace litemcp::store::jetstream
