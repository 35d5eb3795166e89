// Boost.Beast implementation of transport/http_client.h: the client's
// threads and TLS context, and the exchange -- resolve, connect, TLS
// handshake, write the request, read the response -- with its deadline and
// its one retry. The pool is transport/beast/connection_pool.h, a connection
// beast/client_connection.h, the response parser beast/response_reader.h,
// URLs beast/client_url.h. The only translation unit of the client that
// includes Beast.
#include "transport/http_client.h"

#include <atomic>
#include <thread>

#include "transport/beast/client_url.h"
#include "transport/beast/common.h"
#include "transport/beast/connection_pool.h"
#include "transport/beast/response_reader.h"
#include "transport/beast/wire_format.h"

namespace litemcp::transport {

namespace {

class exchange_op;

// RFC 9110 5.6.2: what a method or a header name may be made of.
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

// The request line and headers, then the body, in one buffer: one write.
result<std::string> serialize_request(const client_request& r, const client_url& url) {
    if (!is_token(r.method)) return make_error(errc::invalid_argument, "'" + r.method.substr(0, 64) + "' is not an HTTP method");
    std::string out;
    out.reserve(256 + r.url.size() + r.body.size());
    out.append(r.method).append(" "sv).append(url.target).append(" HTTP/1.1\r\n"sv);
    if (!r.headers.get("Host")) append_header(out, "Host", url.authority());
    if (!r.headers.get("User-Agent")) out.append("User-Agent: litemcp\r\n"sv);
    for (auto& [name, value] : r.headers.all()) {
        if (!is_token(name)) return make_error(errc::invalid_argument, "'" + name.substr(0, 64) + "' is not a header name");
        if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) continue;
        append_header(out, name, value);
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH")
        out.append("Content-Length: "sv).append(std::to_string(r.body.size())).append("\r\n"sv);
    out.append("\r\n"sv).append(r.body);
    return out;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

class http_client::impl {
public:
    explicit impl(client_options o)
        : opts(normalized(std::move(o))),
          ioc(static_cast<int>(opts.threads)),
          pool(ioc, opts.max_idle_per_host, opts.idle_timeout) {
        try {
            tls.emplace(ssl::context::tls_client);
            tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            beast::error_code ec;
            tls->set_default_verify_paths(ec);
            if (ec) spdlog::warn("http_client: the system's trusted certificates could not be loaded: {}", ec.message());
            tls->set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
        } catch (const std::exception& e) {
            tls.reset();  // https:// exchanges then fail with tls_failed
            tls_error = e.what();
            spdlog::error("http_client: no TLS context: {}", tls_error);
        }
    }

    static client_options normalized(client_options o) {
        if (o.threads == 0) o.threads = 1;
        return o;
    }

    client_options opts;
    // Declared before the io_context: TLS streams point at it until the last
    // of them is gone, which may be while the io_context is destroyed.
    std::optional<ssl::context> tls;
    std::string tls_error;
    net::io_context ioc;  // the concurrency hint is the number of threads that run it
    // Destroyed before the io_context its sockets belong to.
    connection_pool pool;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::vector<std::thread> threads;
    std::atomic<std::uint64_t> next_connection{0};

    // The exchanges in flight, for the destructor to cancel.
    std::mutex mu;
    bool stopping = false;
    std::atomic<bool> shut{false};  // shutdown() ran
    bool detached = false;          // shutdown() ran on one of the client's own threads
    std::uint64_t next_exchange = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<exchange_op>> live;

    void forget(std::uint64_t id) {
        std::lock_guard lock(mu);
        live.erase(id);
    }
};

namespace {

// One request and its response. Every member is used on its executor (a
// strand of its own; the io_context itself with one thread) but cancelled_,
// which cancel() sets from any thread. Owned by the completion handlers
// pending for it; the caller's handle and the client's list of live
// exchanges hold weak pointers, so nothing of it outlives the client's
// io_context.
class exchange_op final : public std::enable_shared_from_this<exchange_op>, public response_sink {
public:
    using clock = std::chrono::steady_clock;

    exchange_op(http_client::impl& client, net::any_io_executor ex, std::uint64_t id, client_request req,
                client_handlers h)
        : client_(client), ex_(std::move(ex)), id_(id), req_(std::move(req)), h_(std::move(h)), timer_(ex_) {}

    const net::any_io_executor& executor() const { return ex_; }

    // From any thread: the next handler to run on the executor ends the
    // exchange, and no on_head or on_data is called from now on.
    void cancel(std::string why) {
        cancelled_ = true;
        net::post(ex_, [self = shared_from_this(), why = std::move(why)]() mutable {
            self->finish(make_error(errc::cancelled, std::move(why)));
        });
    }

    void start() {
        if (cancelled_) return finish(make_error(errc::cancelled, "cancelled"));
        if (req_.timeout.count() > 0) exchange_deadline_ = clock::now() + req_.timeout;
        auto url = parse_client_url(req_.url);
        if (!url) return finish(std::unexpected(url.error()));
        url_ = std::move(*url);
        auto out = serialize_request(req_, url_);
        if (!out) return finish(std::unexpected(out.error()));
        out_ = std::move(*out);
        req_.body.clear();
        req_.body.shrink_to_fit();  // it is in out_ now
        if (url_.secure && !client_.tls) return finish(make_error(errc::tls_failed, "no TLS context: " + client_.tls_error));
        origin_ = url_.origin();
        if (auto c = client_.pool.take(origin_)) {
            conn_ = std::move(c);
            reused_ = true;
            set_deadline(exchange_deadline_);
            return write();
        }
        connect();
    }

private:
    enum class phase { connecting, exchanging, streaming };

    template <class F>
    auto on_strand(F f) {
        return net::bind_executor(ex_, beast::bind_front_handler(f, shared_from_this()));
    }

    // ---- connecting ------------------------------------------------------

    void connect() {
        reused_ = false;
        phase_ = phase::connecting;
        set_deadline(std::min(clock::now() + client_.opts.connect_timeout, exchange_deadline_));
        if (!resolver_) resolver_.emplace(ex_);
        resolver_->async_resolve(url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
                                 on_strand(&exchange_op::on_resolve));
    }

    void on_resolve(beast::error_code ec, tcp::resolver::results_type found) {
        if (done_) return;
        if (ec) return finish(make_error(errc::connect_failed, "cannot resolve " + url_.host + ": " + ec.message()));
        const auto id = client_.next_connection++;
        conn_ = std::make_unique<client_connection>(client_.ioc, origin_, id,
                                                    client_.opts.max_header_bytes + (64u << 10));
        net::async_connect(conn_->socket(), found, on_strand(&exchange_op::on_connect));
    }

    void on_connect(beast::error_code ec, const tcp::endpoint& ep) {
        if (done_) return;
        if (ec) return finish(make_error(errc::connect_failed, "cannot connect to " + origin_ + ": " + ec.message()));
        beast::error_code ignore;
        // Requests leave in one write; Nagle's algorithm would only hold the
        // last segment of a large one for the server's delayed ACK.
        conn_->socket().set_option(tcp::no_delay(true), ignore);
        spdlog::debug("http_client: connection {} to {} ({})", conn_->id(), origin_, ep.address().to_string());
        if (!url_.secure) return connected();
        try {
            conn_->start_tls(*client_.tls, url_.host, url_.ipv6 || is_ipv4(url_.host), client_.opts.verify_tls);
        } catch (const std::exception& e) {  // OpenSSL could not make the session (out of memory)
            return finish(make_error(errc::tls_failed, "TLS with " + origin_ + ": " + e.what()));
        }
        conn_->tls().async_handshake(ssl::stream_base::client, on_strand(&exchange_op::on_handshake));
    }

    void on_handshake(beast::error_code ec) {
        if (done_) return;
        if (ec) {
            std::string why = ec.message();
            // Why the certificate was refused, when it was.
            const long verify = SSL_get_verify_result(conn_->tls().native_handle());
            if (verify != X509_V_OK) why.append(" (").append(X509_verify_cert_error_string(verify)).append(")");
            return finish(make_error(errc::tls_failed, "TLS with " + origin_ + " failed: " + why));
        }
        connected();
    }

    void connected() {
        set_deadline(exchange_deadline_);
        write();
    }

    static bool is_ipv4(const std::string& host) {
        beast::error_code ec;
        net::ip::make_address_v4(host, ec);
        return !ec;
    }

    // ---- the request and the response ------------------------------------

    void write() {
        phase_ = phase::exchanging;
        received_ = 0;
        new_reader();
        conn_->with_stream([&](auto& s) { net::async_write(s, net::buffer(out_), on_strand(&exchange_op::on_write)); });
    }

    void new_reader() {
        reader_.emplace(*this, client_.opts.max_body_bytes);
        reader_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(client_.opts.max_header_bytes, UINT32_MAX)));
        reader_->body_limit(boost::none);  // response_reader bounds a collected body itself
        reader_->eager(true);
        if (req_.method == "HEAD") reader_->skip(true);
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (done_) return;
        if (ec) return connection_failed(ec);
        read();
    }

    void read() {
        auto& buf = conn_->buffer();
        const auto room = beast::read_size(buf, 65536);
        if (room == 0)  // an unfinished chunk header the size of the buffer
            return finish(make_error(errc::too_large, "a response from " + origin_ + " has an oversized chunk header"));
        conn_->with_stream(
            [&](auto& s) { s.async_read_some(buf.prepare(room), on_strand(&exchange_op::on_read)); });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (done_) return;
        if (ec == net::error::eof || ec == ssl::error::stream_truncated) return on_end();
        if (ec) {
            if (received_ == 0) return connection_failed(ec);
            return finish(make_error(errc::closed, "the connection to " + origin_ + " failed mid-response: " + ec.message()));
        }
        received_ += n;
        conn_->buffer().commit(n);
        // A stream's silence is counted from the last bytes read.
        if (phase_ == phase::streaming && silence().count() > 0) set_deadline(clock::now() + silence());
        parse();
    }

    void parse() {
        auto& buf = conn_->buffer();
        while (buf.size() > 0) {
            beast::error_code ec;
            const auto used = reader_->put(buf.data(), ec);
            buf.consume(used);
            if (done_) return;  // not expected from a handler, but never parse past the end
            if (ec && ec != http::error::need_more) return parse_failed(ec);
            if (reader_->is_done()) {
                if (!reader_->interim()) return complete();
                new_reader();  // a 100 Continue or 103 Early Hints: the final response follows
                continue;
            }
            if (ec == http::error::need_more || used == 0) break;
        }
        read();
    }

    // The server closed the connection (end of stream).
    void on_end() {
        if (received_ == 0 && !reader_->got_some()) {
            if (reused_ && !retried_) return retry("closed");
            return finish(make_error(errc::closed, origin_ + " closed the connection without answering"));
        }
        // A body delimited by the end of the connection ends here.
        if (reader_->is_header_done() && reader_->need_eof()) {
            beast::error_code ec;
            reader_->put_eof(ec);
            if (!ec && reader_->is_done()) return complete();
        }
        finish(make_error(errc::closed, origin_ + " closed the connection before the response ended"));
    }

    // A write or read failed before any byte of the response arrived.
    void connection_failed(const beast::error_code& ec) {
        if (reused_ && !retried_ && received_ == 0) return retry(ec.message());
        finish(make_error(errc::closed, "the connection to " + origin_ + " failed: " + ec.message()));
    }

    // A reused connection the server had closed meanwhile: the request
    // cannot have been processed without any answer byte, so it is sent
    // again on a new connection, once.
    void retry(const std::string& why) {
        spdlog::debug("http_client: reused connection {} to {} failed before answering ({}); retrying on a new one",
                      conn_->id(), origin_, why);
        retried_ = true;
        conn_.reset();  // no operation is pending on it
        connect();
    }

    void parse_failed(const beast::error_code& ec) {
        if (ec == http::error::header_limit)
            return finish(make_error(errc::too_large, "the response headers from " + origin_ + " exceed " +
                                                          std::to_string(client_.opts.max_header_bytes) + " bytes"));
        if (ec == http::error::body_limit)
            return finish(make_error(errc::too_large, "the response body from " + origin_ + " exceeds " +
                                                          std::to_string(client_.opts.max_body_bytes) + " bytes"));
        finish(make_error(errc::protocol_error, "malformed response from " + origin_ + ": " + ec.message()));
    }

    void complete() {
        client_response res = std::move(reader_->res);
        // Reused only after a clean end: the server keeps the connection open
        // and sent nothing past this response.
        const bool reusable = reader_->keep_alive() && conn_->buffer().size() == 0 && !cancelled_;
        if (reusable) client_.pool.put(std::move(conn_));  // before on_done: a request it sends can reuse it
        finish(std::move(res));
    }

    // ---- response_sink (called by the parser) -----------------------------

    bool head(const client_response& res) override {
        if (cancelled_ || !h_.on_head) return false;
        if (!h_.on_head(res)) return false;
        phase_ = phase::streaming;
        set_deadline(silence().count() > 0 ? clock::now() + silence() : clock::time_point::max());
        return true;
    }

    // The longest silence of a streamed body.
    std::chrono::milliseconds silence() const { return req_.stream_timeout.value_or(req_.timeout); }

    void data(std::string_view chunk) override {
        if (!cancelled_ && h_.on_data) h_.on_data(chunk);
    }

    // ---- the deadline --------------------------------------------------------

    // As in the server's connections, the deadline is a time and the timer
    // is re-armed only when it fires early or must fire earlier: a stream
    // that moves the deadline on every read costs no timer operation.
    void set_deadline(clock::time_point at) {
        deadline_ = at;
        if (at == clock::time_point::max()) return;
        if (!armed_ || at < armed_at_) arm(at);
    }

    void arm(clock::time_point at) {
        armed_ = true;
        armed_at_ = at;
        timer_.expires_at(at);  // a wait armed earlier ends with operation_aborted
        timer_.async_wait(net::bind_executor(ex_, [self = shared_from_this(), at](beast::error_code ec) {
            if (ec || self->done_ || self->armed_at_ != at) return;
            self->armed_ = false;
            if (self->deadline_ == clock::time_point::max()) return;
            if (clock::now() < self->deadline_) return self->arm(self->deadline_);
            self->timed_out();
        }));
    }

    void timed_out() {
        switch (phase_) {
        case phase::connecting:
            return finish(make_error(errc::timed_out, "connecting to " + origin_ + " timed out (connect timeout " +
                                                          millis(client_.opts.connect_timeout) + ")"));
        case phase::exchanging:
            return finish(make_error(errc::timed_out,
                                     "no complete response from " + origin_ + " within " + millis(req_.timeout)));
        case phase::streaming:
            return finish(make_error(errc::timed_out,
                                     "the stream from " + origin_ + " was silent for " + millis(silence())));
        }
    }

    // ---- the end ---------------------------------------------------------------

    // Once. The connection, if still held, is closed rather than reused, but
    // kept until the handlers still pending on it have run (they end with
    // operation_aborted and find done_ set).
    void finish(result<client_response> r) {
        if (done_) return;
        done_ = true;
        timer_.cancel();
        if (resolver_) resolver_->cancel();
        if (conn_) conn_->close();
        client_.forget(id_);
        auto on_done = std::move(h_.on_done);
        h_ = {};  // what the handlers hold is released now, not with the last pending operation
        if (on_done) on_done(std::move(r));
    }

    http_client::impl& client_;
    net::any_io_executor ex_;
    std::uint64_t id_;
    client_request req_;
    client_handlers h_;
    client_url url_;
    std::string origin_;
    std::string out_;  // the request's bytes, kept for a retry
    std::optional<tcp::resolver> resolver_;
    std::unique_ptr<client_connection> conn_;
    std::optional<response_reader> reader_;
    net::steady_timer timer_;
    clock::time_point exchange_deadline_ = clock::time_point::max();
    clock::time_point deadline_ = clock::time_point::max(), armed_at_{};
    std::size_t received_ = 0;  // bytes read on the current connection for this exchange
    phase phase_ = phase::connecting;
    bool armed_ = false, reused_ = false, retried_ = false, done_ = false;
    std::atomic<bool> cancelled_{false};
};

// What the caller holds: a weak pointer, so a handle kept after the
// exchange (or the client) is gone does nothing.
class exchange_handle final : public client_exchange {
public:
    explicit exchange_handle(std::weak_ptr<exchange_op> op) : op_(std::move(op)) {}
    void cancel() override {
        if (auto op = op_.lock()) op->cancel("cancelled");
    }

private:
    std::weak_ptr<exchange_op> op_;
};

}  // namespace

http_client::http_client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
    impl_->work.emplace(impl_->ioc.get_executor());
    for (unsigned i = 0; i < impl_->opts.threads; ++i)
        impl_->threads.emplace_back([p = impl_.get()] {
            pthread_setname_np(pthread_self(), "http-client");
            p->ioc.run();
        });
}

void http_client::shutdown() {
    if (impl_->shut.exchange(true)) return;
    std::vector<std::shared_ptr<exchange_op>> live;
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
        for (auto& [id, w] : impl_->live)
            if (auto op = w.lock()) live.push_back(std::move(op));
    }
    for (auto& op : live) op->cancel("the HTTP client is shutting down");
    live.clear();
    impl_->pool.close_all();
    // The threads return once the last exchange has ended (a resolve in
    // progress ends when the system's resolver returns).
    impl_->work.reset();
    for (auto& t : impl_->threads)
        if (t.get_id() == std::this_thread::get_id()) {
            // Called from a handler, on one of the client's own threads: it
            // cannot be joined from here, so the threads end on their own.
            for (auto& x : impl_->threads) x.detach();
            impl_->detached = true;
            return;
        }
    for (auto& t : impl_->threads) t.join();
}

bool http_client::on_client_thread() const { return impl_->ioc.get_executor().running_in_this_thread(); }

http_client::~http_client() {
    shutdown();
    // Destroyed by a handler's last reference: nothing may be freed under
    // the running io_context (a leak at exit, never a crash).
    if (impl_->detached) (void)impl_.release();
}

std::shared_ptr<client_exchange> http_client::send(client_request request, client_handlers handlers) {
    auto ex = impl_->opts.threads == 1 ? net::any_io_executor(impl_->ioc.get_executor())
                                       : net::any_io_executor(net::make_strand(impl_->ioc));
    std::shared_ptr<exchange_op> op;
    bool stopping;
    {
        std::lock_guard lock(impl_->mu);
        const auto id = impl_->next_exchange++;
        op = std::make_shared<exchange_op>(*impl_, ex, id, std::move(request), std::move(handlers));
        stopping = impl_->stopping;
        if (!stopping) impl_->live.emplace(id, op);
    }
    auto handle = std::make_shared<exchange_handle>(op);
    if (stopping) op->cancel("the HTTP client is shutting down");
    else net::post(op->executor(), [op] { op->start(); });
    return handle;
}

}  // namespace litemcp::transport
