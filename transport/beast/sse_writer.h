// Private to transport/: the SSE writer of one connection (connection.h),
// the sse_stream a responder's start_sse() returns. Frames are queued
// within the stream's bound (--sse-queue-bytes) and the server's
// (--max-buffered-bytes: a stream stalled on its client is dropped to make
// room), and everything queued goes out in one write between the chunk's
// framing, the response header with the first events. A stream that stays
// open watches for its client leaving (plain HTTP: a read pending on the
// socket; a half-close is probed with comments) and sends keep-alive
// comments. finish() ends it: the connection serves its next request, or
// closes.
//
// Threading: send*(), close(), abort() and on_closed() from any thread
// (they are posted to the connection's strand, and take effect in the order
// they were called); the rest runs on the strand.
// Lifetime: shared by the responder's holder and the connection (its
// sse_), until finish().
#pragma once

#include "transport/beast/common.h"
#include "transport/beast/server_impl.h"
#include "transport/beast/wire_format.h"

namespace litemcp::transport {

template <class Derived>
class connection;

template <class Derived>
class sse_writer : public sse_stream, public std::enable_shared_from_this<sse_writer<Derived>> {
public:
    explicit sse_writer(std::shared_ptr<Derived> c) : conn_(std::move(c)) {}
    ~sse_writer() override {
        if (auto q = queued_.load()) conn_->srv_->budget.give_back(q);  // (finish gives them back)
    }

    bool send(std::string_view id, std::string_view data) override { return enqueue(frame_event(id, data)); }
    bool send_last(std::string_view id, std::string_view data) override {
        return enqueue(frame_event(id, data), true);
    }
    bool send_priming(std::string_view id, std::chrono::milliseconds retry) override {
        return enqueue(frame_priming(id, retry));
    }
    bool send_retry(std::chrono::milliseconds delay) override {
        return enqueue("retry: " + std::to_string(delay.count()) + "\n\n");
    }
    void close() override {
        net::post(conn_->executor(), [self = this->shared_from_this()] {
            if (self->ended_) return;
            self->closing_ = true;
            self->pump_soon();
        });
    }
    void abort() override {
        net::post(conn_->executor(), [self = this->shared_from_this()] { self->finish(false); });
    }
    bool is_open() const override { return !ended_flag_.load(); }
    void on_closed(std::function<void()> f) override {
        std::unique_lock lock(cb_mu_);
        if (ended_flag_) {
            lock.unlock();
            f();
            return;
        }
        on_closed_ = std::move(f);
    }

    // The response header is written together with the first events (and,
    // for a stream that is complete by then, its last chunk): a short
    // POST stream costs one write.
    void begin(header_list extra) {
        head_.clear();
        append_sse_head(head_, extra, conn_->keep_alive_);
        begun_ = true;
        conn_->state_ = connection<Derived>::state::streaming;
        conn_->srv_->streams++;
        counted_ = true;
        // The first events are usually on their way (a priming event
        // queued right after start_sse()): a pump posted behind them
        // writes them with the header.
        pump_soon();
    }

private:
    // last: the stream ends after this frame (send_last).
    bool enqueue(std::string frame, bool last = false) {
        if (ended_flag_) return false;
        const auto n = frame.size();
        auto& srv = *conn_->srv_;
        if (queued_ + n > srv.opts.sse_queue_bytes) {
            spdlog::warn("transport: SSE stream to {} dropped: {} bytes unwritten", conn_->peer_, queued_.load());
            abort();
            return false;
        }
        if (!srv.budget.try_take(n, queued_ + n)) {
            // At --max-buffered-bytes: streams stalled on their clients
            // make room, or this one goes (its client resumes).
            if (!srv.drop_stalled(n, conn_->id_)) {
                srv.budget.drops++;
                srv.log_over_budget();
                spdlog::debug("transport: SSE stream to {} dropped at --max-buffered-bytes", conn_->peer_);
                abort();
                return false;
            }
            srv.budget.take(n);  // the dropped streams give theirs back as they end
        }
        add_queued(n);
        // post, never dispatch, here and in close(): the frames and the end
        // take effect in the order they were called, whichever threads call.
        // (A dispatch from a handler of another connection that runs on the
        // same I/O thread -- a store commit's callbacks -- queued its frame
        // at once, ahead of a priming event posted before it.)
        net::post(conn_->executor(), [self = this->shared_from_this(), f = std::move(frame), last]() mutable {
            if (self->ended_) return self->release(f.size());
            self->queue_.push_back(std::move(f));
            if (last) self->closing_ = true;
            self->pump_soon();
        });
        return true;
    }

    // queued_ bytes are counted in the server's budget too.
    void add_queued(std::size_t n) { conn_->stream_held.store(queued_ += n, std::memory_order_relaxed); }
    void release(std::size_t n) {
        conn_->stream_held.store(queued_ -= n, std::memory_order_relaxed);
        conn_->srv_->budget.give_back(n);
    }

    // A comment: keeps proxies from closing an idle stream, and finds a
    // client that has gone (its reset fails the next write).
    void send_comment() {
        if (!queue_.empty() || writing_) return;
        conn_->srv_->budget.take(3);
        add_queued(3);
        queue_.push_back(":\n\n");
        pump();
    }

    // One write: the frames themselves between the chunk's framing, not
    // a copy of them (a stream may hold megabytes).
    struct batch {
        std::string head, tail;  // response header and chunk size; chunk end and last chunk
        std::vector<std::string> frames;
        std::vector<net::const_buffer> buffers;
    };

    // Frames posted together go out in one write: the pump runs after them.
    // (Before begin() nothing is written: begin() asks for the first pump;
    // during a write, its end pumps.) On the connection's executor.
    void pump_soon() {
        if (pump_posted_ || writing_ || !begun_) return;
        pump_posted_ = true;
        net::post(conn_->executor(), [self = this->shared_from_this()] {
            self->pump_posted_ = false;
            self->pump();
        });
    }

    void pump() {
        if (writing_ || ended_ || !begun_) return;
        // Everything queued goes out in one write: one syscall per wake-up.
        auto out = std::make_shared<batch>();
        out->head = std::move(head_);
        head_.clear();
        std::size_t data = 0;
        for (auto& f : queue_) data += f.size();
        if (data > 0) {
            append_chunk_size(out->head, data);
            out->frames.swap(queue_);
            out->tail = "\r\n";
        }
        const bool last = closing_;
        if (last) out->tail.append("0\r\n\r\n");
        if (out->head.empty() && out->tail.empty()) return;
        out->buffers.reserve(out->frames.size() + 2);
        out->buffers.push_back(net::buffer(out->head));
        for (auto& f : out->frames) out->buffers.push_back(net::buffer(f));
        out->buffers.push_back(net::buffer(out->tail));
        writing_ = true;
        conn_->stream_write_since.store(
            std::chrono::steady_clock::now().time_since_epoch() / std::chrono::nanoseconds(1),
            std::memory_order_relaxed);
        net::async_write(conn_->derived().stream(), out->buffers,
                         [self = this->shared_from_this(), out, data, last](beast::error_code ec, std::size_t) {
                             self->writing_ = false;
                             self->conn_->stream_write_since.store(0, std::memory_order_relaxed);
                             self->release(data);
                             if (ec) return self->finish(false);
                             if (last) return self->finish(true);
                             // A stream that stays open watches for its
                             // client leaving and sends keep-alives.
                             if (!self->watched_) {
                                 self->watched_ = true;
                                 self->watch_peer();
                                 self->arm_keepalive();
                             }
                             self->pump();
                         });
    }

    // A read pending on the socket tells us when the client goes away.
    void watch_peer() {
        if constexpr (Derived::secure) return;  // TLS streams end with the connection
        else
            conn_->derived().stream().async_read_some(
                net::buffer(probe_), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                    self->watching_ = false;
                    // Bytes here are the start of the client's next request
                    // (it may send it the moment the last chunk arrives):
                    // keep them for the parser.
                    const bool data = !ec && n > 0;
                    if (data) {
                        auto& buf = self->conn_->buffer_;
                        buf.commit(net::buffer_copy(buf.prepare(n), net::buffer(self->probe_, n)));
                    }
                    if (self->ended_) {
                        if (self->reuse_) self->conn_->do_read();
                        return;
                    }
                    if (data) return;  // finish() goes on reading once the stream ends
                    if (ec == net::error::eof && self->conn_->answer_after_eof_) {
                        // A half-close, or a client gone without a reset:
                        // the answer goes on (no keep-alive after it) and
                        // is probed with a comment now, in 100 ms and
                        // every second: a client that has gone resets the
                        // connection, and the next write fails.
                        self->half_closed_ = true;
                        self->conn_->keep_alive_ = false;
                        self->send_comment();
                        self->arm_keepalive(std::chrono::milliseconds(100));
                        return;
                    }
                    self->finish(false);  // a reset: the client is gone
                });
        watching_ = true;
    }

    void arm_keepalive(std::chrono::milliseconds first = {}) {
        auto every = half_closed_ ? std::chrono::milliseconds(1000) : conn_->srv_->opts.sse_keepalive;
        if (first.count() > 0) every = first;
        if (every.count() <= 0) return;
        // Made on first use: most POST streams end before they need one.
        if (!timer_) timer_.emplace(conn_->executor());
        timer_->expires_after(every);
        timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (ec || self->ended_) return;
            self->send_comment();
            self->arm_keepalive();
        });
    }

    // clean: the terminating chunk was written and the connection may serve
    // the next request.
    void finish(bool clean) {
        if (ended_) return;
        ended_ = true;
        ended_flag_ = true;
        if (timer_) timer_->cancel();
        std::size_t unsent = 0;  // (a write in flight gives its bytes back as it ends)
        for (auto& f : queue_) unsent += f.size();
        queue_.clear();
        release(unsent);
        if (counted_) conn_->srv_->streams--;
        conn_->sse_.reset();
        std::function<void()> cb;
        {
            std::lock_guard lock(cb_mu_);
            cb = std::move(on_closed_);
        }
        if (cb) cb();
        const bool keep = clean && conn_->keep_alive_ && !Derived::secure && !conn_->srv_->stopping;
        if (!keep) return conn_->do_close();
        if (watching_) {
            reuse_ = true;
            conn_->derived().socket().cancel();
        } else {
            conn_->do_read();
        }
    }

    std::shared_ptr<Derived> conn_;
    std::optional<net::steady_timer> timer_;
    std::vector<std::string> queue_;  // an empty deque would cost two allocations per stream
    std::atomic<std::size_t> queued_{0};
    bool writing_ = false, closing_ = false, ended_ = false, watching_ = false, reuse_ = false, counted_ = false,
         begun_ = false, watched_ = false, half_closed_ = false, pump_posted_ = false;
    std::string head_;  // the response header until it is written
    std::atomic<bool> ended_flag_{false};
    std::mutex cb_mu_;
    std::function<void()> on_closed_;
    char probe_[1];
};

}  // namespace litemcp::transport
