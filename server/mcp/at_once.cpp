#include "server/mcp/at_once.h"

#include <spdlog/spdlog.h>

#include "server/http/answers.h"
#include "server/json/json_text.h"
#include "server/sessions/session_log.h"

namespace litemcp::server {

using transport::http_response;

void at_once_channel::emit(const std::shared_ptr<call>&, const json& msg) { held_.push_back(to_json(msg)); }

rpc_result at_once_channel::request(const std::shared_ptr<call>&, std::string, json, std::chrono::milliseconds) {
    return fail(rpc_code::internal_error, "a tool running on the I/O thread cannot wait for the client");
}

std::optional<std::string> at_once_channel::why_not_later(const call&) const {
    return "it runs on the I/O thread, which answers at once";
}

void at_once_channel::finish(const std::shared_ptr<call>& c, call_outcome outcome) {
    auto& s = *session_;
    release(*c);
    if (s.ended) {  // DELETEd meanwhile: its topic is gone and stays gone
        res_->respond(http::rpc_error(404, c->id, rpc_code::invalid_request,
                                      "Session not found: it ended while the request ran"));
        return parts_.meter.answered(*c);
    }
    // The request, each message (tag ^k: the request k records back) and the
    // response, at consecutive offsets.
    const bool silent = !outcome;
    // A result's text is written without building the message (result_text).
    auto body = std::make_shared<std::string>(silent      ? "{}"
                                              : *outcome ? result_text(c->id_key, **outcome)
                                                         : to_json(error_message(c->id, outcome->error())));
    std::vector<std::string> payloads;
    payloads.reserve(held_.size() + 2);
    payloads.push_back(session_log::encode("", raw_));
    for (auto& m : held_) payloads.push_back(session_log::encode(session_log::relative_tag(payloads.size()), m));
    payloads.push_back(session_log::encode(session_log::relative_tag(payloads.size()), *body));
    std::vector<store::store::record_spec> records;
    records.reserve(payloads.size());
    for (auto& p : payloads) records.push_back({p, 0});
    records.front().flags = session_log::flag_client_request;
    records.back().flags = session_log::flag_final | (silent ? session_log::flag_silent : 0);
    const std::size_t n = records.size();
    parts_.st.append_group_deferred(s.topic, records, [this, c, body, silent, n](store::result<store::append_ack> ack) mutable {
        if (!ack) {
            spdlog::error("session {}: cannot record the request {}: {}", session_->id, c->id_key, ack.error().message);
            res_->respond(http::rpc_error(503, c->id, rpc_code::internal_error,
                                          "Service Unavailable: cannot record the request: " + ack.error().message));
            return parts_.meter.answered(*c);
        }
        const std::uint64_t first = ack->offset + 1 - n;
        recorded_at(first);
        // On the connection's strand: the header, the events and the end go
        // out in one write. (This callback runs once: its captures move on.)
        res_->post([this, c = std::move(c), body = std::move(body), silent, first] {
            // Counted before the client can see it: a client reading
            // /metrics after its answer finds the call there.
            parts_.meter.answered(*c);
            if (!streaming_) {
                if (silent) res_->respond(http_response{202, {}, {}});
                else res_->respond(http::rpc_answer_text(200, std::move(*body)));
                return;
            }
            // The whole stream is known: written at once, the bytes
            // session_channel's open() and sends would write.
            std::vector<transport::sse_event> events;
            events.reserve(held_.size() + 2);
            const auto how = start();
            if (how.priming) events.push_back({tag_ + "-" + tag_, {}, parts_.options.retry, true});
            if (!how.closes_at_once) {
                std::uint64_t offset = first;
                for (auto& m : held_) events.push_back({tag_ + "-" + std::to_string(++offset), std::move(m)});
                ++offset;
                if (!silent) events.push_back({tag_ + "-" + std::to_string(offset), std::move(*body)});
            }
            res_->respond_events({}, std::move(events));
        });
    });
    bursts_.queued(res_);
}

void commit_bursts::queued(const std::shared_ptr<transport::responder>& via) {
    const std::uint64_t seen = ++queued_;
    if (!posted_.exchange(true)) via->post([this, via, seen] { commit(via, seen, 0); });
}

void commit_bursts::commit(std::shared_ptr<transport::responder> via, std::uint64_t seen, unsigned round) {
    // A posted handler runs after the handlers already queued on the I/O
    // thread, and after the reactor's next poll has queued the sockets that
    // became readable meanwhile. While requests keep arriving, the commit
    // moves behind them, up to commit_burst_rounds times: a burst of the
    // whole connection set commits as one batch (one log write, one RocksDB
    // write) without making a lone request wait.
    constexpr unsigned commit_burst_rounds = 3;
    const std::uint64_t now = queued_;
    if (now != seen && round < commit_burst_rounds) {
        via->post([this, via, now, round] { commit(via, now, round + 1); });
        return;
    }
    posted_ = false;
    st_.commit_queued();
}

}  // namespace litemcp::server
