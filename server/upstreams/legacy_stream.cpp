#include "server/upstreams/legacy_stream.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cctype>

#include "server/json/json_text.h"
#include "transport/sse_parser.h"

namespace litemcp::server {

namespace {

upstream_failure failure(upstream_failure::kind k, std::string message) { return {k, std::move(message)}; }

std::string host_of(const boost::urls::url_view_base& u) {
    std::string h(u.encoded_host());
    for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return h;
}

std::uint16_t port_of(const boost::urls::url_view_base& u) {
    if (u.has_port()) return u.port_number();
    return u.scheme_id() == boost::urls::scheme::https ? 443 : 80;
}

}  // namespace

std::expected<std::string, std::string> legacy_stream::resolve(const std::string& endpoint) const {
    auto base = boost::urls::parse_uri(opts_.url);
    auto ref = boost::urls::parse_uri_reference(endpoint);
    if (!base || !ref) return std::unexpected("its endpoint event names no URL: '" + answer_snippet(endpoint) + "'");
    boost::urls::url dest;
    if (auto r = boost::urls::resolve(*base, *ref, dest); !r)
        return std::unexpected("its endpoint '" + answer_snippet(endpoint) + "' does not resolve against " + opts_.url);
    dest.remove_fragment();
    if (dest.scheme_id() != base->scheme_id() || host_of(dest) != host_of(*base) || port_of(dest) != port_of(*base))
        return std::unexpected("its endpoint '" + answer_snippet(endpoint) + "' is on another origin than " + opts_.url);
    return std::string(dest.buffer());
}

void legacy_stream::open(std::shared_ptr<transport::http_client> http, options o, std::function<void(json)> on_message,
                         std::function<void(std::string why)> on_end, opened_fn opened) {
    auto self = std::make_shared<legacy_stream>(std::move(http), std::move(o));
    // What the GET's handlers share; they run one at a time.
    struct state {
        explicit state(std::size_t max) : parser(max) {}
        transport::sse_parser parser;
        bool streaming = false;
        std::string broken;  // why the stream was given up
        std::mutex mu;       // opened: the endpoint event and the bound may race
        opened_fn opened;    // null once run
        // Runs opened once; false when it has run already.
        bool open_with(std::expected<std::shared_ptr<legacy_stream>, upstream_failure> r) {
            opened_fn f;
            {
                std::lock_guard lock(mu);
                f = std::move(opened);
                opened = nullptr;
            }
            if (!f) return false;
            f(std::move(r));
            return true;
        }
    };
    auto st = std::make_shared<state>(self->opts_.max_message_bytes);
    st->opened = std::move(opened);

    transport::client_request r;
    r.method = "GET";
    r.url = self->opts_.url;
    r.timeout = self->opts_.request_timeout;
    r.stream_timeout = std::chrono::milliseconds(0);  // a session's stream may stay silent: the pings say it lives
    r.headers.set("Accept", "text/event-stream");
    for (auto& [k, v] : self->opts_.headers) r.headers.set(k, v);

    transport::client_handlers h;
    h.on_head = [st](const transport::client_response& head) {
        st->streaming = head.status == 200 &&
                        head.headers.get("Content-Type").value_or("").starts_with("text/event-stream");
        return st->streaming;
    };
    // The handlers hold the stream until on_done, the last of them, has run.
    h.on_data = [st, self, on_message](std::string_view chunk) {
        if (!st->broken.empty()) return;
        const bool fits = st->parser.feed(chunk, [&](transport::sse_event_in&& e) {
            if (!st->broken.empty()) return;
            if (e.event == "endpoint") {
                if (!self->endpoint_.empty()) return;  // one per stream; a second one is ignored
                auto url = self->resolve(e.data);
                if (!url) {
                    st->broken = "the server's " + url.error();
                    st->open_with(std::unexpected(failure(upstream_failure::kind::refused, st->broken)));
                    return self->close();
                }
                self->endpoint_ = std::move(*url);
                self->alive_ = true;
                if (st->open_with(self)) return;
                st->broken = "its endpoint event came after the bound";  // opened was told so
                return self->close();
            }
            if (self->endpoint_.empty() || (!e.event.empty() && e.event != "message") || e.data.empty()) return;
            if (auto m = parse_json(e.data)) on_message(std::move(*m));
        });
        if (!fits) {
            st->broken = "the server sent an event larger than " + std::to_string(self->opts_.max_message_bytes) + " bytes";
            self->close();
        }
    };
    h.on_done = [st, self, on_end](transport::result<transport::client_response> r) {
        self->alive_ = false;
        {
            std::lock_guard lock(self->mu_);
            self->get_.reset();
            self->ended_ = true;
        }
        std::string why = !st->broken.empty() ? st->broken
                          : !r            ? r.error().message
                          : st->streaming ? std::string("the server ended its event stream")
                                          : "the server answered the GET with HTTP " + std::to_string(r->status) +
                                                (r->body.empty() ? "" : ": " + answer_snippet(r->body));
        const bool unreachable = !r || (r->status == 408 || r->status == 429 || r->status >= 500);
        if (st->open_with(std::unexpected(failure(
                unreachable ? upstream_failure::kind::unreachable : upstream_failure::kind::refused,
                st->streaming ? "the server's event stream ended before its endpoint event: " + why : why))))
            return;
        on_end(std::move(why));
    };
    auto get = self->http_->send(std::move(r), std::move(h));
    {
        std::lock_guard lock(self->mu_);
        if (!self->ended_) self->get_ = get;
    }
    if (self->opts_.later)
        self->opts_.later(self->opts_.request_timeout, [st, self] {
            if (st->open_with(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                       "no endpoint event within " +
                                                           std::to_string(self->opts_.request_timeout.count()) + " ms"))))
                self->close();
        });
}

std::shared_ptr<transport::client_exchange> legacy_stream::post(
    const json& message, std::function<void(std::expected<std::string, upstream_failure>)> taken) {
    transport::client_request r;
    r.method = "POST";
    r.url = endpoint_;
    r.timeout = opts_.request_timeout;
    r.body = to_json(message);
    r.headers.set("Content-Type", "application/json");
    for (auto& [k, v] : opts_.headers) r.headers.set(k, v);
    transport::client_handlers h;
    std::weak_ptr<legacy_stream> weak = shared_from_this();
    h.on_done = [weak, taken = std::move(taken)](transport::result<transport::client_response> r) {
        using kind = upstream_failure::kind;
        if (!r)
            return taken(std::unexpected(failure(r.error().code == transport::errc::cancelled ? kind::cancelled : kind::unreachable,
                                                 r.error().message)));
        const auto status = r->status;
        if (status >= 200 && status < 300) return taken(std::move(r->body));
        const auto what = "the server answered the message's POST with HTTP " + std::to_string(status) +
                          (r->body.empty() ? "" : ": " + answer_snippet(r->body));
        if (status == 400 || status == 404) {
            // The server does not know the session (it restarted; the SDK's
            // examples say so with 400): the stream is done with.
            if (auto self = weak.lock()) self->close();
            return taken(std::unexpected(failure(kind::unreachable, "the server does not know the session: " + what)));
        }
        const bool again = status == 408 || status == 429 || status >= 500;
        taken(std::unexpected(failure(again ? kind::unreachable : kind::refused, what)));
    };
    return http_->send(std::move(r), std::move(h));
}

void legacy_stream::close() {
    alive_ = false;
    std::shared_ptr<transport::client_exchange> get;
    {
        std::lock_guard lock(mu_);
        get = std::move(get_);
    }
    if (get) get->cancel();
}

}  // namespace litemcp::server
