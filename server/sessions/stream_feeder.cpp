#include "server/sessions/stream_feeder.h"

#include <spdlog/spdlog.h>

#include "server/sessions/interrupted_request.h"

namespace litemcp::server {

stream_feeder::stream_feeder(store::store& st, std::shared_ptr<transport::sse_stream> sse, options o)
    : store_(st), sse_(std::move(sse)), o_(std::move(o)), pos_(o_.from), changes_pos_(o_.changes_from) {}

std::shared_ptr<stream_feeder> stream_feeder::start(store::store& st, work_pool& pool,
                                                    std::shared_ptr<transport::sse_stream> sse, options o) {
    std::shared_ptr<stream_feeder> f(new stream_feeder(st, std::move(sse), std::move(o)));
    std::vector<std::string> topics{f->o_.session->topic};
    if (f->get_stream()) topics.emplace_back(changes_topic);
    std::weak_ptr<stream_feeder> weak = f;
    {
        // A first delivery may start on the pool before start() returns: it
        // waits for the follower here.
        std::lock_guard lock(f->mu_);
        f->follower_ = topic_follower::start(st, pool, "f.", topics, "session " + f->o_.session->id, [weak] {
            if (auto self = weak.lock()) self->deliver();
        });
    }
    // The stream owns its feeder until it ends: nothing else needs to keep a
    // resumed stream's feeder alive. The cycle (stream -> callback -> feeder
    // -> stream) is cut when the stream ends and drops the callback.
    f->sse_->on_closed([f] {
        if (f->stop(false))  // the stream ended before its feeder was done: the client left
            spdlog::debug("session {}: the client left its {} stream; it resumes with Last-Event-ID", f->o_.session->id,
                          f->get_stream() ? "GET" : "resumed");
    });
    return f;
}

std::string stream_feeder::event_id(std::uint64_t session_offset) const {
    if (get_stream()) return session_log::event_id({true, pos_, changes_pos_});
    return o_.tag + "-" + std::to_string(session_offset);
}

std::string stream_feeder::position_id() const {
    if (get_stream()) return session_log::event_id({true, pos_, changes_pos_});
    return o_.tag + "-" + std::to_string(pos_ == 0 ? 0 : pos_ - 1);
}

bool stream_feeder::drain_session(bool& final_seen) {
    bool sent = true;
    const auto outcome = follower_->read(o_.session->topic, pos_, [&](const store::record& rec) {
        if (rec.flags & (session_log::flag_client_request | session_log::flag_client_answer)) return true;
        auto e = session_log::decode(rec.payload);
        if (!session_log::on_stream(e.tag, rec.offset, o_.tag)) return true;
        if (rec.flags & session_log::flag_final) {
            if (!(rec.flags & session_log::flag_silent)) sent = sse_->send(event_id(rec.offset), e.body);
            final_seen = true;
            return false;
        }
        return sent = sse_->send(event_id(rec.offset), e.body);
    });
    // A topic that is gone: the session ended or expired.
    return sent && (outcome == follow_outcome::caught_up || outcome == follow_outcome::stopped);
}

bool stream_feeder::drain_changes() {
    bool sent = true;
    const auto outcome = follower_->read(changes_topic, changes_pos_, [&](const store::record& rec) {
        if (rec.flags & changes_flag_listen_only) return true;
        return sent = sse_->send(event_id(pos_), rec.payload);
    });
    return sent && outcome != follow_outcome::failed;  // gone: no change was ever recorded
}

void stream_feeder::deliver() {
    std::lock_guard lock(mu_);
    if (done_) return;
    bool final_seen = false;
    const auto pos_before = pos_, changes_before = changes_pos_;
    bool alive = drain_session(final_seen);

    if (alive && get_stream()) alive = drain_changes();
    if (alive && o_.persist_cursor) {
        if (pos_ != pos_before) (void)store_.set_cursor(o_.session->id + ".g", o_.session->topic, pos_);
        if (changes_pos_ != changes_before) (void)store_.set_cursor(o_.session->id + ".g", changes_topic, changes_pos_);
    }
    if (alive && !final_seen && !get_stream()) settle_request(alive, final_seen);
    if (!alive || final_seen) {
        done_ = true;
        follower_->stop();
        if (alive) sse_->close();
        else sse_->abort();
    }
}

void stream_feeder::settle_request(bool& alive, bool& final_seen) {
    // A resumed stream whose request is no longer executing here: it
    // finished (then one more read finds its final), it runs on another
    // server sharing the store (then its final wakes this feeder), or a
    // server stop interrupted it (then it is answered with an error now, and
    // read).
    const std::uint64_t request = std::stoull(o_.tag);
    if (o_.session->is_live(request)) return;
    alive = drain_session(final_seen);
    if (!alive || final_seen) return;
    if (o_.ask_live && elsewhere_ != elsewhere::not_live) {
        if (elsewhere_ == elsewhere::unknown) {
            elsewhere_ = elsewhere::asking;
            std::weak_ptr<stream_feeder> weak = shared_from_this();
            o_.ask_live(request, [weak](bool live) {
                if (auto self = weak.lock()) self->heard_liveness(live);
            });
        }
        return;  // asking, or live elsewhere: wait
    }
    switch (answer_interrupted(store_, *o_.session, request)) {
        case interruption_outcome::answered:
        case interruption_outcome::already_answered:
            alive = drain_session(final_seen);
            if (alive && !final_seen) final_seen = true;  // before this stream's start: nothing to send
            break;
        case interruption_outcome::live:  // its final is on the way and wakes this feeder
            break;
        case interruption_outcome::failed:
            final_seen = true;  // nothing more will come
            break;
    }
}

void stream_feeder::heard_liveness(bool live) {
    std::weak_ptr<stream_feeder> weak = shared_from_this();
    {
        std::lock_guard lock(mu_);
        if (done_) return;
        elsewhere_ = live ? elsewhere::live : elsewhere::not_live;
    }
    if (!live) {
        if (follower_) follower_->poke();  // answer it as interrupted, on the pool
        return;
    }
    // Running elsewhere: its final wakes this feeder. Should that server die
    // first, looking again later finds nobody running it.
    if (o_.later)
        o_.later([weak] {
            auto self = weak.lock();
            if (!self) return;
            {
                std::lock_guard lock(self->mu_);
                if (self->done_ || self->elsewhere_ != elsewhere::live) return;
                self->elsewhere_ = elsewhere::unknown;
            }
            if (self->follower_) self->follower_->poke();
        });
}

bool stream_feeder::stop(bool abort) {
    {
        std::lock_guard lock(mu_);
        if (done_) return false;
        done_ = true;
    }
    follower_->stop();
    if (abort) sse_->abort();
    else sse_->close();
    return true;
}

}  // namespace litemcp::server
