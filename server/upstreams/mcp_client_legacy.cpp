// mcp_client over the HTTP+SSE transport of 2024-11-05 (see mcp_client.h):
// requests POSTed to the stream's endpoint, their answers and the server's
// other messages read from the one stream.
#include <spdlog/spdlog.h>

#include <vector>

#include "server/json/json_fields.h"
#include "server/rpc/json_rpc.h"
#include "server/upstreams/mcp_client_exchange.h"

namespace litemcp::server {

using mcp_client_detail::failure;
using mcp_client_detail::is_response;

// The handle of a request waiting for its answer on the stream: cancelling
// it cancels the POST if it is still under way and ends the request. It
// holds the request weakly: the request holds it (through its exchange),
// and what keeps the request alive until its answer is pending_.
class mcp_client::legacy_wait : public transport::client_exchange {
public:
    legacy_wait(std::weak_ptr<mcp_client> client, std::weak_ptr<exchange_state> st, std::string key)
        : client_(std::move(client)), st_(std::move(st)), key_(std::move(key)) {}
    void set_post(std::shared_ptr<transport::client_exchange> x) {
        std::lock_guard lock(mu_);
        post_ = std::move(x);
    }
    void cancel() override {
        std::shared_ptr<transport::client_exchange> post;
        {
            std::lock_guard lock(mu_);
            post = std::move(post_);
        }
        if (post) post->cancel();
        auto st = st_.lock();
        if (!st) return;  // answered and gone
        if (auto c = client_.lock()) c->unpend(key_, st);
        st->finish(std::unexpected(failure(upstream_failure::kind::cancelled, "cancelled")));
    }

private:
    std::weak_ptr<mcp_client> client_;
    std::weak_ptr<exchange_state> st_;
    const std::string key_;
    std::mutex mu_;
    std::shared_ptr<transport::client_exchange> post_;
};

bool mcp_client::legacy() const {
    std::lock_guard lock(mu_);
    return legacy_;
}

void mcp_client::open_legacy(std::string why, std::function<void(std::expected<json, upstream_failure>)> done) {
    legacy_stream::options o{opts_.url, opts_.headers, opts_.request_timeout, opts_.max_message_bytes, opts_.later};
    std::weak_ptr<mcp_client> weak = shared_from_this();
    // The stream, once opened: its messages and its end name it.
    auto opened_as = std::make_shared<const legacy_stream*>(nullptr);
    legacy_stream::open(
        http_, std::move(o),
        [weak, opened_as](json m) {
            if (auto self = weak.lock()) self->on_stream_message(std::move(m), *opened_as);
        },
        [weak, opened_as](std::string why) {
            if (auto self = weak.lock()) self->on_stream_end(*opened_as, why);
        },
        [weak, opened_as, why, done](std::expected<std::shared_ptr<legacy_stream>, upstream_failure> s) {
            auto self = weak.lock();
            if (!self) return;
            if (!s) {
                auto e = s.error();
                // Nothing litemcp speaks: each try's answer in the message.
                if (!why.empty() && e.what == upstream_failure::kind::refused)
                    e.message = why + "; a GET for the HTTP+SSE transport (2024-11-05): " + e.message;
                return done(std::unexpected(std::move(e)));
            }
            *opened_as = s->get();
            std::shared_ptr<legacy_stream> old;
            {
                std::lock_guard lock(self->mu_);
                if (self->closed_) {  // close() came while it opened: nobody wants it
                    (*s)->close();
                    return done(std::unexpected(failure(upstream_failure::kind::cancelled, "the client was closed")));
                }
                if (!self->legacy_)
                    spdlog::info("upstreams: {}: the server speaks the HTTP+SSE transport (2024-11-05); its endpoint is {}",
                                 self->opts_.url, (*s)->endpoint());
                self->legacy_ = true;
                self->modern_ = false;
                self->session_.clear();
                old = std::exchange(self->stream_, *s);
                ++self->generation_;
            }
            if (old) old->close();
            self->initialize(done, false);
        });
}

void mcp_client::reconnect_legacy(std::function<void(std::expected<json, upstream_failure>)> then) {
    {
        std::lock_guard lock(mu_);
        reconnect_waiters_.push_back(std::move(then));
        if (reconnecting_) return;  // one new stream and session for all who wait
        reconnecting_ = true;
    }
    auto self = shared_from_this();
    open_legacy({}, [self](std::expected<json, upstream_failure> r) {
        std::vector<std::function<void(std::expected<json, upstream_failure>)>> waiting;
        {
            std::lock_guard lock(self->mu_);
            waiting.swap(self->reconnect_waiters_);
            self->reconnecting_ = false;
        }
        for (auto& w : waiting) w(r);
    });
}

void mcp_client::post_legacy(std::shared_ptr<exchange_state> st) {
    auto self = shared_from_this();
    // initialize and notifications/initialized open a session; everything
    // else waits until one is open.
    const bool handshake = st->initialize || string_field(st->message, "method") == "notifications/initialized";
    auto again = [self, st] {
        // The stream was the session: a new one, then the message once more.
        st->answered = true;
        self->reconnect_legacy([self, st](std::expected<json, upstream_failure> c) {
            if (!c) return st->on_response(std::unexpected(c.error()));
            self->post(st->message, st->ex, st->on_message, st->on_response, false, st->opts);
        });
    };
    const std::string key = st->id.is_null() ? std::string() : to_json(st->id);
    std::shared_ptr<legacy_stream> s;
    bool usable;
    {
        std::lock_guard lock(mu_);
        s = stream_;
        usable = s && s->alive() && (handshake || !reconnecting_);
        // Filed under the same lock as the stream's end clears the list: a
        // request is either failed by that end or sent on a live stream.
        if (usable && !key.empty()) pending_[key] = pending{st, s.get()};
    }
    if (!usable) {
        if (handshake || !st->may_reconnect)
            return st->finish(std::unexpected(
                failure(upstream_failure::kind::unreachable, "the server's event stream (HTTP+SSE) has ended")));
        spdlog::info("upstreams: {}: the server's event stream has ended; opening a new one", opts_.url);
        return again();
    }
    auto wait = std::make_shared<legacy_wait>(self, st, key);
    if (!st->ex->carry(wait)) return;  // cancelled already: carry() cancelled the wait
    std::weak_ptr<mcp_client> weak = self;
    wait->set_post(s->post(st->message, [weak, st, key, s, handshake, again](std::expected<std::string, upstream_failure> taken) {
        auto self = weak.lock();
        if (!taken) {
            if (self) self->unpend(key, st);
            // The server forgot the session (the stream is closed now): a
            // new one, and this message once more.
            if (self && !s->alive() && !handshake && st->may_reconnect &&
                taken.error().what == upstream_failure::kind::unreachable && !st->answered)
                return again();
            return st->finish(std::unexpected(taken.error()));
        }
        if (key.empty()) return st->finish(json::object());  // a notification or a response: taken is all
        // Some servers answer the request in the POST's own body.
        if (auto m = parse_json(*taken); m && is_response(*m) && (*m)["id"] == st->id) {
            if (self) self->unpend(key, st);
            return st->take(std::move(*m));
        }
        // The answer comes on the stream, within the request's bound.
        if (!self || !self->opts_.later) return;
        const auto bound = st->opts.timeout.value_or(self->opts_.request_timeout);
        self->opts_.later(bound, [weak, st = std::weak_ptr<exchange_state>(st), key, bound] {
            auto state = st.lock();
            if (!state || state->answered) return;
            if (auto self = weak.lock()) self->unpend(key, state);
            state->finish(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                  "no response on the server's event stream within " +
                                                      std::to_string(bound.count()) + " ms")));
        });
    }));
}

void mcp_client::unpend(const std::string& key, const std::shared_ptr<exchange_state>& st) {
    if (key.empty()) return;
    std::lock_guard lock(mu_);
    if (auto it = pending_.find(key); it != pending_.end() && it->second.st == st) pending_.erase(it);
}

void mcp_client::on_stream_message(json m, const legacy_stream* via) {
    if (m.is_array()) {
        for (auto& one : m) on_stream_message(std::move(one), via);
        return;
    }
    if (!m.is_object()) return;
    std::shared_ptr<exchange_state> to;
    message_fn listener;
    std::size_t calls = 0;
    const auto method = string_field(m, "method");
    {
        std::lock_guard lock(mu_);
        if (is_response(m)) {
            if (auto it = pending_.find(to_json(m["id"])); it != pending_.end()) {
                to = std::move(it->second.st);
                pending_.erase(it);
            }
        } else if (method == "notifications/progress") {
            // Progress names its request by the token litemcp sent.
            const auto token = object_field(m, "params").value("progressToken", json());
            for (auto& [key, p] : pending_) {
                const auto meta = object_field(object_field(p.st->message, "params"), "_meta");
                if (!token.is_null() && meta.value("progressToken", json()) == token) to = p.st;
            }
        } else if (method != "ping" && (m.contains("id") || method == "notifications/message")) {
            // A request of the server's, or a log message: the transport does
            // not say which call it is about -- the one call running, if one is.
            for (auto& [key, p] : pending_)
                if (p.via == via && p.st->on_message) {
                    ++calls;
                    to = p.st;
                }
            if (calls != 1) to.reset();
        }
        if (!to) listener = listener_;
    }
    if (to) return to->take(std::move(m));
    if (m.contains("id") && !method.empty() && method != "ping") {
        // Not one call to ask it for: the server gets a clear answer, not silence.
        send(make_error(m["id"], rpc_code::internal_error,
                        "litemcp cannot tell which call '" + method + "' is about: the server speaks the HTTP+SSE "
                        "transport, which does not say, and " + std::to_string(calls) + " calls are running"));
        return;
    }
    if (listener && !method.empty()) listener(std::move(m));
}

void mcp_client::on_stream_end(const legacy_stream* via, const std::string& why) {
    std::vector<std::shared_ptr<exchange_state>> failed;
    std::function<void(bool, std::string)> end;
    {
        std::lock_guard lock(mu_);
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.via != via) {
                ++it;
                continue;
            }
            failed.push_back(std::move(it->second.st));
            it = pending_.erase(it);
        }
        if (stream_.get() == via) {
            stream_.reset();
            end = std::move(listen_end_);
            listen_end_ = nullptr;
        }
    }
    for (auto& st : failed)
        st->finish(std::unexpected(failure(upstream_failure::kind::unreachable, "the server's event stream ended: " + why)));
    if (end) end(false, why);
}

}  // namespace litemcp::server
