#include "server/upstreams/mcp_client.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "transport/sse_parser.h"

namespace litemcp::server {

namespace {

// What litemcp offers in initialize: the revision it speaks best; the
// server may answer an older one it supports.
constexpr const char* offered_version = "2025-11-25";
constexpr const char* known_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

bool is_response(const json& m) {
    return m.is_object() && m.contains("id") && !m.contains("method") && (m.contains("result") || m.contains("error"));
}

std::string snippet(std::string_view body) {
    std::string s(body.substr(0, 200));
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

upstream_failure failure(upstream_failure::kind k, std::string message) { return {k, std::move(message)}; }

}  // namespace

void mcp_client::exchange::cancel() {
    std::shared_ptr<transport::client_exchange> current;
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        current = current_;
    }
    if (current) current->cancel();
}

std::shared_ptr<mcp_client> mcp_client::make(transport::http_client& http, options o) {
    return std::make_shared<mcp_client>(http, std::move(o));
}

std::string mcp_client::protocol_version() const {
    std::lock_guard lock(mu_);
    return version_;
}

std::string mcp_client::session_id() const {
    std::lock_guard lock(mu_);
    return session_;
}

transport::client_request mcp_client::make_request(const json& message) const {
    transport::client_request r;
    r.method = "POST";
    r.url = opts_.url;
    r.timeout = opts_.request_timeout;
    r.body = to_json(message);
    r.headers.set("Content-Type", "application/json");
    r.headers.set("Accept", "application/json, text/event-stream");
    const bool initialize = message.value("method", "") == "initialize";
    {
        std::lock_guard lock(mu_);
        if (!initialize && !session_.empty()) r.headers.set("Mcp-Session-Id", session_);
        if (!initialize && !version_.empty()) r.headers.set("MCP-Protocol-Version", version_);
    }
    for (auto& [k, v] : opts_.headers) r.headers.set(k, v);
    return r;
}

void mcp_client::post(json message, std::shared_ptr<exchange> ex, message_fn on_message, response_fn on_response,
                      bool may_reconnect) {
    // The state of one HTTP exchange, shared by its callbacks (all on the
    // HTTP client's thread, one at a time).
    struct state {
        explicit state(std::size_t max) : parser(max) {}
        transport::sse_parser parser;
        bool streaming = false;
        bool answered = false;
        bool broken = false;  // an event was too large: the exchange is cancelled
        std::string session_header;
    };
    auto st = std::make_shared<state>(opts_.max_message_bytes);
    const bool is_request = message.contains("method") && message.contains("id");
    const bool initialize = message.value("method", "") == "initialize";
    const json id = is_request ? message["id"] : json();
    std::uint64_t generation;
    {
        std::lock_guard lock(mu_);
        generation = generation_;
    }
    auto self = shared_from_this();
    // Delivers the response once: an initialize answer first sets the session.
    auto respond = [self, st, initialize, on_response](std::expected<json, upstream_failure> r) {
        if (st->answered) return;
        st->answered = true;
        if (initialize && r && r->contains("result")) {
            const auto& result = (*r)["result"];
            const auto version = result.value("protocolVersion", "");
            if (std::find(std::begin(known_versions), std::end(known_versions), version) == std::end(known_versions))
                return on_response(std::unexpected(failure(
                    upstream_failure::kind::refused,
                    "the server answered initialize with protocol version '" + version + "', which litemcp does not speak")));
            std::lock_guard lock(self->mu_);
            self->session_ = st->session_header;
            self->version_ = version;
            ++self->generation_;
        }
        on_response(std::move(r));
    };
    auto handle = [st, id, on_message, respond](json m) {
        if (st->answered) return;
        if (is_response(m)) {
            if (m["id"] == id) respond(std::move(m));
            return;
        }
        if (on_message && m.is_object() && m.contains("method")) on_message(std::move(m));
    };

    transport::client_handlers h;
    h.on_head = [st](const transport::client_response& head) {
        if (auto s = head.headers.get("Mcp-Session-Id")) st->session_header = std::string(*s);
        const auto type = head.headers.get("Content-Type").value_or("");
        st->streaming = head.status == 200 && type.starts_with("text/event-stream");
        return st->streaming;
    };
    std::weak_ptr<exchange> weak_ex = ex;
    h.on_data = [st, handle, weak_ex](std::string_view chunk) {
        if (st->broken || st->answered) return;
        const bool ok = st->parser.feed(chunk, [&](transport::sse_event_in&& e) {
            if (e.data.empty()) return;  // a priming event
            auto m = parse_json(e.data);
            if (m) handle(std::move(*m));
        });
        if (!ok) {
            st->broken = true;
            if (auto ex = weak_ex.lock()) ex->cancel();
        }
    };
    h.on_done = [self, st, message, ex, on_message, on_response, respond, handle, is_request, generation,
                 may_reconnect, max = opts_.max_message_bytes](transport::result<transport::client_response> r) {
        if (st->answered) return;
        if (st->broken)
            return respond(std::unexpected(failure(upstream_failure::kind::garbage,
                                                   "the server sent an event larger than " + std::to_string(max) + " bytes")));
        if (!r) {
            if (r.error().code == transport::errc::cancelled)
                return respond(std::unexpected(failure(upstream_failure::kind::cancelled, "cancelled")));
            if (r.error().code == transport::errc::too_large)
                return respond(std::unexpected(failure(upstream_failure::kind::garbage, r.error().message)));
            return respond(std::unexpected(failure(upstream_failure::kind::unreachable, r.error().message)));
        }
        const auto status = r->status;
        if (status == 404 && may_reconnect) {
            bool had_session;
            {
                std::lock_guard lock(self->mu_);
                had_session = !self->session_.empty();
            }
            if (had_session) {
                // The server forgot our session (it restarted): a new one,
                // then this message once more.
                st->answered = true;
                auto again = [self, message, ex, on_message, on_response](std::expected<json, upstream_failure> c) {
                    if (!c) return on_response(std::unexpected(c.error()));
                    self->post(message, ex, on_message, on_response, false);
                };
                std::uint64_t now;
                {
                    std::lock_guard lock(self->mu_);
                    now = self->generation_;
                }
                if (now != generation) return again(json::object());  // another request made the new session
                spdlog::info("upstreams: {}: the server forgot session {}; initializing again", self->opts_.url,
                             self->session_id());
                return self->connect(std::move(again));
            }
        }
        if (status == 408 || status == 429 || status >= 500)
            return respond(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                   "the server answered HTTP " + std::to_string(status) + ": " +
                                                       snippet(r->body))));
        if (status >= 300)
            return respond(std::unexpected(failure(upstream_failure::kind::refused,
                                                   "the server answered HTTP " + std::to_string(status) + ": " +
                                                       snippet(r->body))));
        if (st->streaming)
            return respond(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                   "the server's event stream ended before the response")));
        if (!is_request) return respond(json::object());  // a notification or response: 202 is all
        auto body = parse_json(r->body);
        if (!body)
            return respond(std::unexpected(failure(upstream_failure::kind::garbage,
                                                   "the server's answer is not JSON: " + snippet(r->body))));
        if (body->is_array()) {
            for (auto& m : *body) handle(std::move(m));
        } else {
            handle(std::move(*body));
        }
        if (!st->answered)
            respond(std::unexpected(failure(upstream_failure::kind::garbage,
                                            "the server's answer holds no response to the request: " + snippet(r->body))));
    };
    auto sent = http_.send(make_request(message), std::move(h));
    std::lock_guard lock(ex->mu_);
    ex->current_ = sent;
    if (ex->cancelled_) sent->cancel();
}

void mcp_client::connect(std::function<void(std::expected<json, upstream_failure>)> done) {
    json init = {{"jsonrpc", "2.0"},
                 {"id", "litemcp-" + std::to_string(next_id_++)},
                 {"method", "initialize"},
                 {"params",
                  {{"protocolVersion", offered_version},
                   {"capabilities", json::object()},
                   {"clientInfo", {{"name", "litemcp"}, {"version", "0.1.0"}}}}}};
    auto self = shared_from_this();
    post(std::move(init), std::make_shared<exchange>(), nullptr,
         [self, done](std::expected<json, upstream_failure> r) {
             if (!r) return done(std::unexpected(r.error()));
             if (r->contains("error"))
                 return done(std::unexpected(failure(upstream_failure::kind::refused,
                                                     "the server refused initialize: " + to_json((*r)["error"]))));
             self->send(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
             done((*r)["result"]);
         },
         false);
}

std::shared_ptr<mcp_client::exchange> mcp_client::request(const std::string& method, json params, json id,
                                                          message_fn on_message, response_fn on_response) {
    auto ex = std::make_shared<exchange>();
    json m = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
    if (!params.is_null()) m["params"] = std::move(params);
    post(std::move(m), ex, std::move(on_message), std::move(on_response), true);
    return ex;
}

void mcp_client::send(json message) {
    const auto url = opts_.url;
    const auto what = message.value("method", std::string("a response"));
    post(std::move(message), std::make_shared<exchange>(), nullptr,
         [url, what](std::expected<json, upstream_failure> r) {
             if (!r && r.error().what != upstream_failure::kind::cancelled)
                 spdlog::debug("upstreams: {}: {} was not taken: {}", url, what, r.error().message);
         },
         true);
}

void mcp_client::list_all(const std::string& method, const std::string& field,
                          std::function<void(std::expected<json, upstream_failure>)> done) {
    list_page(method, field, json(), json::array(), std::move(done));
}

void mcp_client::list_page(const std::string& method, const std::string& field, json cursor, json items,
                           std::function<void(std::expected<json, upstream_failure>)> done) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto self = shared_from_this();
    request(method, std::move(params), "litemcp-" + std::to_string(next_id_++), nullptr,
            [self, method, field, items = std::move(items), done](std::expected<json, upstream_failure> r) mutable {
                if (!r) return done(std::unexpected(r.error()));
                if (r->contains("error"))
                    return done(std::unexpected(failure(upstream_failure::kind::refused,
                                                        method + " failed: " + to_json((*r)["error"]))));
                const auto& result = (*r)["result"];
                const auto page = result.value(field, json::array());
                if (!page.is_array())
                    return done(std::unexpected(failure(upstream_failure::kind::garbage, method + ": " + field + " is not a list")));
                for (auto& x : page) items.push_back(x);
                if (items.size() > 10'000)
                    return done(std::unexpected(failure(upstream_failure::kind::garbage, method + ": more than 10,000 items")));
                if (auto next = result.find("nextCursor"); next != result.end() && next->is_string() && !next->get<std::string>().empty())
                    return self->list_page(method, field, *next, std::move(items), std::move(done));
                done(std::move(items));
            });
}

}  // namespace litemcp::server
