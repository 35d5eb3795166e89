// Idle lite topics on the JetStream engine, reported through
// store_options::on_reclaimed as the embedded reclaimer reports them.
//
// JetStream drops each message MaxAge (the parent's idle TTL) after storing
// it, so a lite topic with no append for that long loses its last message
// and its subject leaves its stream. A pass lists the subjects of a parent's
// streams (the stream info API with a subjects filter, page by page) and
// compares them with the previous listing: a topic that left is reported,
// unless this server removed it (remove_topic is not idleness) or a
// consumer is bound to it on some server (asked with the "store-bound"
// question): the embedded engine never reclaims a bound topic either, and
// such a topic is looked at again in the next pass.
//
// A parent is listed every max(reclaim_interval, idle_ttl / 10): a topic is
// reported at most a tenth of its TTL late, and parents kept for days are
// listed rarely. Every server runs its own passes, so each server running
// when a topic left reports it (the server's callbacks are idempotent); a
// topic that left while no server ran is never reported (docs/cluster.md).
//
// Threading: one thread of its own runs the passes, and pass() may be
// called from any thread (store::reclaim()): passes take turns. on_reclaimed
// runs on the thread of the pass and may block. removed() is thread-safe. Lifetime: owned by
// jetstream_store; stop() before the link closes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/jetstream/names.h"
#include "store/jetstream/nats_link.h"
#include "store/jetstream/signals.h"

namespace litemcp::store::jetstream {

class idle_reclaimer {
public:
    struct parts {
        nats_link& link;
        const names& n;
        signals& sig;
        // The parents to look at, with their idle TTL, read at every pass.
        std::function<std::vector<std::pair<std::string, std::chrono::milliseconds>>()> parents;
        // Whether a consumer of this server is bound to the topic.
        std::function<bool(std::string_view topic)> bound_here;
        std::function<void(std::string_view topic)> on_reclaimed;
    };
    // The question servers answer "1" to when a consumer of theirs is bound
    // to the topic named by the payload.
    static constexpr std::string_view bound_question = "store-bound";
    static constexpr std::chrono::milliseconds bound_wait{500};

    idle_reclaimer(parts p, std::chrono::milliseconds interval);
    ~idle_reclaimer();
    idle_reclaimer(const idle_reclaimer&) = delete;
    idle_reclaimer& operator=(const idle_reclaimer&) = delete;

    void start();
    void stop();
    // This server removed the topic: its leaving is not idleness.
    void removed(std::string_view topic);
    // Looks at every parent that is due now (all of them with force);
    // returns how many topics it reported.
    std::size_t pass(bool force = false);
    std::uint64_t reclaimed() const { return reclaimed_.load(); }

private:
    // The topics of one stream now; an error leaves the previous listing.
    result<std::set<std::string>> topics_of(const std::string& parent, int shard) const;
    // Of the topics that left, those no server has a consumer bound to.
    std::vector<std::string> unbound(std::vector<std::string> left);

    parts p_;
    std::chrono::milliseconds interval_;
    std::mutex pass_mu_;  // one pass at a time; guards known_ and due_
    std::map<std::string, std::set<std::string>> known_;  // stream -> its topics at the last listing
    std::map<std::string, std::chrono::steady_clock::time_point> due_;  // parent -> next listing
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    // Topics removed here, by parent, with when: kept until a listing of
    // their parent that began after the removal has been compared.
    std::map<std::string, std::map<std::string, std::chrono::steady_clock::time_point>, std::less<>> removed_;
    std::atomic<std::uint64_t> reclaimed_{0};
    std::thread thread_;
};

}  // namespace litemcp::store::jetstream
