// Feeds one SSE stream from the store: the records of one stream of a
// session's topic (and, for the standalone GET stream, the shared change log
// mcp.changes/all), woken by the store's ready set -- never by polling.
//
// Event ids: a POST stream's event at offset o is "<n>-<o>" (n = the offset of
// the request that opened the stream); resuming after it reads from o + 1. The
// GET stream's events are "g-<s>-<c>": the next session and change-log
// offsets after that event. Either way an id maps straight to an index seek.
//
// Threading: a topic_follower wakes it; delivery runs on the delivery pool,
// one at a time per feeder. stop()
// may be called from any thread. Lifetime: shared; it ends when its stream
// ends (final record, client gone, takeover, session end).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/sessions/session.h"
#include "server/sessions/session_log.h"
#include "server/streams/change_log.h"
#include "server/streams/topic_follower.h"
#include "server/util/work_pool.h"
#include "store/store.h"
#include "transport/sse_stream.h"

namespace litemcp::server {


class stream_feeder : public std::enable_shared_from_this<stream_feeder> {
public:
    struct options {
        std::shared_ptr<session_state> session;
        std::string tag;              // "g" or the request offset
        std::uint64_t from = 0;       // next session-topic offset to look at
        std::uint64_t changes_from = 0;  // GET stream: next change-log offset
        bool persist_cursor = false;  // GET stream: keep positions as the broker-held cursor
        // Servers sharing the store (resumed POST streams): whether another
        // server still runs request r (the answer comes on any thread), and
        // a way to look again later. Unset: only this server runs requests.
        std::function<void(std::uint64_t r, std::function<void(bool live)>)> ask_live;
        std::function<void(std::function<void()>)> later;
    };

    static std::shared_ptr<stream_feeder> start(store::store& st, work_pool& pool,
                                                std::shared_ptr<transport::sse_stream> sse, options o);
    // Ends the feeding; closes the SSE stream (abort: drop the connection).
    // Returns false when it had stopped already.
    bool stop(bool abort);
    // The first event to send (priming), with the id for the current position.
    std::string position_id() const;
    bool get_stream() const { return o_.tag == session_log::get_stream; }

private:
    stream_feeder(store::store& st, std::shared_ptr<transport::sse_stream> sse, options o);
    void deliver();
    // The request of a resumed stream is not running here and has no final
    // record: asks the other servers, or answers it as interrupted. Under mu_;
    // returns true when the stream ends.
    void settle_request(bool& alive, bool& final_seen);
    void heard_liveness(bool live);
    // Reads the session topic from pos_; returns false when the stream must end.
    bool drain_session(bool& final_seen);
    bool drain_changes();
    std::string event_id(std::uint64_t session_offset) const;

    store::store& store_;
    std::shared_ptr<transport::sse_stream> sse_;
    options o_;
    std::shared_ptr<topic_follower> follower_;  // set in start(), under mu_
    std::mutex mu_;
    std::uint64_t pos_;
    std::uint64_t changes_pos_;
    bool done_ = false;
    enum class elsewhere { unknown, asking, live, not_live } elsewhere_ = elsewhere::unknown;
};

}  // namespace litemcp::server
