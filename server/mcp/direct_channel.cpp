#include "server/mcp/direct_channel.h"

#include "server/http/answers.h"
#include "server/mcp/input_rounds.h"
#include "server/json/json_text.h"

namespace litemcp::server {

using transport::http_response;

namespace {
std::atomic<std::uint64_t> requests{0};
}

direct_channel::direct_channel(parts p, caller who, std::shared_ptr<transport::responder> res, bool streaming)
    : parts_(p), who_(std::move(who)), res_(std::move(res)), streaming_(streaming), number_(++requests) {}

call_origin direct_channel::origin() const {
    std::lock_guard lock(mu_);
    if (task_) return task_->origin();
    return {call_origin::kind::direct, std::to_string(number_), {}};
}

std::shared_ptr<task> direct_channel::owning_task() const {
    std::lock_guard lock(mu_);
    return task_ ? task_->owning_task() : nullptr;
}

void direct_channel::cancel_when_gone(const std::shared_ptr<call>& c) {
    auto cancel = [this, weak = std::weak_ptr<call>(c)] {
        auto c = weak.lock();
        if (!c) return;  // (the channel lives as long as its call)
        if (streaming_ && !stream_open_.exchange(false)) return;  // closed by the server after the answer
        c->cancelled->store(true);
        if (c->deferred) parts_.workers.cancel(origin(), c->id);
    };
    if (streaming_) sse_->on_closed(std::move(cancel));
    else if (c->runs_on != execution::io) res_->on_disconnect(std::move(cancel));  // io: answered at once
}

void direct_channel::open(const std::shared_ptr<call>& c) {
    if (streaming_) {
        sse_ = res_->start_sse({});
        stream_open_ = true;
    }
    cancel_when_gone(c);
}

void direct_channel::emit(const std::shared_ptr<call>& c, const json& msg) {
    std::shared_ptr<reply_channel> to;
    {
        std::lock_guard lock(mu_);
        to = task_;
    }
    if (to) return to->emit(c, msg);
    if (stream_open_) sse_->send({}, to_json(msg));
}

rpc_result direct_channel::request(const std::shared_ptr<call>& c, std::string method, json params,
                                   std::chrono::milliseconds) {
    return request_in_rounds(*c, who_.capabilities, std::move(method), std::move(params));
}

input_outcome direct_channel::ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) {
    return ask_in_rounds(*c, who_.capabilities, std::move(inputs));
}

void direct_channel::close_stream() {
    if (!sse_ || !stream_open_.exchange(false)) return;
    sse_->send_retry(parts_.retry);
    sse_->close();
}

void direct_channel::answer_now(const json& msg) {
    if (!streaming_) {
        // A missing capability is a 400 in 2026-07-28; other errors ride a 200.
        const bool refused = msg.contains("error") && msg["error"].value("code", 0) == rpc_code::missing_capability;
        return res_->respond(http::rpc_answer(refused ? 400 : 200, msg));
    }
    if (!stream_open_.exchange(false)) return;
    sse_->send_last({}, to_json(msg));
}

void direct_channel::finish(const std::shared_ptr<call>& c, call_outcome outcome) {
    std::shared_ptr<reply_channel> to;
    {
        std::lock_guard lock(mu_);
        const auto state = state_;
        if (state == promotion::armed) state_ = promotion::answered;  // too late to become a task
        if (state == promotion::promoted || state == promotion::answered) to = task_;
        if (state == promotion::promoted || state == promotion::answered) {
            // The client has its answer (the task's handle, or an error);
            // the outcome is the task's.
            if (!c->deferred) parts_.meter.left();
            if (!to) return;
        }
    }
    if (to) return to->finish(c, std::move(outcome));
    parts_.meter.answered(*c);  // counted before the client sees it
    if (!outcome) {  // cancelled: the stream just ends; a JSON answer gets 202
        if (!streaming_) res_->respond(http_response{202, {}, {}});
        else if (stream_open_.exchange(false)) sse_->close();
    } else {
        answer_now(parts_.results.response(*c, who_.principal, std::move(*outcome)));
    }
}

bool direct_channel::arm_promotion() {
    std::lock_guard lock(mu_);
    if (state_ == promotion::none) state_ = promotion::armed;
    return true;
}

bool direct_channel::promote(const std::shared_ptr<call>& c, const task_maker& make) {
    std::lock_guard lock(mu_);
    if (state_ != promotion::armed) return false;  // answered meanwhile
    auto made = make();
    if (!made) {  // the client gets the error; the handler's own answer is dropped
        state_ = promotion::answered;
        c->cancelled->store(true);
        answer_now(make_error(c->id, made.error().code, made.error().message, made.error().data));
        return false;
    }
    state_ = promotion::promoted;
    task_ = made->channel;
    answer_now(make_result(c->id, parts_.results.decorate("tools/call", std::move(made->handle))));
    return true;
}

}  // namespace litemcp::server
