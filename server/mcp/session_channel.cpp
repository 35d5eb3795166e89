#include "server/mcp/session_channel.h"

#include <spdlog/spdlog.h>

#include "server/http/answers.h"
#include "server/mcp/input_rounds.h"
#include "server/sessions/interrupted_request.h"
#include "server/json/json_text.h"
#include "server/sessions/session_log.h"

namespace litemcp::server {

using transport::http_response;

namespace {

// The text of a call's response ("{}" for a cancelled call's silent final).
std::string response_text(const call& c, const call_outcome& outcome) {
    if (!outcome) return "{}";
    if (*outcome) return result_text(c.id_key, **outcome);  // without building the message
    return to_json(error_message(c.id, outcome->error()));
}

}  // namespace

session_channel::session_channel(parts p, std::shared_ptr<session_state> s, std::shared_ptr<transport::responder> res,
                                 bool streaming)
    : parts_(p), session_(std::move(s)), res_(std::move(res)), streaming_(streaming) {}

session_channel::stream_start session_channel::start() const {
    // Priming is for resumable streams (2025-11-25 sessions). SEP-1699: a
    // stream closed at once (the client polls with GET + Last-Event-ID) is
    // primed even when priming is off, so the client has an id to resume from.
    const bool resumable = session_->version >= "2025-11-25";
    const bool closes = resumable && parts_.options.close_post_streams;
    return {resumable && (parts_.options.priming || closes), closes};
}

bool session_channel::wants_log(log_level level) const {
    std::lock_guard lock(session_->mu);
    return level >= session_->level;
}

void session_channel::open(const std::shared_ptr<call>&) {
    if (!streaming_ || !res_) return;
    auto sse = res_->start_sse({});
    const auto how = start();
    if (how.priming) sse->send_priming(tag_ + "-" + tag_, parts_.options.retry);
    sse_ = sse;
    if (how.closes_at_once) sse->close();
    else stream_open_ = true;
}

void session_channel::emit(const std::shared_ptr<call>& c, const json& msg) {
    if (session_->ended) return;  // its topic is gone; appending would bring it back
    auto body = std::make_shared<std::string>(to_json(msg));
    // The store completes appends in queue order (one batch at a time), so
    // the stream sees the messages in offset order.
    parts_.st.append_async(session_->topic, session_log::encode(tag_, *body), 0,
                           [this, c, body](store::result<store::append_ack> ack) {
                               if (!ack) {
                                   spdlog::error("session {}: cannot record a message: {}", session_->id,
                                                 ack.error().message);
                                   return;
                               }
                               if (stream_open_) sse_->send(tag_ + "-" + std::to_string(ack->offset), *body);
                           });
}

rpc_result session_channel::request(const std::shared_ptr<call>& c, std::string method, json params,
                                    std::chrono::milliseconds timeout) {
    auto& s = *session_;
    if (auto needed = capability_for(method); needed && !s.client_capabilities.contains(*needed))
        return fail(rpc_code::method_not_found, "the client did not declare the '" + *needed + "' capability");
    if (!streaming_) return fail(rpc_code::internal_error, "server-to-client requests need an SSE response stream");
    const json id = "litemcp-" + std::to_string(s.next_request_id++);
    auto waiter = std::make_shared<pending_reply>();
    {
        std::lock_guard lock(s.mu);
        s.waiting[to_json(id)] = waiter;
    }
    emit(c, make_request(id, method, std::move(params)));
    std::unique_lock lock(waiter->mu);
    const bool answered = waiter->cv.wait_for(lock, std::min(timeout, parts_.options.request_timeout), [&] {
        return waiter->answer.has_value() || c->cancelled->load() || s.ended;
    });
    std::optional<json> answer = std::move(waiter->answer);
    lock.unlock();  // lock order is session then waiter (see pending_reply::wake)
    {
        std::lock_guard l(s.mu);
        s.waiting.erase(to_json(id));
    }
    if (!answered || !answer) return fail(rpc_code::internal_error, "no answer from the client to " + method);
    auto& a = *answer;
    if (a.contains("error")) {
        // The client's error, as far as it is one (a wrong type reads as absent).
        auto& e = a["error"];
        const int code = e.contains("code") && e["code"].is_number_integer() ? e["code"].get<int>() : rpc_code::internal_error;
        const std::string message = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "error";
        return fail(code, message, e.contains("data") ? std::optional<json>(e["data"]) : std::nullopt);
    }
    return a.value("result", json::object());
}

input_outcome session_channel::ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) {
    // Real requests, answered on this stream, one after the other.
    input_answers out;
    for (auto& in : inputs) {
        auto r = request(c, in.method, std::move(in.params), std::chrono::seconds(60));
        if (!r) return std::unexpected(r.error());
        out[in.key] = std::move(*r);
    }
    return out;
}

void session_channel::close_stream() {
    if (!sse_ || !stream_open_.exchange(false)) return;
    sse_->send_retry(parts_.options.retry);
    sse_->close();
}

bool session_channel::release(const call& c) {
    std::lock_guard lock(session_->mu);
    session_->running.erase(c.id_key);
    return session_->interrupted.erase(c.id_key) > 0;
}

void session_channel::finish(const std::shared_ptr<call>& c, call_outcome outcome) {
    auto& s = *session_;
    // The id is free again before the client can see the response (it may
    // reuse it at once); the stream stays live until its final record is in
    // the topic, so a resuming reader that sees "not live" finds it.
    const bool interrupted = release(*c);
    if (s.ended) {  // DELETEd meanwhile: its topic is gone and stays gone
        {
            std::lock_guard lock(s.mu);
            s.live_streams.erase(std::stoull(tag_));
        }
        if (stream_open_.exchange(false)) sse_->close();
        else if (!streaming_ && res_) res_->respond(http_response{404, {}, {}});
        parts_.meter.answered(*c);
        return;
    }
    // Cancelled by the client: no response is sent. Cancelled by a server
    // stop: the client is told, so that it can send the request again.
    if (!outcome && interrupted) outcome = std::unexpected(interrupted_failure());
    const bool silent = !outcome;
    auto body = std::make_shared<std::string>(response_text(*c, outcome));
    const auto flags = session_log::flag_final | (silent ? session_log::flag_silent : 0);
    parts_.st.append_async(s.topic, session_log::encode(tag_, *body), flags,
                           [this, c, body, silent](store::result<store::append_ack> ack) {
                               auto& s = *session_;
                               if (!ack)
                                   spdlog::error("session {}: cannot record the response to {}: {}", s.id,
                                                 c->id_key, ack.error().message);
                               {
                                   std::lock_guard lock(s.mu);
                                   s.live_streams.erase(std::stoull(tag_));
                               }
                               parts_.meter.answered(*c);  // counted before the client sees it
                               if (streaming_) {
                                   if (stream_open_.exchange(false)) {
                                       if (!ack)  // not resumable, but the client is not left waiting
                                           sse_->send_last({}, to_json(make_error(c->id, rpc_code::internal_error,
                                                                                  "the response could not be recorded")));
                                       else if (!silent)
                                           sse_->send_last(tag_ + "-" + std::to_string(ack->offset), *body);
                                       else
                                           sse_->close();
                                   }
                               } else if (res_) {
                                   if (!ack)
                                       res_->respond(http::rpc_error(503, c->id, rpc_code::internal_error,
                                                                     "Service Unavailable: cannot record the response"));
                                   else if (silent)
                                       res_->respond(http_response{202, {}, {}});
                                   else
                                       res_->respond(http::rpc_answer_text(200, std::move(*body)));
                               }
                           });
}

// ---- batch_channel ------------------------------------------------------------

std::optional<std::string> batch_channel::why_not_later(const call&) const {
    return "it is called inside a batch, which is answered at once";
}

void batch_channel::finish(const std::shared_ptr<call>& c, call_outcome outcome) {
    auto& s = *session_;
    json msg = !outcome    ? json::object()
               : *outcome ? make_result(c->id, std::move(**outcome))
                          : error_message(c->id, outcome->error());
    const auto flags = session_log::flag_final | (outcome ? 0 : session_log::flag_silent);
    if (auto r = parts_.st.append(s.topic, session_log::encode(tag_, to_json(msg)), flags); !r)
        spdlog::error("session {}: cannot record the response to {}: {}", s.id, c->id_key, r.error().message);
    {
        std::lock_guard lock(s.mu);
        s.live_streams.erase(std::stoull(tag_));
    }
    if (outcome) answer_ = std::move(msg);
}

}  // namespace litemcp::server
