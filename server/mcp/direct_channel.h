// The reply channel of a 2026-07-28 request (call.h): no session and no
// topic. Messages go straight to the response's SSE stream (or nowhere, for
// a JSON answer); the answer is the stream's last event or the JSON body,
// in its 2026-07-28 form (stateless_results.h). Input comes back in rounds
// (input_rounds.h). A client that closes the stream, or the connection of a
// JSON answer, cancels the request: there is no notifications/cancelled
// over HTTP.
//
// Such a call may become a task while it runs (task_promote, task_runner.h):
// promote() answers the client at once with the task's handle, and from
// then on the call's messages and its answer go to the task's channel.
//
// Threading: thread-safe (the promotion state under a mutex). Lifetime:
// owned by the call.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "server/mcp/stateless_results.h"
#include "server/workers/worker_hub.h"
#include "transport/http_server.h"

namespace litemcp::server {

class direct_channel : public reply_channel {
public:
    struct parts {
        const stateless_results& results;
        call_meter& meter;
        worker_hub& workers;  // a call waiting on a worker is cancelled with its client
        std::chrono::milliseconds retry;
    };
    // Who asked: what the request's _meta envelope says.
    struct caller {
        std::string version;
        json capabilities;
        std::string principal;
        std::optional<log_level> level;  // without one, no notifications/message at all
    };
    // streaming: answer with SSE (else one JSON body).
    direct_channel(parts p, caller who, std::shared_ptr<transport::responder> res, bool streaming);

    const std::string& version() const override { return who_.version; }
    const json& capabilities() const override { return who_.capabilities; }
    const std::string& principal() const override { return who_.principal; }
    era rules() const override { return era::stateless; }
    call_origin origin() const override;
    bool wants_log(log_level level) const override { return who_.level && level >= *who_.level; }
    std::shared_ptr<task> owning_task() const override;

    void open(const std::shared_ptr<call>& c) override;
    void emit(const std::shared_ptr<call>& c, const json& msg) override;
    rpc_result request(const std::shared_ptr<call>& c, std::string method, json params,
                       std::chrono::milliseconds timeout) override;
    input_outcome ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) override;
    void close_stream() override;
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override;

    bool arm_promotion() override;
    bool promote(const std::shared_ptr<call>& c, const task_maker& make) override;

private:
    // The call's one answer, on the stream or as the body.
    void answer_now(const json& msg);
    void cancel_when_gone(const std::shared_ptr<call>& c);

    parts parts_;
    caller who_;
    std::shared_ptr<transport::responder> res_;
    bool streaming_;
    std::uint64_t number_;  // unique in this process: the origin's id
    std::shared_ptr<transport::sse_stream> sse_;
    std::atomic<bool> stream_open_{false};
    mutable std::mutex mu_;
    enum class promotion { none, armed, answered, promoted } state_ = promotion::none;
    std::shared_ptr<reply_channel> task_;  // the task's channel, once promoted
};

}  // namespace litemcp::server
