// The fast path of a request whose handler answers without waiting
// (execution::io, e.g. tools/list or an I/O-thread tool): the handler runs
// first, then the request, its messages and its response are recorded as one
// group, and the stream is written in one go. commit_burst commits the
// groups of a burst of such requests as one batch. Measured in
// test/bench/README.md; keep it lean.
#include <spdlog/spdlog.h>

#include "server/json_text.h"
#include "server/mcp_server_impl.h"

namespace litemcp::server {

using transport::http_response;

void mcp_server::impl::serve_at_once(const std::shared_ptr<call>& c, std::string raw) {
    auto& s = *c->session;
    c->held = std::make_unique<std::vector<std::string>>();
    auto outcome = run_handler(c);  // never waits: an I/O-thread handler
    {
        std::lock_guard lock(s.mu);
        s.running.erase(c->id_key);
    }
    auto done = [this, c] {
        observe_duration(*c);
        in_flight--;
    };
    if (s.ended) {  // DELETEd meanwhile: its topic is gone and stays gone
        c->res->respond(error_response(404, c->id, rpc_code::invalid_request,
                                       "Session not found: it ended while the request ran"));
        return done();
    }
    // The request, each message (tag ^k: the request k records back) and the
    // response, at consecutive offsets.
    const bool silent = !outcome;
    std::shared_ptr<std::vector<std::string>> held(std::move(c->held));
    // A result's text is written without building the message (result_text).
    auto body = std::make_shared<std::string>(silent      ? "{}"
                                              : *outcome ? result_text(c->id_key, **outcome)
                                                         : to_json(error_message(c->id, outcome->error())));
    std::vector<std::string> payloads;
    payloads.reserve(held->size() + 2);
    payloads.push_back(session_log::encode("", raw));
    for (auto& m : *held) payloads.push_back(session_log::encode(session_log::relative_tag(payloads.size()), m));
    payloads.push_back(session_log::encode(session_log::relative_tag(payloads.size()), *body));
    std::vector<store::store::record_spec> records;
    records.reserve(payloads.size());
    for (auto& p : payloads) records.push_back({p, 0});
    records.front().flags = session_log::flag_client_request;
    records.back().flags = session_log::flag_final | (silent ? session_log::flag_silent : 0);
    const std::size_t n = records.size();
    st->append_group_deferred(s.topic, records, [this, c, body, silent, n, held, done](store::result<store::append_ack> ack) mutable {
        if (!ack) {
            spdlog::error("session {}: cannot record the request {}: {}", c->session->id, to_json(c->id),
                          ack.error().message);
            c->res->respond(error_response(503, c->id, rpc_code::internal_error,
                                           "Service Unavailable: cannot record the request: " + ack.error().message));
            return done();
        }
        const std::uint64_t first = ack->offset + 1 - n;
        c->tag = std::to_string(first);
        // On the connection's strand: the header, the events and the end go
        // out in one write. (This callback runs once: its captures move on.)
        auto& res = *c->res;
        res.post([this, c = std::move(c), body = std::move(body), silent, first, held = std::move(held),
                  done = std::move(done)] {
            if (!c->streaming) {
                if (silent) c->res->respond(http_response{202, {}, {}});
                else {
                    http_response r;
                    r.status = 200;
                    r.headers.set("Content-Type", "application/json");
                    r.body = std::move(*body);
                    c->res->respond(std::move(r));
                }
                return done();
            }
            // The whole stream is known (a session's call, never ephemeral):
            // written at once, the bytes open_stream and the sends would write.
            std::vector<transport::sse_event> events;
            events.reserve(held->size() + 2);
            const auto start = stream_start_of(*c);
            if (start.priming) events.push_back({c->tag + "-" + c->tag, {}, cfg.mcp.retry, true});
            if (!start.closes_at_once) {
                std::uint64_t offset = first;
                for (auto& m : *held) events.push_back({c->tag + "-" + std::to_string(++offset), std::move(m)});
                ++offset;
                if (!silent) events.push_back({c->tag + "-" + std::to_string(offset), std::move(*body)});
            }
            c->res->respond_events({}, std::move(events));
            done();
        });
    });
    const std::uint64_t seen = ++deferred_calls;
    if (!commit_posted.exchange(true))
        c->res->post([this, via = c->res, seen] { commit_burst(via, seen, 0); });
}

void mcp_server::impl::commit_burst(std::shared_ptr<transport::responder> via, std::uint64_t seen, unsigned round) {
    // A posted handler runs after the handlers already queued on the I/O
    // thread, and after the reactor's next poll has queued the sockets that
    // became readable meanwhile. While requests keep arriving, the commit
    // moves behind them, up to commit_burst_rounds times: a burst of the
    // whole connection set commits as one batch (one log write, one RocksDB
    // write) without making a lone request wait.
    constexpr unsigned commit_burst_rounds = 3;
    const std::uint64_t now = deferred_calls;
    if (now != seen && round < commit_burst_rounds) {
        via->post([this, via, now, round] { commit_burst(via, now, round + 1); });
        return;
    }
    commit_posted = false;
    st->commit_queued();
}

}  // namespace litemcp::server
