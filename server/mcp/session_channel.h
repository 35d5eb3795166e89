// The reply channel of a legacy session's request (call.h): every message
// is appended to the session's topic on the request's stream first and
// written to the POST's SSE stream once it is recorded; the answer is the
// stream's final record, then the stream's last event (or the JSON body in
// JSON-response mode). A client that lost the POST stream reads the same
// records back with GET + Last-Event-ID (stream_feeder.h). This is the one
// place where "append to the topic, then write the stream" happens.
//
// Two variants share it: at_once_channel (at_once.h) holds the messages of
// an I/O-thread handler and records everything in one group, and
// batch_channel (below) answers inside a 2025-03-26 batch.
//
// Threading: emit() and finish() may be called from any thread; store
// callbacks write the stream, which is thread-safe. Lifetime: owned by the
// call; store callbacks keep the call alive.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/mcp/call.h"
#include "server/config/config.h"
#include "server/sessions/session.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

class session_channel : public reply_channel {
public:
    struct parts {
        store::store& st;
        const mcp_options& options;
        call_meter& meter;
    };
    // res: the POST's responder (null for a call restored after a restart,
    // which nobody reads but through GET); streaming: SSE (else one JSON body).
    session_channel(parts p, std::shared_ptr<session_state> s, std::shared_ptr<transport::responder> res,
                    bool streaming);

    // The request's record is at `offset`: its stream's tag.
    void recorded_at(std::uint64_t offset) { tag_ = std::to_string(offset); }
    const std::string& tag() const { return tag_; }
    const std::shared_ptr<transport::responder>& responder() const { return res_; }
    bool streaming() const { return streaming_; }

    // How the POST stream starts: with a priming event, and closed right
    // after it (SEP-1699).
    struct stream_start {
        bool priming = false;
        bool closes_at_once = false;
    };
    stream_start start() const;

    const std::string& version() const override { return session_->version; }
    const json& capabilities() const override { return session_->client_capabilities; }
    const std::string& principal() const override { return session_->principal; }
    era rules() const override { return era::stateful; }
    call_origin origin() const override { return {call_origin::kind::session, session_->id, tag_}; }
    bool wants_log(log_level level) const override;
    bool ended() const override { return session_->ended; }
    session_state* session() const override { return session_.get(); }

    void open(const std::shared_ptr<call>& c) override;
    void emit(const std::shared_ptr<call>& c, const json& msg) override;
    rpc_result request(const std::shared_ptr<call>& c, std::string method, json params,
                       std::chrono::milliseconds timeout) override;
    input_outcome ask(const std::shared_ptr<call>& c, std::vector<input_request> inputs) override;
    void close_stream() override;
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override;

protected:
    // The session's bookkeeping when a call ends: its id is free again;
    // whether a server stop interrupted it.
    bool release(const call& c);

    parts parts_;
    std::shared_ptr<session_state> session_;
    std::shared_ptr<transport::responder> res_;
    bool streaming_;
    std::string tag_;
    std::shared_ptr<transport::sse_stream> sse_;  // the POST's stream, once open
    // The POST stream gets each message straight from the handler once it
    // is in the topic; after close_stream() (or SEP-1699 polling) the client
    // reads the rest through GET + Last-Event-ID.
    std::atomic<bool> stream_open_{false};
};

// A request inside a 2025-03-26 batch: messages are recorded (no stream to
// write them to), the answer is recorded at once and kept for the batch's
// one JSON array.
class batch_channel : public session_channel {
public:
    batch_channel(parts p, std::shared_ptr<session_state> s) : session_channel(p, std::move(s), nullptr, false) {}
    std::optional<std::string> why_not_later(const call& c) const override;
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override;
    // The answer for the batch's array; nullopt when the call was cancelled.
    std::optional<json> take_answer() { return std::move(answer_); }

private:
    std::optional<json> answer_;
};

}  // namespace litemcp::server
