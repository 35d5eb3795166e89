// Private to transport/: one HTTP connection, plain or TLS through one CRTP
// template (as in Beast's advanced_server_flex example): reading requests,
// writing responses (an event stream through sse_writer.h), keep-alive,
// timeouts and watching for the peer to close. The plain and TLS kinds:
// connection_kinds.h.
#pragma once

#include "transport/beast/common.h"
#include "transport/beast/request_reader.h"
#include "transport/beast/server_impl.h"
#include "transport/beast/sse_writer.h"
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

    // ---- SSE (sse_writer.h) -------------------------------------------------

    using sse_impl = sse_writer<Derived>;
    template <class>
    friend class sse_writer;

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
