// Replies awaited on one inbox: each request gets a reply subject of its own
// ("<inbox>.<id>"), its callback runs once with the first reply, or with an
// error when none came before its deadline. The appends' acknowledgements
// (publisher.h) and the questions between servers (signals.h) both wait this
// way, without a thread per request.
//
// Bounds: at most max_pending outstanding; a caller beyond that waits for room.
//
// Threading: expect() from any thread; callbacks run on a libnats delivery
// thread or on the deadline thread, never under the lock. Lifetime: stop()
// (or the destructor) fails every outstanding request with errc::closed and
// joins the deadline thread; it runs before the link closes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "store/jetstream/nats_link.h"

namespace litemcp::store::jetstream {

class pending_replies {
public:
    using clock = std::chrono::steady_clock;
    // The reply, or the error; and how long it took.
    using reply_fn = std::function<void(result<msg_ptr> reply, clock::duration waited)>;

    // timeout_message: the error's text when no reply came in time.
    pending_replies(nats_link& link, std::size_t max_pending, std::string timeout_message);
    ~pending_replies();
    pending_replies(const pending_replies&) = delete;
    pending_replies& operator=(const pending_replies&) = delete;

    result<void> start();
    void stop();

    // Registers a request; returns the reply subject to send it with, or
    // nullopt when stopping (then done already ran with errc::closed).
    std::optional<std::string> expect(std::chrono::milliseconds wait, reply_fn done);
    // Fails a registered request at once (its send failed).
    void fail(const std::string& reply_subject, error e);

    std::size_t outstanding() const;

private:
    struct entry {
        reply_fn done;
        clock::time_point sent, deadline;
    };
    static void on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* self);
    void complete(std::uint64_t id, result<msg_ptr> r);
    void run_deadlines();

    nats_link& link_;
    const std::size_t max_pending_;
    const std::string timeout_message_;
    std::string inbox_;
    natsSubscription* sub_ = nullptr;

    mutable std::mutex mu_;
    std::condition_variable room_cv_, deadline_cv_;
    std::map<std::uint64_t, entry> pending_;
    std::set<std::pair<clock::time_point, std::uint64_t>> deadlines_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    std::thread deadline_thread_;
};

}  // namespace litemcp::store::jetstream
