#include "server/upstreams/mcp_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/upstreams/mcp_client_exchange.h"
#include "server/upstreams/modern_request.h"

namespace litemcp::server {

namespace {

// What litemcp offers in initialize: the revision it speaks best; the
// server may answer an older one it supports.
constexpr const char* offered_version = "2025-11-25";
constexpr const char* known_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
// What litemcp relays to the calling client (upstream_instance.h), in both eras.
json client_capabilities() {
    return json{{"sampling", json::object()}, {"elicitation", json::object()}, {"roots", json::object()}};
}
// 2026-07-28: the Tasks extension too, so a server may answer a call with a
// task, which litemcp follows to its end (upstream_tasks.cpp).
json modern_capabilities() {
    json c = client_capabilities();
    c["extensions"] = json{{"io.modelcontextprotocol/tasks", json::object()}};
    return c;
}
json client_info() { return json{{"name", "litemcp"}, {"version", "0.1.0"}}; }
// Resumes of one answer in a row that brought no event: then it failed.
constexpr int max_idle_resumes = 3;
constexpr int max_pages = 100;
constexpr std::size_t max_items = 10'000;

}  // namespace

using mcp_client_detail::failure;
using mcp_client_detail::is_response;

void mcp_client::exchange::cancel() {
    std::shared_ptr<transport::client_exchange> current;
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        current = current_;
    }
    if (current) current->cancel();
}

bool mcp_client::exchange::carry(std::shared_ptr<transport::client_exchange> x) {
    {
        std::lock_guard lock(mu_);
        current_ = x;
        if (!cancelled_) return true;
    }
    x->cancel();
    return false;
}

std::shared_ptr<mcp_client> mcp_client::make(std::shared_ptr<transport::http_client> http, options o) {
    return std::make_shared<mcp_client>(std::move(http), std::move(o));
}

std::string mcp_client::protocol_version() const {
    std::lock_guard lock(mu_);
    return version_;
}

std::string mcp_client::session_id() const {
    std::lock_guard lock(mu_);
    return session_;
}

transport::client_request mcp_client::make_request(const json& message, const request_options& o) const {
    transport::client_request r;
    r.method = "POST";
    r.url = opts_.url;
    r.timeout = o.timeout.value_or(opts_.request_timeout);
    if (o.patient) r.stream_timeout = std::chrono::milliseconds(0);
    r.body = to_json(message);
    r.headers.set("Content-Type", "application/json");
    r.headers.set("Accept", "application/json, text/event-stream");
    const auto method = string_field(message, "method");
    const bool initialize = method == "initialize";
    {
        std::lock_guard lock(mu_);
        if (!initialize && !session_.empty()) r.headers.set("Mcp-Session-Id", session_);
        if (!initialize && !version_.empty()) r.headers.set("MCP-Protocol-Version", version_);
        // server/discover is asked in 2026-07-28 before the server is known to speak it.
        if (modern_ || method == "server/discover")
            modern_request::set_routing_headers(r.headers, message, header_params_);
    }
    for (auto& [k, v] : opts_.headers) r.headers.set(k, v);
    return r;
}

void mcp_client::post(json message, std::shared_ptr<exchange> ex, message_fn on_message, response_fn on_response,
                      bool may_reconnect, request_options o) {
    auto st = std::make_shared<exchange_state>();
    st->id = message.contains("method") && message.contains("id") ? message["id"] : json();
    st->initialize = string_field(message, "method") == "initialize";
    st->message = std::move(message);
    st->ex = std::move(ex);
    st->on_message = std::move(on_message);
    st->on_response = std::move(on_response);
    st->opts = o;
    st->may_reconnect = may_reconnect;
    st->parser = std::make_unique<transport::sse_parser>(opts_.max_message_bytes);
    {
        std::lock_guard lock(mu_);
        st->generation = generation_;
    }
    auto self = shared_from_this();
    // Delivers the answer once; an initialize answer first sets the session.
    st->finish = [self, st = std::weak_ptr<exchange_state>(st)](std::expected<json, upstream_failure> r) {
        auto state = st.lock();
        if (!state) return;
        auto& x = *state;
        if (x.answered.exchange(true)) return;
        if (x.initialize && r && r->contains("result")) {
            const auto version = string_field((*r)["result"], "protocolVersion");
            if (std::find(std::begin(known_versions), std::end(known_versions), version) == std::end(known_versions))
                return x.on_response(std::unexpected(failure(
                    upstream_failure::kind::refused,
                    "the server answered initialize with protocol version '" + version + "', which litemcp does not speak")));
            std::lock_guard lock(self->mu_);
            self->session_ = x.session_header;
            self->version_ = version;
            ++self->generation_;
        }
        x.on_response(std::move(r));
    };
    if (legacy()) return post_legacy(std::move(st));
    auto finish = st->finish;
    transport::client_handlers h;
    h.on_head = [st](const transport::client_response& head) {
        if (auto s = head.headers.get("Mcp-Session-Id")) st->session_header = std::string(*s);
        const auto type = head.headers.get("Content-Type").value_or("");
        st->streaming = head.status == 200 && type.starts_with("text/event-stream");
        return st->streaming;
    };
    h.on_data = [st](std::string_view chunk) { st->feed(chunk); };
    h.on_done = [self, st, finish](transport::result<transport::client_response> r) {
        if (st->answered) return;
        try {
            if (st->broken)
                return finish(std::unexpected(failure(upstream_failure::kind::garbage,
                                                      "the server sent an event larger than " +
                                                          std::to_string(self->opts_.max_message_bytes) + " bytes")));
            if (!r) {
                switch (r.error().code) {
                    case transport::errc::cancelled:
                        return finish(std::unexpected(failure(upstream_failure::kind::cancelled, "cancelled")));
                    case transport::errc::too_large:
                        return finish(std::unexpected(failure(upstream_failure::kind::garbage, r.error().message)));
                    case transport::errc::closed:
                        // The stream broke after an event id: resume it.
                        if (st->streaming && !st->last_id.empty() && !self->modern()) return self->resume(st);
                        [[fallthrough]];
                    default:
                        return finish(std::unexpected(failure(upstream_failure::kind::unreachable, r.error().message)));
                }
            }
            const auto status = r->status;
            if ((status == 404 || status == 400) && st->may_reconnect && !st->initialize) {
                bool had_session;
                std::uint64_t now;
                {
                    std::lock_guard lock(self->mu_);
                    had_session = !self->session_.empty();
                    now = self->generation_;
                }
                if (had_session) {
                    // The server does not know our session (it restarted; some
                    // SDK servers say so with 400): a new one, then the
                    // message once more.
                    st->answered = true;
                    auto again = [self, st](std::expected<json, upstream_failure> c) {
                        if (!c) return st->on_response(std::unexpected(c.error()));
                        self->post(st->message, st->ex, st->on_message, st->on_response, false, st->opts);
                    };
                    if (now != st->generation) return again(json::object());  // another request made the new session
                    spdlog::info("upstreams: {}: the server does not know session {} (HTTP {}); initializing again",
                                 self->opts_.url, self->session_id(), status);
                    return self->connect(std::move(again));
                }
            }
            if (status == 408 || status == 429 || status >= 500)
                return finish(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                      "the server answered HTTP " + std::to_string(status) + ": " +
                                                          answer_snippet(r->body))));
            if (status >= 400 && !st->id.is_null() && !st->streaming) {
                // 2026-07-28 answers a JSON-RPC error with an HTTP error
                // status: the error is the request's answer.
                if (auto body = parse_json(r->body); body && is_response(*body) && (*body)["id"] == st->id &&
                                                     body->contains("error"))
                    return finish(std::move(*body));
            }
            if (status >= 300)
                return finish(std::unexpected(failure(upstream_failure::kind::refused,
                                                      "the server answered HTTP " + std::to_string(status) + ": " +
                                                          answer_snippet(r->body))));
            if (st->streaming) {
                // SEP-1699: a server may end the stream after an event id and
                // let the client resume it.
                if (!st->last_id.empty() && !self->modern()) return self->resume(st);  // 2026-07-28 has no resumption
                return finish(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                      "the server's event stream ended before the response")));
            }
            if (st->id.is_null()) return finish(json::object());  // a notification or response: 202 is all
            auto body = parse_json(r->body);
            if (!body)
                return finish(std::unexpected(failure(upstream_failure::kind::garbage,
                                                      "the server's answer is not JSON: " + answer_snippet(r->body))));
            st->take(std::move(*body));
            if (!st->answered)
                finish(std::unexpected(failure(upstream_failure::kind::garbage,
                                               "the server's answer holds no response to the request: " + answer_snippet(r->body))));
        } catch (const std::exception& e) {
            finish(std::unexpected(failure(upstream_failure::kind::garbage, std::string("the server's answer: ") + e.what())));
        }
    };
    st->ex->carry(http_->send(make_request(st->message, o), std::move(h)));
}

void mcp_client::resume(std::shared_ptr<exchange_state> st) {
    if (!st->got_event && ++st->idle_resumes > max_idle_resumes)
        return st->finish(std::unexpected(failure(upstream_failure::kind::unreachable,
                                                  "the server's event stream ended again and again before the response")));
    if (st->got_event) st->idle_resumes = 0;
    st->got_event = false;
    auto self = shared_from_this();
    auto go = [self, st] {
        transport::client_request r;
        r.method = "GET";
        r.url = self->opts_.url;
        r.timeout = st->opts.timeout.value_or(self->opts_.request_timeout);
        if (st->opts.patient) r.stream_timeout = std::chrono::milliseconds(0);
        r.headers.set("Accept", "text/event-stream");
        r.headers.set("Last-Event-ID", st->last_id);
        {
            std::lock_guard lock(self->mu_);
            if (!self->session_.empty()) r.headers.set("Mcp-Session-Id", self->session_);
            if (!self->version_.empty()) r.headers.set("MCP-Protocol-Version", self->version_);
        }
        for (auto& [k, v] : self->opts_.headers) r.headers.set(k, v);
        st->parser = std::make_unique<transport::sse_parser>(self->opts_.max_message_bytes);
        st->streaming = false;
        // The same handlers as the POST's: a fresh post() state would lose
        // the answer's place, so the GET is sent through one that shares it.
        transport::client_handlers h;
        h.on_head = [st](const transport::client_response& head) {
            st->streaming = head.status == 200 && head.headers.get("Content-Type").value_or("").starts_with("text/event-stream");
            return st->streaming;
        };
        h.on_data = [st](std::string_view chunk) { st->feed(chunk); };

        h.on_done = [self, st](transport::result<transport::client_response> r) {
            if (st->answered) return;
            auto fail = [&](upstream_failure::kind k, std::string m) { st->finish(std::unexpected(failure(k, std::move(m)))); };
            if (st->broken) return fail(upstream_failure::kind::garbage, "the server sent an event that is too large");
            if (!r) {
                if (r.error().code == transport::errc::cancelled) return fail(upstream_failure::kind::cancelled, "cancelled");
                if (r.error().code == transport::errc::closed && st->streaming) return self->resume(st);
                return fail(upstream_failure::kind::unreachable, "resuming the answer: " + r.error().message);
            }
            if (st->streaming) return self->resume(st);
            fail(upstream_failure::kind::unreachable,
                 "resuming the answer: the server answered the GET with HTTP " + std::to_string(r->status));
        };
        st->ex->carry(self->http_->send(std::move(r), std::move(h)));
    };
    // The server's hint, within reason; a short pause without one.
    const auto delay = std::clamp(st->retry.count() > 0 ? st->retry : std::chrono::milliseconds(250),
                                  std::chrono::milliseconds(250), std::chrono::milliseconds(30'000));
    if (opts_.later) return opts_.later(delay, std::move(go));
    go();
}

void mcp_client::connect(std::function<void(std::expected<json, upstream_failure>)> done) {
    if (legacy()) return reconnect_legacy(std::move(done));
    initialize(std::move(done), true);
}

void mcp_client::initialize(std::function<void(std::expected<json, upstream_failure>)> done, bool fall_back) {
    json init = {{"jsonrpc", "2.0"},
                 {"id", "litemcp-" + std::to_string(next_id_++)},
                 {"method", "initialize"},
                 {"params",
                  {{"protocolVersion", offered_version},
                   {"capabilities", client_capabilities()},
                   {"clientInfo", client_info()}}}};
    auto self = shared_from_this();
    post(std::move(init), std::make_shared<exchange>(), nullptr,
         [self, done, fall_back](std::expected<json, upstream_failure> r) {
             if (!r && (r.error().what != upstream_failure::kind::refused || !fall_back)) return done(std::unexpected(r.error()));
             if (!r) return self->discover(r.error().message, done);
             if (r->contains("error") || !(*r)["result"].is_object()) {
                 const auto why = "the server refused initialize: " + to_json(r->value("error", json()));
                 if (!fall_back) return done(std::unexpected(failure(upstream_failure::kind::refused, why)));
                 return self->discover(why, done);
             }
             // The server has the session once it took notifications/initialized.
             json result = (*r)["result"];
             self->post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, std::make_shared<exchange>(),
                        nullptr,
                        [done, result](std::expected<json, upstream_failure> sent) {
                            if (!sent) return done(std::unexpected(sent.error()));
                            done(result);
                        },
                        false, {});
         },
         false, {});
}

void mcp_client::discover(std::string why, std::function<void(std::expected<json, upstream_failure>)> done) {
    json m = {{"jsonrpc", "2.0"},
              {"id", "litemcp-" + std::to_string(next_id_++)},
              {"method", "server/discover"},
              {"params", modern_request::with_envelope(json::object(), modern_capabilities(), client_info())}};
    auto self = shared_from_this();
    post(std::move(m), std::make_shared<exchange>(), nullptr,
         [self, why, done](std::expected<json, upstream_failure> r) {
             // Neither revision's answer: perhaps the HTTP+SSE transport.
             auto refused = [&](const std::string& also) { self->open_legacy(why + "; " + also, done); };
             if (!r) return r.error().what == upstream_failure::kind::refused ? refused("server/discover: " + r.error().message)
                                                                               : done(std::unexpected(r.error()));
             if (r->contains("error") || !(*r)["result"].is_object())
                 return refused("server/discover: " + to_json(r->value("error", json())));
             const json& d = (*r)["result"];
             const auto supported = d.value("supportedVersions", json::array());
             if (!supported.is_array() ||
                 std::find(supported.begin(), supported.end(), json(modern_request::version)) == supported.end())
                 return refused("server/discover lists no version litemcp speaks: " + to_json(supported));
             const json meta = object_field(d, "_meta");
             json info = object_field(meta, "io.modelcontextprotocol/serverInfo");
             if (info.empty()) info = object_field(d, "serverInfo");
             json init{{"protocolVersion", modern_request::version},
                       {"capabilities", object_field(d, "capabilities")},
                       {"serverInfo", info}};
             if (d.contains("instructions") && d["instructions"].is_string()) init["instructions"] = d["instructions"];
             {
                 std::lock_guard lock(self->mu_);
                 self->modern_ = true;
                 self->session_.clear();
                 self->version_ = modern_request::version;
                 ++self->generation_;
             }
             done(std::move(init));
         },
         false, {});
}

void mcp_client::take_tools(const json& tools) {
    auto found = modern_request::header_params_of(tools);
    std::set<std::string> task_tools;
    for (const auto& t : tools)
        if (string_field(object_field(t, "execution"), "taskSupport") == "required") task_tools.insert(string_field(t, "name"));
    std::lock_guard lock(mu_);
    header_params_ = std::move(found);
    task_tools_ = std::move(task_tools);
}

bool mcp_client::needs_task(const std::string& tool) const {
    std::lock_guard lock(mu_);
    return !modern_ && task_tools_.contains(tool);
}

bool mcp_client::modern() const {
    std::lock_guard lock(mu_);
    return modern_;
}

std::shared_ptr<mcp_client::exchange> mcp_client::request(const std::string& method, json params, json id,
                                                          message_fn on_message, response_fn on_response,
                                                          request_options o) {
    auto ex = std::make_shared<exchange>();
    json m = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
    if (modern()) m["params"] = modern_request::with_envelope(std::move(params), modern_capabilities(), client_info());
    else if (!params.is_null()) m["params"] = std::move(params);
    post(std::move(m), ex, std::move(on_message), std::move(on_response), true, o);
    return ex;
}

void mcp_client::send(json message) {
    // 2026-07-28 has no messages of the client's but requests: a
    // cancellation is the end of the request's stream (exchange::cancel).
    if (modern()) return;
    const auto url = opts_.url;
    const auto what = string_field(message, "method").empty() ? std::string("a response") : string_field(message, "method");
    post(std::move(message), std::make_shared<exchange>(), nullptr,
         [url, what](std::expected<json, upstream_failure> r) {
             if (!r && r.error().what != upstream_failure::kind::cancelled)
                 spdlog::debug("upstreams: {}: {} was not taken: {}", url, what, r.error().message);
         },
         true, {});
}

void mcp_client::close() {
    if (legacy()) {
        // The stream is the session: ending it ends the session.
        std::shared_ptr<legacy_stream> s;
        {
            std::lock_guard lock(mu_);
            s = std::move(stream_);
            closed_ = true;
        }
        if (s) s->close();
        return;
    }
    transport::client_request r;
    r.method = "DELETE";
    r.url = opts_.url;
    r.timeout = std::chrono::seconds(5);
    {
        std::lock_guard lock(mu_);
        if (session_.empty()) return;
        r.headers.set("Mcp-Session-Id", session_);
        r.headers.set("MCP-Protocol-Version", version_);
        session_.clear();
    }
    for (auto& [k, v] : opts_.headers) r.headers.set(k, v);
    transport::client_handlers h;
    h.on_done = [](transport::result<transport::client_response>) {};  // a courtesy: whatever comes is fine
    http_->send(std::move(r), std::move(h));
}

std::shared_ptr<mcp_client::exchange> mcp_client::listen(message_fn on_message,
                                                         std::function<void(bool, std::string)> on_end) {
    auto ex = std::make_shared<exchange>();
    if (legacy()) {
        // The session's one stream carries the server's own messages too:
        // they go to on_message until it ends. An ended stream is opened
        // again first (a new session).
        auto self = shared_from_this();
        auto attach = [self, on_message, on_end]() {
            {
                std::lock_guard lock(self->mu_);
                if (self->stream_ && self->stream_->alive()) {
                    self->listener_ = on_message;
                    self->listen_end_ = on_end;
                    return;
                }
            }
            on_end(false, "the server's event stream (HTTP+SSE) has ended");
        };
        bool open;
        {
            std::lock_guard lock(mu_);
            open = stream_ && stream_->alive();
        }
        if (open) attach();
        else
            reconnect_legacy([attach, on_end](std::expected<json, upstream_failure> r) {
                if (!r) return on_end(false, r.error().message);
                attach();
            });
        return ex;
    }
    transport::client_request r;
    r.method = "GET";
    r.url = opts_.url;
    r.timeout = opts_.request_timeout;
    r.stream_timeout = std::chrono::milliseconds(0);
    r.headers.set("Accept", "text/event-stream");
    std::string session, version;
    {
        std::lock_guard lock(mu_);
        session = session_;
        version = version_;
    }
    if (session.empty()) {
        // A server without sessions has nothing to say outside a request.
        on_end(true, "the server keeps no session");
        return ex;
    }
    r.headers.set("Mcp-Session-Id", session);
    r.headers.set("MCP-Protocol-Version", version);
    for (auto& [k, v] : opts_.headers) r.headers.set(k, v);
    struct state {
        explicit state(std::size_t max) : parser(max) {}
        transport::sse_parser parser;
        bool streaming = false;
        bool broken = false;
    };
    auto st = std::make_shared<state>(opts_.max_message_bytes);
    transport::client_handlers h;
    h.on_head = [st](const transport::client_response& head) {
        st->streaming = head.status == 200 &&
                        head.headers.get("Content-Type").value_or("").starts_with("text/event-stream");
        return st->streaming;
    };
    std::weak_ptr<exchange> weak_ex = ex;
    h.on_data = [st, on_message, weak_ex](std::string_view chunk) {
        if (st->broken) return;
        const bool ok = st->parser.feed(chunk, [&](transport::sse_event_in&& e) {
            if (e.data.empty()) return;
            if (auto m = parse_json(e.data); m && m->is_object() && m->contains("method") && (*m)["method"].is_string())
                on_message(std::move(*m));
        });
        if (!ok) {
            st->broken = true;
            if (auto ex = weak_ex.lock()) ex->cancel();
        }
    };
    h.on_done = [st, on_end](transport::result<transport::client_response> r) {
        if (st->broken) return on_end(false, "the server sent an event that is too large");
        if (!r) return on_end(false, r.error().message);
        if (st->streaming) return on_end(false, "the server ended its stream");
        // A 4xx (405 above all): the server offers no stream; a 5xx is worth another try later.
        on_end(r->status >= 400 && r->status < 500, "the server answered the GET with HTTP " + std::to_string(r->status));
    };
    ex->carry(http_->send(std::move(r), std::move(h)));
    return ex;
}

void mcp_client::list_all(const std::string& method, const std::string& field,
                          std::function<void(std::expected<json, upstream_failure>)> done) {
    list_page(method, field, json(), json::array(), 0, std::move(done));
}

void mcp_client::list_page(const std::string& method, const std::string& field, json cursor, json items, int pages,
                           std::function<void(std::expected<json, upstream_failure>)> done) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto self = shared_from_this();
    request(method, std::move(params), "litemcp-" + std::to_string(next_id_++), nullptr,
            [self, method, field, cursor, items = std::move(items), pages, done](std::expected<json, upstream_failure> r) mutable {
                auto garbage = [&](std::string m) { done(std::unexpected(failure(upstream_failure::kind::garbage, method + ": " + m))); };
                if (!r) return done(std::unexpected(r.error()));
                if (r->contains("error"))
                    return done(std::unexpected(failure(upstream_failure::kind::refused,
                                                        method + " failed: " + to_json((*r)["error"]))));
                const auto& result = (*r)["result"];
                if (!result.is_object()) return garbage("the result is not an object");
                auto page = result.find(field);
                if (page != result.end() && !page->is_array()) return garbage(field + " is not a list");
                if (page != result.end())
                    for (auto& x : *page) items.push_back(x);
                if (items.size() > max_items) return garbage("more than 10,000 items");
                auto next = result.find("nextCursor");
                if (next == result.end() || next->is_null() || (next->is_string() && next->get<std::string>().empty()))
                    return done(std::move(items));
                if (*next == cursor) return garbage("the server gave the same cursor again");
                if (pages + 1 >= max_pages) return garbage("more than 100 pages");
                self->list_page(method, field, *next, std::move(items), pages + 1, std::move(done));
            });
}

}  // namespace litemcp::server
