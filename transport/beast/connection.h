// Private to transport/: one HTTP connection, plain or TLS through one CRTP
// template (as in Beast's advanced_server_flex example): reading requests,
// writing responses, the SSE writer with its bounded queue, keep-alive,
// timeouts and watching for the peer to close. The plain and TLS kinds:
// connection_kinds.h.
#pragma once

#include "transport/beast/common.h"
#include "transport/beast/request_reader.h"
#include "transport/beast/server_impl.h"
#include "transport/beast/wire_format.h"

namespace litemcp::transport {

template <class Derived>
class connection : public connection_base, public std::enable_shared_from_this<Derived> {
public:
    connection(http_server::impl* srv, std::uint64_t id, std::string peer)
        : srv_(srv), id_(id), peer_(std::move(peer)), buffer_charge_(&srv->budget) {}
    ~connection() override {
        srv_->connections--;
        srv_->forget(id_);
    }

    Derived& derived() { return static_cast<Derived&>(*this); }
    auto executor() { return derived().socket().get_executor(); }

    // A request is read with plain reads into buffer_ and parsed there: one
    // read for a request that arrives whole, no composed operations and no
    // second read for the body. Bytes already in buffer_ (the start of the
    // next request, kept by a probe read) are parsed first.
    void do_read() {
        if (srv_->stopping) return do_close();
        state_ = state::reading;
        parser_.emplace();
        parser_->eager(true);  // the body too, in the same put()
        parser_->limit_body(srv_->opts.max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(srv_->opts.max_header_bytes));
        parser_->charge = buffer_charge(&srv_->budget);
        fit_buffer();
        // The deadline holds for every read until the header is in (a client
        // trickling bytes cannot extend it), then the body has its own.
        derived().expire_after(srv_->opts.idle_timeout);
        parse_buffered();
    }

    void parse_buffered() {
        while (buffer_.size() > 0 && !parser_->is_done()) {
            // Beast 1.81 asserts (basic_parser.ipp:702) when, after seeing a
            // final chunk, it is given fewer than 5 bytes again ("0\r\n\r"
            // in pieces). No chunked body ends in fewer than 5 bytes from
            // where Beast stops ("0\r\n\r\n"): read more first.
            if (parser_->is_header_done() && parser_->chunked() && buffer_.size() < 5) break;
            beast::error_code ec;
            const bool header_was_done = parser_->is_header_done();
            const auto used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec && ec != http::error::need_more) return on_read(ec);
            if (!header_was_done && parser_->is_header_done()) {
                state_ = state::receiving;
                if (!parser_->is_done())
                    derived().expire_after(srv_->opts.request_timeout);
            }
            if (ec == http::error::need_more || used == 0) break;
        }
        if (parser_->is_done()) return on_read({});
        // The parser's header and body limits stop a request long before
        // buffer_ could reach its (unbounded) maximum, so read_size is never 0.
        // Waiting for a request with nothing of it yet: a connection that
        // reclaim_idle may close when new ones need the room.
        if (state_ == state::reading && buffer_.size() == 0 && !parser_->got_some()) {
            if (idle_since.load(std::memory_order_relaxed) == 0)
                idle_since.store(std::chrono::steady_clock::now().time_since_epoch() / std::chrono::nanoseconds(1),
                                 std::memory_order_relaxed);
        } else {
            idle_since.store(0, std::memory_order_relaxed);
        }
        auto space = buffer_.prepare(beast::read_size(buffer_, 65536));
        if (buffer_.capacity() > small_buffer && !buffer_charge_.grow_to(buffer_.capacity()))
            return refuse_over_budget();
        derived().stream().async_read_some(space,
                                           beast::bind_front_handler(&connection::on_bytes, this->shared_from_this()));
    }

    // An idle connection keeps no more than a small read buffer (a header
    // of several kilobytes, or a body read through it, grew it).
    void fit_buffer() {
        if (buffer_.size() == 0 && buffer_.capacity() > small_buffer) buffer_.shrink_to_fit();
        buffer_charge_.shrink_to(buffer_.capacity() > small_buffer ? buffer_.capacity() : 0);
    }

    void refuse_over_budget() {
        srv_->budget.refusals++;
        srv_->log_over_budget();
        auto r = srv_->error(503, "the server holds --max-buffered-bytes for its clients; retry later");
        r.headers.set("Retry-After", "1");
        keep_alive_ = false;
        linger_ = true;
        write_response(std::move(r));
    }

    void on_bytes(beast::error_code ec, std::size_t n) {
        if (state_ == state::closed) return;  // closed meanwhile (reclaimed, a deadline): nothing more is read
        idle_since.store(0, std::memory_order_relaxed);
        if (ec == net::error::eof || ec == ssl::error::stream_truncated) {
            // Nothing of a request yet: the client is done with the connection.
            if (!parser_->got_some() && buffer_.size() == 0) return do_close();
            return on_read(http::error::partial_message);
        }
        if (ec) return on_read(ec);
        buffer_.commit(n);
        parse_buffered();
    }

    void on_read(beast::error_code ec) {
        if (parser_->over_budget) return refuse_over_budget();
        if (ec == http::error::body_limit)
            return fail_request(413, "request body exceeds " + std::to_string(srv_->opts.max_body_bytes) + " bytes");
        if (ec == http::error::header_limit)
            return fail_request(431, "request headers exceed " + std::to_string(srv_->opts.max_header_bytes) + " bytes");
        if (ec == net::error::operation_aborted || ec == beast::error::timeout) return do_close();
        if (ec == http::error::bad_transfer_encoding && !parser_->unsupported_coding.empty())
            return fail_request(501, "transfer coding '" + parser_->unsupported_coding.substr(0, 64) +
                                         "' is not implemented (only chunked)");
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::bad_version).category())
                return fail_request(400, "malformed HTTP request: " + ec.message());
            return do_close();
        }
        http_request req = std::move(parser_->req);
        auto q = req.target.find('?');
        req.path = req.target.substr(0, q);
        if (q != std::string::npos) req.query = req.target.substr(q + 1);
        req.peer = peer_;
        req.secure = Derived::secure;
        keep_alive_ = parser_->keep_alive();
        // A POST's answer is owed even to a client that half-closes after
        // sending it; a GET stream is the client's to end.
        answer_after_eof_ = req.method == "POST";
        state_ = state::handling;
        srv_->requests++;
        derived().expire_never();
        srv_->handler(std::move(req),
                      std::make_shared<responder_impl>(this->shared_from_this(), std::move(parser_->charge)));
    }

    // The rest of the request may still be on its way: the close lingers
    // so the client reads the answer rather than a reset.
    void fail_request(unsigned status, std::string message) {
        keep_alive_ = false;
        linger_ = true;
        write_response(srv_->error(status, std::move(message)));
    }

    // The status line, the headers and the body in one buffer: one write,
    // and none of Beast's per-field allocations.
    void write_response(http_response r) {
        const bool keep = keep_alive_ && !srv_->stopping;
        std::string out;
        out.reserve(128 + r.body.size());
        const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
        out.append("HTTP/1.1 "sv).append(std::to_string(r.status)).append(" "sv).append(reason.data(), reason.size());
        out.append("\r\n"sv);
        for (auto& [n, v] : r.headers.all()) append_header(out, n, v);
        if (!keep) out.append("Connection: close\r\n"sv);
        // No body and no length for 1xx, 204 and 304 (RFC 9110 8.6).
        const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
        if (!bodiless) out.append("Content-Length: "sv).append(std::to_string(r.body.size())).append("\r\n"sv);
        out.append("\r\n"sv);
        if (!bodiless) out.append(r.body);
        write_bytes(std::move(out), keep);
    }

    // respond_events: the SSE header, the events and the last chunk.
    void write_events(const header_list& extra, const std::vector<sse_event>& events) {
        const bool keep = keep_alive_ && !srv_->stopping;
        // Sized up front: no string grows while it is written.
        std::size_t framed = 0;
        for (auto& e : events) framed += e.id.size() + e.data.size() + 32;
        std::string data;
        data.reserve(framed);
        for (auto& e : events) {
            if (e.priming) append_priming(data, e.id, e.retry);
            else append_event(data, e.id, e.data);
        }
        std::size_t head = 160;
        for (auto& [n, v] : extra.all()) head += n.size() + v.size() + 4;
        std::string out;
        out.reserve(head + data.size() + 32);
        append_sse_head(out, extra, keep);
        append_chunk(out, data);
        out.append("0\r\n\r\n"sv);
        write_bytes(std::move(out), keep);
    }

    // Writes a whole response; then reads the next request, or closes.
    void write_bytes(std::string bytes, bool keep) {
        state_ = state::writing;
        if (!unsent_interim_.empty()) bytes.insert(0, std::exchange(unsent_interim_, {}));
        std::size_t sent = 0;
        if constexpr (!Derived::secure) {
            // Most answers fit in the socket's send buffer: written here (the
            // socket is non-blocking), without an asynchronous operation, its
            // deadline and its completion handler.
            beast::error_code ec;
            sent = derived().socket().write_some(net::buffer(bytes), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) {
                ec = {};
                sent = 0;
            }
            if (ec) return do_close();
            if (sent == bytes.size()) return after_write(keep);
        }
        // The rest as the client reads it, within the request timeout. It
        // counts against --max-buffered-bytes but is never refused: the
        // request has run.
        auto out = std::make_shared<std::string>(std::move(bytes));
        const auto held = out->size() - sent;
        srv_->budget.take(held);
        derived().expire_after(srv_->opts.request_timeout);
        net::async_write(derived().stream(), net::buffer(*out) + sent,
                         [self = this->shared_from_this(), out, keep, held](beast::error_code ec, std::size_t) {
                             self->srv_->budget.give_back(held);
                             if (ec) return self->do_close();
                             self->after_write(keep);
                         });
    }

    void after_write(bool keep) {
        if (!keep) return do_close();
        if (close_watch_) {  // its read completes, then reading goes on
            close_cb_ = nullptr;
            read_after_watch_ = true;
            derived().socket().cancel();
            return;
        }
        // From a handler of its own: not on top of this one's stack (with a
        // pipelined request in the buffer), and after the handlers queued
        // meanwhile, so the client's next request has had time to arrive and
        // the first read finds it instead of waiting for the reactor.
        net::post(executor(), [self = this->shared_from_this()] { self->do_read(); });
    }

    // responder::on_disconnect, on the strand: a read pending while the
    // request is handled tells whether the client left.
    void watch_close(std::function<void()> f) {
        if constexpr (Derived::secure) return;  // TLS connections end with their stream
        else {
            if (state_ != state::handling || close_watch_) return;
            close_cb_ = std::move(f);
            close_watch_ = true;
            derived().stream().async_read_some(
                net::buffer(close_probe_), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                    self->close_watch_ = false;
                    if (!ec && n > 0) {  // the start of the next request: keep it for the parser
                        auto& buf = self->buffer_;
                        buf.commit(net::buffer_copy(buf.prepare(n), net::buffer(self->close_probe_, n)));
                    }
                    auto cb = std::move(self->close_cb_);
                    self->close_cb_ = nullptr;
                    if (std::exchange(self->read_after_watch_, false)) return self->do_read();
                    if (ec == net::error::eof && self->answer_after_eof_ && self->state_ == state::handling) {
                        // A FIN: a half-close (shutdown(SHUT_WR) after the
                        // request, legal in HTTP/1.1) or a client gone. Only
                        // a write tells them apart: see probe_client.
                        self->keep_alive_ = false;
                        self->gone_cb_ = std::move(cb);
                        return self->probe_client(0);
                    }
                    if (ec && ec != net::error::operation_aborted && self->state_ == state::handling && cb)
                        cb();  // a reset before the answer: the client is gone
                });
        }
    }

    // After a FIN while a request is handled: an interim "100 Continue"
    // (which HTTP/1.1 clients must accept and skip before the final answer,
    // RFC 9110 15.2) now, in 100 ms and then every second. A client that
    // only half-closed reads on, and gets its answer, then the close; one
    // that has gone answers the first with a reset, and the next write fails:
    // then it is treated as gone (the request is cancelled).
    void probe_client(int round) {
        if constexpr (!Derived::secure) {
            if (state_ != state::handling) {  // answered meanwhile
                gone_cb_ = nullptr;
                return;
            }
            static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
            beast::error_code ec;
            const auto n = derived().socket().write_some(net::buffer(interim.data(), interim.size()), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) return;  // unread: not probed further
            if (ec) {
                if (auto cb = std::exchange(gone_cb_, nullptr)) cb();
                return;
            }
            if (n < interim.size()) {  // (a full send buffer) written before the answer; no more probes
                unsent_interim_.assign(interim.substr(n));
                return;
            }
            if (!probe_timer_) probe_timer_.emplace(executor());
            probe_timer_->expires_after(round == 0 ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000));
            probe_timer_->async_wait([self = this->shared_from_this(), round](beast::error_code e) {
                if (!e) self->probe_client(round + 1);
            });
        }
    }

    void do_close() {
        if (state_ == state::closed) return;
        state_ = state::closed;
        buffer_charge_.release();
        if (parser_) {  // a refused request's body: not held through the lingering close
            parser_->charge.release();
            std::string().swap(parser_->req.body);
        }
        if (probe_timer_) probe_timer_->cancel();
        gone_cb_ = nullptr;
        derived().close_transport();
    }

    void reclaim() override {
        net::post(executor(), [self = this->shared_from_this()] {
            if (self->state_ == state::reading && self->parser_ && self->buffer_.size() == 0 &&
                !self->parser_->got_some())
                self->do_close();  // (a request that began meanwhile goes on)
        });
    }

    void drop_stream() override {
        net::post(executor(), [self = this->shared_from_this()] {
            if (self->sse_) self->sse_->abort();
        });
    }

    void shutdown() override {
        net::post(executor(), [self = this->shared_from_this()] {
            if (self->state_ == state::reading) return self->do_close();
            if (self->sse_) {
                self->sse_->send_retry(self->srv_->opts.shutdown_retry);
                self->sse_->close();
            }
        });
    }

    // ---- SSE ---------------------------------------------------------------

    class sse_impl : public sse_stream, public std::enable_shared_from_this<sse_impl> {
    public:
        explicit sse_impl(std::shared_ptr<Derived> c) : conn_(std::move(c)) {}
        ~sse_impl() override {
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
            net::dispatch(conn_->executor(), [self = this->shared_from_this()] {
                if (self->ended_) return;
                self->closing_ = true;
                self->pump();
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
            conn_->state_ = state::streaming;
            conn_->srv_->streams++;
            counted_ = true;
            // The first events are usually on their way (a priming event
            // queued right after start_sse()): a pump posted behind them
            // writes them with the header.
            net::post(conn_->executor(), [self = this->shared_from_this()] { self->pump(); });
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
            // dispatch: on the strand already (a shutdown writing retry: before
            // its close) the frame is queued at once, so it precedes the close.
            net::dispatch(conn_->executor(), [self = this->shared_from_this(), f = std::move(frame), last]() mutable {
                if (self->ended_) return self->release(f.size());
                self->queue_.push_back(std::move(f));
                if (last) self->closing_ = true;
                self->pump();
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
             begun_ = false, watched_ = false, half_closed_ = false;
        std::string head_;  // the response header until it is written
        std::atomic<bool> ended_flag_{false};
        std::mutex cb_mu_;
        std::function<void()> on_closed_;
        char probe_[1];
    };

    class responder_impl : public responder {
    public:
        // body: the request body's share of --max-buffered-bytes, held
        // until the answer is under way.
        responder_impl(std::shared_ptr<Derived> c, buffer_charge body) : conn_(std::move(c)), body_(std::move(body)) {}
        ~responder_impl() override {
            if (!used_.exchange(true)) {
                // A handler that dropped its responder still owes an answer.
                net::post(conn_->executor(), [c = conn_] {
                    c->write_response(c->srv_->error(500, "the request was not answered"));
                });
            }
        }
        // dispatch: called on the connection's strand (the handler, or a
        // continuation it posted), the answer is written at once.
        void respond(http_response r) override {
            if (used_.exchange(true)) return;
            body_.release();
            net::dispatch(conn_->executor(),
                          [c = conn_, r = std::move(r)]() mutable { c->write_response(std::move(r)); });
        }
        void respond_events(header_list extra, std::vector<sse_event> events) override {
            if (used_.exchange(true)) return;
            body_.release();
            net::dispatch(conn_->executor(), [c = conn_, extra = std::move(extra), events = std::move(events)] {
                c->write_events(extra, events);
            });
        }
        void post(std::function<void()> f) override { net::post(conn_->executor(), std::move(f)); }
        void on_disconnect(std::function<void()> f) override {
            net::post(conn_->executor(), [c = conn_, f = std::move(f)]() mutable { c->watch_close(std::move(f)); });
        }
        std::shared_ptr<sse_stream> start_sse(header_list extra) override {
            auto s = std::make_shared<sse_impl>(conn_);
            if (used_.exchange(true)) {
                s->abort();
                return s;
            }
            body_.release();
            net::post(conn_->executor(), [c = conn_, s, extra = std::move(extra)]() mutable {
                c->sse_ = s;
                s->begin(std::move(extra));
            });
            return s;
        }

    private:
        std::shared_ptr<Derived> conn_;
        buffer_charge body_;
        std::atomic<bool> used_{false};
    };

protected:
    enum class state { reading, receiving, handling, writing, streaming, closed };
    // A read buffer up to this size is not counted in --max-buffered-bytes.
    static constexpr std::size_t small_buffer = 4096;
    http_server::impl* srv_;
    std::uint64_t id_;
    std::string peer_;
    beast::flat_buffer buffer_;
    buffer_charge buffer_charge_;  // buffer_ above small_buffer
    std::optional<request_reader> parser_;
    bool keep_alive_ = false;
    bool answer_after_eof_ = false;  // the request is a POST: see on_read
    // The request was refused before all of it was read: the close lingers.
    bool linger_ = false;
    state state_ = state::reading;
    std::shared_ptr<sse_impl> sse_;
    // responder::on_disconnect: a read pending while a request is handled.
    bool close_watch_ = false, read_after_watch_ = false;
    std::function<void()> close_cb_;
    // After a FIN while handling (probe_client): what cancels the request
    // if the client proves gone, the timer of the next probe, and the rest
    // of a probe the socket did not take, written before the answer.
    std::function<void()> gone_cb_;
    std::optional<net::steady_timer> probe_timer_;
    std::string unsent_interim_;
    char close_probe_[1];
};

}  // namespace litemcp::transport
