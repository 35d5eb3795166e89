// Private to mcp_client: one request of the caller's and its answer, shared
// by the Streamable HTTP exchange (mcp_client.cpp) and the HTTP+SSE
// transport (mcp_client_legacy.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/json/json_text.h"
#include "server/upstreams/mcp_client.h"
#include "transport/sse_parser.h"

namespace litemcp::server {

namespace mcp_client_detail {

inline bool is_response(const json& m) {
    return m.is_object() && m.contains("id") && !m.contains("method") && (m.contains("result") || m.contains("error"));
}

inline upstream_failure failure(upstream_failure::kind k, std::string message) { return {k, std::move(message)}; }

}  // namespace mcp_client_detail

// One request of the caller's and its answer, over one POST and the GETs
// that resume its stream. Its callbacks run on the HTTP client's thread, one
// at a time.
struct mcp_client::exchange_state {
    json message;
    json id;  // null: a notification or response of ours
    bool initialize = false;
    std::shared_ptr<exchange> ex;
    message_fn on_message;
    response_fn on_response;
    request_options opts;
    bool may_reconnect = true;
    std::uint64_t generation = 0;  // the session it was sent on

    // The HTTP exchange now carrying it.
    std::unique_ptr<transport::sse_parser> parser;
    bool streaming = false;
    bool broken = false;  // an event too large: the exchange was cancelled
    std::string session_header;
    // The answer so far (atomic: over the HTTP+SSE transport a cancel or the
    // bound may race the stream's response).
    std::atomic<bool> answered{false};
    std::string last_id;  // the stream's last event id: where a resume starts
    std::chrono::milliseconds retry{0};
    int idle_resumes = 0;
    bool got_event = false;  // since the last (re)start
    // Delivers the answer once (set by post()).
    std::function<void(std::expected<json, upstream_failure>)> finish;

    // A message of the server's (or a batch): ours answered, or one for on_message.
    void take(json m) {
        if (m.is_array()) {
            for (auto& one : m) take(std::move(one));
            return;
        }
        if (answered) return;
        if (mcp_client_detail::is_response(m)) {
            if (m["id"] == id) finish(std::move(m));
            return;
        }
        if (on_message && m.is_object() && m.contains("method") && m["method"].is_string()) on_message(std::move(m));
    }
    // A piece of the answer's event stream; a message that breaks MCP's
    // rules, or an event past the bound, fails the exchange.
    void feed(std::string_view chunk) {
        if (broken || answered) return;
        bool ok = true;
        try {
            ok = parser->feed(chunk, [&](transport::sse_event_in&& e) {
                // Progress, for the resumes' bound: a new event id or a message.
                if (!e.id.empty() && e.id != last_id) got_event = true;
                if (!e.id.empty()) last_id = e.id;
                if (e.retry) retry = *e.retry;
                if (e.data.empty()) return;  // a priming event
                got_event = true;
                if (auto m = parse_json(e.data)) take(std::move(*m));
            });
        } catch (const std::exception&) {
            ok = false;
        }
        if (!ok) {
            broken = true;
            ex->cancel();
        }
    }
};

}  // namespace litemcp::server

