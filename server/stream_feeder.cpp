#include "server/stream_feeder.h"

#include <spdlog/spdlog.h>

#include "server/interrupted_request.h"

namespace litemcp::server {

stream_feeder::stream_feeder(store::store& st, work_pool& pool, std::shared_ptr<transport::sse_stream> sse,
                             options o)
    : store_(st), pool_(pool), sse_(std::move(sse)), o_(std::move(o)), consumer_("f." + random_id()),
      pos_(o_.from), changes_pos_(o_.changes_from) {}

std::shared_ptr<stream_feeder> stream_feeder::start(store::store& st, work_pool& pool,
                                                    std::shared_ptr<transport::sse_stream> sse, options o) {
    std::shared_ptr<stream_feeder> f(new stream_feeder(st, pool, std::move(sse), std::move(o)));
    std::weak_ptr<stream_feeder> weak = f;
    (void)st.add_consumer(f->consumer_, [weak] {
        if (auto self = weak.lock()) self->wake();
    });
    // The stream owns its feeder until it ends: nothing else needs to keep a
    // resumed stream's feeder alive. The cycle (stream -> callback -> feeder
    // -> stream) is cut when the stream ends and drops the callback.
    f->sse_->on_closed([f] { f->stop(false); });
    (void)st.bind(f->consumer_, f->o_.session->topic);
    if (f->get_stream()) (void)st.bind(f->consumer_, changes_topic);
    f->wake();  // deliver whatever is already there
    return f;
}

void stream_feeder::wake() {
    auto self = shared_from_this();
    if (!pool_.post([self] { self->deliver(); }))
        spdlog::warn("session {}: delivery queue full; stream {} waits for the next wake", o_.session->id, o_.tag);
}

std::string stream_feeder::event_id(std::uint64_t session_offset) const {
    if (get_stream()) return "g-" + std::to_string(pos_) + "-" + std::to_string(changes_pos_);
    return o_.tag + "-" + std::to_string(session_offset);
}

std::string stream_feeder::position_id() const {
    if (get_stream()) return "g-" + std::to_string(pos_) + "-" + std::to_string(changes_pos_);
    return o_.tag + "-" + std::to_string(pos_ == 0 ? 0 : pos_ - 1);
}

bool stream_feeder::drain_session(bool& final_seen) {
    for (;;) {
        auto r = store_.read(o_.session->topic, pos_, {256, 1u << 20});
        if (!r) {
            if (r.error().code != store::errc::not_found)
                spdlog::error("session {}: read failed: {}", o_.session->id, r.error().message);
            return false;  // the topic is gone: the session ended or expired
        }
        if (r->outcome == store::read_outcome::truncated) {
            spdlog::warn("session {}: stream {} lost offsets {}..{} to retention", o_.session->id, o_.tag, pos_,
                         r->first_offset - 1);
            pos_ = r->first_offset;
            continue;
        }
        for (auto& rec : r->records) {
            pos_ = rec.offset + 1;
            if (rec.flags & (session_log::flag_client_request | session_log::flag_client_answer)) continue;
            auto e = session_log::decode(rec.payload);
            if (!session_log::on_stream(e.tag, rec.offset, o_.tag)) continue;
            if (rec.flags & session_log::flag_final) {
                if (!(rec.flags & session_log::flag_silent) && !sse_->send(event_id(rec.offset), e.body)) return false;
                final_seen = true;
                return true;
            }
            if (!sse_->send(event_id(rec.offset), e.body)) return false;
        }
        if (r->records.size() < 256) return true;
    }
}

bool stream_feeder::drain_changes() {
    for (;;) {
        auto r = store_.read(changes_topic, changes_pos_, {256, 1u << 20});
        if (!r) return r.error().code == store::errc::not_found;  // no change yet
        if (r->outcome == store::read_outcome::truncated) {
            changes_pos_ = r->first_offset;
            continue;
        }
        for (auto& rec : r->records) {
            changes_pos_ = rec.offset + 1;
            if (rec.flags & changes_flag_listen_only) continue;
            if (!sse_->send(event_id(pos_), rec.payload)) return false;
        }
        if (r->records.size() < 256) return true;
    }
}

void stream_feeder::deliver() {
    std::lock_guard lock(mu_);
    if (done_) return;
    store_.take_ready(consumer_);
    bool final_seen = false;
    const auto pos_before = pos_, changes_before = changes_pos_;
    bool alive = drain_session(final_seen);

    if (alive && get_stream()) alive = drain_changes();
    if (alive && o_.persist_cursor) {
        if (pos_ != pos_before) (void)store_.set_cursor(o_.session->id + ".g", o_.session->topic, pos_);
        if (changes_pos_ != changes_before) (void)store_.set_cursor(o_.session->id + ".g", changes_topic, changes_pos_);
    }
    if (alive && !final_seen && !get_stream()) {
        // A resumed stream whose request is no longer executing here: it
        // finished (then one more read finds its final), or a server stop
        // interrupted it (then it is answered with an error now, and read).
        const std::uint64_t request = std::stoull(o_.tag);
        if (!o_.session->is_live(request)) {
            alive = drain_session(final_seen);
            if (alive && !final_seen) {
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
        }
    }
    if (!alive || final_seen) {
        done_ = true;
        store_.remove_consumer(consumer_);
        if (alive) sse_->close();
        else sse_->abort();
    }
}

void stream_feeder::stop(bool abort) {
    {
        std::lock_guard lock(mu_);
        if (done_) return;
        done_ = true;
    }
    store_.remove_consumer(consumer_);
    if (abort) sse_->abort();
    else sse_->close();
}

}  // namespace litemcp::server
