// Boost.Beast implementation of transport/http_server.h: the listener, the
// connections (plain and TLS through one CRTP template, as in Beast's
// advanced_server_flex example) and the SSE writer. The only translation
// unit of transport/ that includes Beast.
#include "transport/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace litemcp::transport {

using namespace std::string_view_literals;  // literals appended without strlen

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

http_response default_error(unsigned status, std::string message) {
    http_response r;
    r.status = status;
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    r.body = std::move(message) + "\n";
    return r;
}

// SSE framing: a data line per line of the payload (JSON has none, but an
// event must never be split or injected by a newline in the data).
void append_event(std::string& out, std::string_view id, std::string_view data) {
    if (!id.empty()) out.append("id: "sv).append(id).append("\n"sv);
    std::size_t start = 0;
    for (;;) {
        auto nl = data.find('\n', start);
        out.append("data: "sv).append(data.substr(start, nl == std::string_view::npos ? nl : nl - start));
        out.append("\n"sv);
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out.append("\n"sv);
}

std::string frame_event(std::string_view id, std::string_view data) {
    std::string out;
    out.reserve(id.size() + data.size() + 16);
    append_event(out, id, data);
    return out;
}

void append_priming(std::string& out, std::string_view id, std::chrono::milliseconds retry) {
    out.append("id: "sv).append(id).append("\nretry: "sv).append(std::to_string(retry.count()));
    out.append("\ndata: \n\n"sv);
}

std::string frame_priming(std::string_view id, std::chrono::milliseconds retry) {
    std::string out;
    append_priming(out, id, retry);
    return out;
}

// A header line; a CR or LF in a value (never meant, but a value may quote a
// client) becomes a space rather than end the line.
void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": "sv);
    const auto from = out.size();
    out.append(value);
    for (auto i = from; i < out.size(); ++i)
        if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    out.append("\r\n"sv);
}

// The header of an SSE response (start_sse and respond_events).
void append_sse_head(std::string& out, const header_list& extra, bool keep_alive) {
    out.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n"sv);
    for (auto& [n, v] : extra.all()) append_header(out, n, v);
    if (!keep_alive) out.append("Connection: close\r\n"sv);
    out.append("Transfer-Encoding: chunked\r\n\r\n"sv);
}

// A chunk's size line.
void append_chunk_size(std::string& out, std::size_t n) {
    char size[24];
    auto end = std::to_chars(size, size + sizeof size, n, 16).ptr;
    out.append(size, end).append("\r\n"sv);
}

// Appends a chunk of the given bytes (none when empty).
void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    append_chunk_size(out, data.size());
    out.append(data).append("\r\n"sv);
}

// Beast's request parser, writing straight into an http_request: no Beast
// message, fields container or copies of them. Beast still does all of the
// parsing (chunked bodies, the header and body limits, errors).
class request_reader final : public http::basic_parser<true> {
public:
    http_request req;
    // A Transfer-Encoding other than "chunked" alone (e.g. "gzip, chunked"):
    // the request is refused with 501 rather than its body read as plain
    // bytes, which a proxy in front may have framed differently (RFC 9112
    // 6.1). Empty when the codings are fine.
    std::string unsupported_coding;

private:
    void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int,
                         beast::error_code&) override {
        req.method.assign(method.data(), method.size());
        req.target.assign(target.data(), target.size());
        req.headers.reserve(16);  // an MCP client's usual dozen, without regrowing
    }
    void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
        ec = http::error::bad_version;  // never called: this parses requests
    }
    void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
        req.headers.add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    }
    void on_header_impl(beast::error_code& ec) override {
        // Transfer-Encoding, when present, must be exactly "chunked": Beast
        // frames a body as chunked only when chunked is the last coding and
        // appears once, so "chunked, chunked" would otherwise be read as a
        // body-less request followed by the chunks as another one.
        int codings = 0, chunked = 0;
        for (auto& [name, header_value] : req.headers.all()) {
            if (name.size() != 17 || !iequals(name, "Transfer-Encoding")) continue;
            std::string_view value = header_value;
            ++codings;  // a header with no coding at all is malformed too
            while (!value.empty()) {
                auto comma = value.find(',');
                auto coding = value.substr(0, comma);
                while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
                while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
                if (!coding.empty()) {
                    if (!iequals(coding, "chunked")) {
                        unsupported_coding.assign(coding);
                        ec = http::error::bad_transfer_encoding;
                        return;
                    }
                    ++chunked;
                }
                value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
            }
        }
        if (codings > 0 && chunked != 1) ec = http::error::bad_transfer_encoding;  // 400: malformed framing
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code&) override {
        if (length) req.body.reserve(static_cast<std::size_t>(*length));  // within body_limit, checked before
    }
    std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
        req.body.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
        req.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(beast::error_code&) override {}
};

}  // namespace

class connection_base {
public:
    virtual ~connection_base() = default;
    virtual void shutdown() = 0;  // from http_server::stop, any thread
};

// Owned by http_server. Connections point back at it with a plain pointer:
// it outlives them, because destroying its io_context (declared after
// everything a connection touches, so destroyed first) destroys them.
class http_server::impl {
public:
    server_options opts;
    request_handler handler;
    std::optional<ssl::context> tls;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> connections{0}, streams{0}, requests{0};
    std::mutex conns_mu;
    std::uint64_t next_conn_id = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection_base>> conns;
    // The concurrency hint is the number of threads that run it: with one,
    // Asio queues what that thread posts privately, without its lock.
    explicit impl(unsigned threads) : ioc(static_cast<int>(threads)), io_threads(threads) {}
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
    unsigned io_threads;

    // Descriptors: a spare one, given up to accept and refuse a connection
    // when the process has none left (EMFILE, ENFILE), and the pause
    // before accepting again; refusals since the last log line.
    int spare_fd = -1;
    net::steady_timer accept_pause{ioc};
    std::uint64_t descriptor_refusals = 0;
    std::chrono::steady_clock::time_point last_descriptor_log{};
    ~impl() {
        if (spare_fd >= 0) ::close(spare_fd);
    }

    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);
    void out_of_descriptors(const beast::error_code& ec);
    // Answers status on a just-accepted socket and closes it.
    void refuse(tcp::socket& socket, unsigned status, std::string message);
    void forget(std::uint64_t id) {
        std::lock_guard lock(conns_mu);
        conns.erase(id);
    }
    http_response error(unsigned status, std::string message) const {
        return opts.errors ? opts.errors(status, std::move(message)) : default_error(status, std::move(message));
    }
};

template <class Derived>
class connection : public connection_base, public std::enable_shared_from_this<Derived> {
public:
    connection(http_server::impl* srv, std::uint64_t id, std::string peer)
        : srv_(srv), id_(id), peer_(std::move(peer)) {}
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
        parser_->body_limit(srv_->opts.max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(srv_->opts.max_header_bytes));
        // The deadline holds for every read until the header is in (a client
        // trickling bytes cannot extend it), then the body has its own.
        derived().expire_after(srv_->opts.idle_timeout);
        parse_buffered();
    }

    void parse_buffered() {
        while (buffer_.size() > 0 && !parser_->is_done()) {
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
        derived().stream().async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)),
                                           beast::bind_front_handler(&connection::on_bytes, this->shared_from_this()));
    }

    void on_bytes(beast::error_code ec, std::size_t n) {
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
        state_ = state::handling;
        srv_->requests++;
        derived().expire_never();
        srv_->handler(std::move(req), std::make_shared<responder_impl>(this->shared_from_this()));
    }

    void fail_request(unsigned status, std::string message) {
        keep_alive_ = false;
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
        // The rest as the client reads it, within the request timeout.
        auto out = std::make_shared<std::string>(std::move(bytes));
        derived().expire_after(srv_->opts.request_timeout);
        net::async_write(derived().stream(), net::buffer(*out) + sent,
                         [self = this->shared_from_this(), out, keep](beast::error_code ec, std::size_t) {
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
                    if (ec && ec != net::error::operation_aborted && self->state_ == state::handling && cb)
                        cb();  // eof or reset before the answer: the client is gone
                });
        }
    }

    void do_close() {
        if (state_ == state::closed) return;
        state_ = state::closed;
        derived().close_transport();
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

        bool send(std::string_view id, std::string_view data) override { return enqueue(frame_event(id, data)); }
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
            pump();
        }

    private:
        bool enqueue(std::string frame) {
            if (ended_flag_) return false;
            const auto n = frame.size();
            if (queued_ + n > conn_->srv_->opts.sse_queue_bytes) {
                spdlog::warn("transport: SSE stream to {} dropped: {} bytes unwritten", conn_->peer_, queued_.load());
                abort();
                return false;
            }
            queued_ += n;
            // dispatch: on the strand already (a shutdown writing retry: before
            // its close) the frame is queued at once, so it precedes the close.
            net::dispatch(conn_->executor(), [self = this->shared_from_this(), f = std::move(frame)]() mutable {
                self->queue_.push_back(std::move(f));
                self->pump();
            });
            return true;
        }

        void pump() {
            if (writing_ || ended_ || !begun_) return;
            // Everything queued goes out in one write: one syscall per wake-up.
            auto out = std::make_shared<std::string>(std::move(head_));
            head_.clear();
            std::size_t data = 0;
            for (auto& f : queue_) data += f.size();
            if (data > 0) {
                append_chunk_size(*out, data);
                for (auto& f : queue_) out->append(f);
                out->append("\r\n");
                queue_.clear();
            }
            const bool last = closing_;
            if (last) out->append("0\r\n\r\n");
            if (out->empty()) return;
            writing_ = true;
            net::async_write(conn_->derived().stream(), net::buffer(*out),
                             [self = this->shared_from_this(), out, data, last](beast::error_code ec, std::size_t) {
                                 self->writing_ = false;
                                 self->queued_ -= data;
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
                        self->finish(false);  // eof or reset: the client is gone
                    });
            watching_ = true;
        }

        void arm_keepalive() {
            const auto every = conn_->srv_->opts.sse_keepalive;
            if (every.count() <= 0) return;
            // Made on first use: most POST streams end before they need one.
            if (!timer_) timer_.emplace(conn_->executor());
            timer_->expires_after(every);
            timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
                if (ec || self->ended_) return;
                if (self->queue_.empty() && !self->writing_) {
                    self->queue_.push_back(":\n\n");
                    self->queued_ += 3;
                    self->pump();
                }
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
             begun_ = false, watched_ = false;
        std::string head_;  // the response header until it is written
        std::atomic<bool> ended_flag_{false};
        std::mutex cb_mu_;
        std::function<void()> on_closed_;
        char probe_[1];
    };

    class responder_impl : public responder {
    public:
        explicit responder_impl(std::shared_ptr<Derived> c) : conn_(std::move(c)) {}
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
            net::dispatch(conn_->executor(),
                          [c = conn_, r = std::move(r)]() mutable { c->write_response(std::move(r)); });
        }
        void respond_events(header_list extra, std::vector<sse_event> events) override {
            if (used_.exchange(true)) return;
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
            net::post(conn_->executor(), [c = conn_, s, extra = std::move(extra)]() mutable {
                c->sse_ = s;
                s->begin(std::move(extra));
            });
            return s;
        }

    private:
        std::shared_ptr<Derived> conn_;
        std::atomic<bool> used_{false};
    };

protected:
    enum class state { reading, receiving, handling, writing, streaming, closed };
    http_server::impl* srv_;
    std::uint64_t id_;
    std::string peer_;
    beast::flat_buffer buffer_;
    std::optional<request_reader> parser_;
    bool keep_alive_ = false;
    state state_ = state::reading;
    std::shared_ptr<sse_impl> sse_;
    // responder::on_disconnect: a read pending while a request is handled.
    bool close_watch_ = false, read_after_watch_ = false;
    std::function<void()> close_cb_;
    char close_probe_[1];
};

// A plain connection's deadline is a time, not a timer armed per read or
// write (as Beast's tcp_stream does): its timer is armed once and, when it
// fires before the current deadline, armed again for it. Past the deadline
// the socket is closed and the pending operation ends with operation_aborted.
class plain_connection : public connection<plain_connection> {
public:
    static constexpr bool secure = false;
    using clock = std::chrono::steady_clock;
    plain_connection(http_server::impl* srv, std::uint64_t id, std::string peer, tcp::socket s)
        : connection(srv, id, std::move(peer)), socket_(std::move(s)), timer_(socket_.get_executor()) {
        beast::error_code ignore;
        socket_.non_blocking(true, ignore);  // write_bytes writes synchronously
    }
    tcp::socket& stream() { return socket_; }
    tcp::socket& socket() { return socket_; }
    void run() {
        net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }
    void expire_after(clock::duration d) {
        deadline_ = clock::now() + d;
        if (!armed_ || deadline_ < armed_at_) arm(deadline_);
    }
    void expire_never() { deadline_ = clock::time_point::max(); }
    void close_transport() {
        beast::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        socket_.close(ec);
        timer_.cancel();
        armed_ = false;
    }

private:
    void arm(clock::time_point at) {
        armed_ = true;
        armed_at_ = at;
        timer_.expires_at(at);  // a wait armed earlier ends with operation_aborted
        // A weak pointer: a pending wait never keeps a closed connection alive.
        timer_.async_wait([weak = weak_from_this(), at](beast::error_code ec) {
            auto self = weak.lock();
            if (!self || ec || self->armed_at_ != at || !self->armed_) return;
            self->armed_ = false;
            if (self->deadline_ == clock::time_point::max()) return;
            if (clock::now() < self->deadline_) return self->arm(self->deadline_);
            beast::error_code ignore;
            self->socket_.close(ignore);  // the pending read or write fails and closes the connection
        });
    }

    tcp::socket socket_;
    net::steady_timer timer_;
    clock::time_point deadline_ = clock::time_point::max(), armed_at_{};
    bool armed_ = false;
};

class tls_connection : public connection<tls_connection> {
public:
    static constexpr bool secure = true;
    tls_connection(http_server::impl* srv, std::uint64_t id, std::string peer, tcp::socket s,
                   ssl::context& ctx)
        : connection(srv, id, std::move(peer)), stream_(std::move(s), ctx) {}
    beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
    tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }
    void expire_after(std::chrono::steady_clock::duration d) { beast::get_lowest_layer(stream_).expires_after(d); }
    void expire_never() { beast::get_lowest_layer(stream_).expires_never(); }
    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            beast::get_lowest_layer(self->stream_).expires_after(self->srv_->opts.request_timeout);
            self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
                if (ec) return self->close_transport();
                self->do_read();
            });
        });
    }
    void close_transport() {
        beast::error_code ec;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

private:
    beast::ssl_stream<beast::tcp_stream> stream_;
};

void http_server::impl::do_accept() {
    // A connection's handlers run one at a time on its strand. With a single
    // I/O thread they cannot do otherwise, and the io_context's own executor
    // saves the strand's locking and queueing on every handler.
    auto executor = io_threads == 1 ? net::any_io_executor(ioc.get_executor()) : net::any_io_executor(net::make_strand(ioc));
    acceptor.async_accept(executor, beast::bind_front_handler(&impl::on_accept, this));
}

void http_server::impl::refuse(tcp::socket& socket, unsigned status, std::string message) {
    beast::error_code ignore;
    auto r = error(status, std::move(message));
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    for (auto& [n, v] : r.headers.all()) res.set(n, v);
    res.body() = r.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(socket, res, ignore);
    socket.close(ignore);
}

void http_server::impl::out_of_descriptors(const beast::error_code& ec) {
    // The connection stays in the backlog and an accept fails again at
    // once: retrying now would spin. The spare descriptor lets one pending
    // client hear why (503) instead of waiting; then accepting pauses.
    ++descriptor_refusals;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_descriptor_log >= std::chrono::seconds(10)) {
        spdlog::error("transport: out of file descriptors ({}): new connections are refused with 503 "
                      "({} times since the last report); raise ulimit -n or lower --max-connections",
                      ec.message(), descriptor_refusals);
        descriptor_refusals = 0;
        last_descriptor_log = now;
    }
    if (spare_fd >= 0) {
        ::close(spare_fd);
        tcp::socket pending(ioc);
        beast::error_code aec;
        acceptor.accept(pending, aec);  // the acceptor is non-blocking: never waits
        if (!aec) refuse(pending, 503, "the server is out of file descriptors; retry later");
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    accept_pause.expires_after(std::chrono::milliseconds(100));
    accept_pause.async_wait([this](beast::error_code e) {
        if (!e && !stopping) do_accept();
    });
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping) return;
    if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system)
        return out_of_descriptors(ec);
    if (ec) {
        spdlog::warn("transport: accept failed: {}", ec.message());
        return do_accept();
    }
    beast::error_code ignore;
    auto ep = socket.remote_endpoint(ignore);
    std::string peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    if (connections >= opts.max_connections) {
        refuse(socket, 503, "too many connections");  // synchronously: it is tiny
        return do_accept();
    }
    // Responses and SSE events are small writes that must leave at once;
    // Nagle's algorithm would hold them for the peer's delayed ACK (~40 ms).
    socket.set_option(tcp::no_delay(true), ignore);
    connections++;
    std::shared_ptr<connection_base> conn;
    std::uint64_t id;
    {
        std::lock_guard lock(conns_mu);
        id = next_conn_id++;
    }
    if (tls) {
        auto c = std::make_shared<tls_connection>(this, id, std::move(peer), std::move(socket), *tls);
        conn = c;
        c->run();
    } else {
        auto c = std::make_shared<plain_connection>(this, id, std::move(peer), std::move(socket));
        conn = c;
        c->run();
    }
    {
        std::lock_guard lock(conns_mu);
        conns.emplace(id, conn);
    }
    do_accept();
}

namespace {

// Fits max_connections to the descriptors the process may open: the soft
// RLIMIT_NOFILE is raised towards what is wanted; where the hard limit
// stops it, fewer connections are accepted so the reserve stays free.
result<void> fit_descriptors(server_options& o) {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return {};
    const rlim_t wanted = static_cast<rlim_t>(o.max_connections + o.descriptor_reserve);
    if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < wanted) {
        rlimit raised = l;
        raised.rlim_cur = l.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, l.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) l = raised;
    }
    if (l.rlim_cur == RLIM_INFINITY || l.rlim_cur >= wanted) return {};
    if (l.rlim_cur <= o.descriptor_reserve)
        return make_error(errc::invalid_argument,
                          "the descriptor limit (ulimit -n) is " + std::to_string(l.rlim_cur) + ", no more than the " +
                              std::to_string(o.descriptor_reserve) +
                              " kept for the store: raise it, or lower --fd-reserve");
    const auto fit = static_cast<std::size_t>(l.rlim_cur) - o.descriptor_reserve;
    spdlog::warn("transport: --max-connections {} needs {} file descriptors and the limit (ulimit -n) is {}: "
                 "accepting at most {} connections (503 beyond), so {} stay for the store",
                 o.max_connections, wanted, l.rlim_cur, fit, o.descriptor_reserve);
    o.max_connections = fit;
    return {};
}

}  // namespace

result<std::unique_ptr<http_server>> http_server::start(server_options options, request_handler handler) {
    if (auto r = fit_descriptors(options); !r) return std::unexpected(r.error());
    const unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    auto p = std::make_unique<impl>(n);
    p->opts = std::move(options);
    p->handler = std::move(handler);
    if (!p->opts.tls_cert_file.empty() || !p->opts.tls_key_file.empty()) {
        try {
            p->tls.emplace(ssl::context::tls_server);
            p->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            p->tls->use_certificate_chain_file(p->opts.tls_cert_file);
            p->tls->use_private_key_file(p->opts.tls_key_file, ssl::context::pem);
        } catch (const std::exception& e) {
            return make_error(errc::tls_failed, "TLS certificate " + p->opts.tls_cert_file + " / key " +
                                                    p->opts.tls_key_file + ": " + e.what());
        }
    }
    beast::error_code ec;
    auto addr = net::ip::make_address(p->opts.host, ec);
    if (ec) return make_error(errc::invalid_argument, "listen address '" + p->opts.host + "': " + ec.message());
    tcp::endpoint ep{addr, p->opts.port};
    p->acceptor.open(ep.protocol(), ec);
    if (!ec) p->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) p->acceptor.bind(ep, ec);
    if (!ec) p->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) p->acceptor.non_blocking(true, ec);  // for out_of_descriptors' accept; async accepts are unchanged
    if (ec)
        return make_error(errc::bind_failed,
                          "cannot listen on " + p->opts.host + ":" + std::to_string(p->opts.port) + ": " + ec.message());
    p->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->do_accept();
    auto* raw = p.get();
    for (unsigned i = 0; i < n; ++i)
        p->threads.emplace_back([raw] {
            pthread_setname_np(pthread_self(), "http-io");  // as top -H and perf show it
            raw->ioc.run();
        });
    return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() { stop(std::chrono::milliseconds(0)); }

std::uint16_t http_server::port() const {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

void http_server::stop_accepting() {
    if (impl_->threads.empty()) return;
    impl_->stopping = true;
    net::post(impl_->ioc, [p = impl_.get()] {
        beast::error_code ec;
        p->acceptor.close(ec);
        p->accept_pause.cancel();
    });
    std::vector<std::shared_ptr<connection_base>> live;
    {
        std::lock_guard lock(impl_->conns_mu);
        for (auto& [id, w] : impl_->conns)
            if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->shutdown();
}

void http_server::stop(std::chrono::milliseconds grace) {
    if (impl_->threads.empty()) return;
    stop_accepting();
    const auto until = std::chrono::steady_clock::now() + grace;
    while (impl_->connections > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    impl_->ioc.stop();
    for (auto& t : impl_->threads) t.join();
    impl_->threads.clear();
}

server_stats http_server::stats() const {
    return {impl_->connections.load(), impl_->streams.load(), impl_->requests.load()};
}

}  // namespace litemcp::transport
