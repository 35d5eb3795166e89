#include "server/mcp/session_signals.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/sessions/stream_feeder.h"

namespace litemcp::server {

void session_signals::send(std::string_view channel, const json& payload) {
    if (p_.st.shared()) p_.st.signal(channel, to_json(payload));
}

void session_signals::cancelled(const session_state& s, const json& request_id) {
    send("s-cancel", json{{"s", s.id}, {"r", request_id}});
}

void session_signals::answered(const session_state& s, const json& answer) {
    send("s-answer", json{{"s", s.id}, {"m", answer}});
}

void session_signals::took_get(const session_state& s, std::uint64_t since_ms) {
    send("s-get", json{{"s", s.id}, {"at", since_ms}});
}

void session_signals::ask_live(const std::string& session, std::uint64_t r, std::function<void(bool)> done) {
    p_.st.ask("s-live", to_json(json{{"s", session}, {"r", r}}), live_wait,
              [done = std::move(done)](std::optional<std::string> answer) { done(answer.has_value()); });
}

void session_signals::later(std::function<void()> fn) {
    if (p_.stopping) return;
    p_.timers.at(timer_queue::clock::now() + live_recheck, std::move(fn));
}

std::optional<std::string> session_signals::handle(std::string_view channel, std::string_view payload) {
    if (channel == "s-end") {
        p_.sessions.ended_elsewhere(std::string(payload));
        return std::nullopt;
    }
    if (channel == "s-changed") {
        // Re-reading the record waits for the store: not on this thread.
        (void)p_.handlers.post([this, id = std::string(payload)] { p_.sessions.changed_elsewhere(id); });
        return std::nullopt;
    }
    auto doc = parse_json(payload);
    if (!doc || !doc->is_object() || !(*doc)["s"].is_string()) {
        spdlog::warn("session signal {}: unreadable payload", channel);
        return std::nullopt;
    }
    const auto id = (*doc)["s"].get<std::string>();
    auto s = p_.sessions.loaded_state(id);
    if (channel == "s-cancel") {
        const json& request = (*doc)["r"];
        if (s) cancel_running(*s, to_json(request));
        // A call waiting on a worker here: completing it writes to the store.
        (void)p_.handlers.post([this, id, request] { p_.workers.cancel({call_origin::kind::session, id, {}}, request); });
    } else if (channel == "s-answer") {
        if (s && (*doc)["m"].is_object()) deliver_answer(*s, std::move((*doc)["m"]));
    } else if (channel == "s-live") {
        const auto r = (*doc)["r"].is_number_unsigned() ? (*doc)["r"].get<std::uint64_t>() : 0;
        if (s && s->is_live(r)) return std::string("1");
    } else if (channel == "s-get") {
        const auto at = (*doc)["at"].is_number_unsigned() ? (*doc)["at"].get<std::uint64_t>() : 0;
        std::shared_ptr<stream_feeder> loser;
        if (s) {
            std::lock_guard lock(s->mu);
            if (s->get_stream && s->get_since_ms <= at) loser = std::exchange(s->get_stream, nullptr);
        }
        if (loser) {
            loser->stop(false);
            spdlog::info("session {}: a newer GET stream on another server took over the standalone stream", id);
        }
    }
    return std::nullopt;
}

}  // namespace litemcp::server
