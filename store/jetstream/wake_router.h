// The ready set across servers. JetStream republishes every stored message
// on the topic's wake subject (names.h); a server listens (core NATS
// interest, no consumer) on the wake subjects of the topics its own
// consumers are bound to and turns each wake into ready_set::notify, so an
// append on any server wakes exactly the streams bound to that topic,
// wherever they are. Nothing polls.
//
// Each wake carries the topic's sequence and the one before it
// ("Nats-Last-Sequence"): a wake whose predecessor was not the last one seen
// is a gap (wakes lost while reconnecting), counted; the woken consumer
// reads from its own position either way, so a gap loses nothing. After a
// reconnect every watched topic is notified (a catch-up read), since wakes
// sent meanwhile are gone. The newest sequence seen per watched topic
// (known_end) lets a read notice a replica that lags behind the wake.
//
// Threading: thread-safe; wakes arrive on libnats delivery threads and call
// ready_set::notify there (its wake callbacks only post). Lifetime: owned by
// jetstream_store; stop() unsubscribes everything before the link closes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/jetstream/names.h"
#include "store/jetstream/nats_link.h"
#include "store/ready_set.h"
#include "store/store.h"

namespace litemcp::store::jetstream {

class wake_router {
public:
    wake_router(nats_link& link, const names& n, ready_set& ready);
    ~wake_router();
    wake_router(const wake_router&) = delete;
    wake_router& operator=(const wake_router&) = delete;

    // Listens on topic's wakes while some local consumer is bound to it
    // (asks the ready set), and stops listening when none is.
    result<void> sync(std::string_view topic);
    // Notifies every watched topic (after a reconnect).
    void catch_up();
    // The newest sequence a wake reported for a watched topic (0: none yet).
    std::uint64_t known_end(std::string_view topic) const;
    // Raises known_end (a read found a newer record than any wake said).
    void note_end(std::string_view topic, std::uint64_t seq);

    // Every append of every server, decoded, while set (the admin API's tail).
    void observe(store::append_observer observer);

    std::uint64_t wakes() const { return wakes_.load(); }
    std::uint64_t gaps() const { return gaps_.load(); }
    std::size_t watched() const;
    void stop();

private:
    struct watch {
        natsSubscription* sub = nullptr;
        std::uint64_t last_seen = 0;
    };
    static void on_wake(natsConnection*, natsSubscription*, natsMsg* msg, void* self);
    static void on_any(natsConnection*, natsSubscription*, natsMsg* msg, void* self);

    nats_link& link_;
    const names& names_;
    ready_set& ready_;
    mutable std::mutex mu_;
    string_map<watch> watches_;
    bool stopped_ = false;
    natsSubscription* observer_sub_ = nullptr;
    std::shared_ptr<const store::append_observer> observer_;
    std::atomic<std::uint64_t> wakes_{0}, gaps_{0};
};

}  // namespace litemcp::store::jetstream
