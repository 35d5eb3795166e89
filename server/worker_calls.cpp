// How a call reaches a worker and how the worker hub reaches the calling
// request again (call_sink): progress and results of worker calls go to the
// calling request's stream, exactly like an in-process tool's.
#include <spdlog/spdlog.h>

#include "server/json_text.h"
#include "server/mcp_server_impl.h"

namespace litemcp::server {

rpc_result mcp_server::impl::defer_to_worker(const std::shared_ptr<call>& c, const std::string& worker) {
    if (c->held)  // an I/O-thread handler answers at once; worker tools run on the pool
        return fail(rpc_code::internal_error, "'" + c->params.value("name", c->method) +
                                                  "' is served by a worker and cannot run on the I/O thread");
    if (!c->res && !c->task)
        return fail(rpc_code::invalid_request, "'" + c->params.value("name", c->method) +
                                                   "' is served by a worker, which cannot answer inside a batch");
    call_ticket t{c->session->id, c->tag, c->id, c->progress_token, c->method, c};
    {
        std::lock_guard lock(c->promotion_mu);  // promote() reads it
        c->deferred = true;
    }
    auto queued = workers->submit(worker, std::move(t), c->params);
    if (queued) {
        // Promoted to a task while it was being queued: the task takes it over.
        std::shared_ptr<task> owner;
        {
            std::lock_guard lock(c->promotion_mu);
            if (c->promotion_state == call::promotion::promoted) owner = c->task;
        }
        if (owner) hand_to_worker(owner, *c);
        return json::object();  // ignored: the worker's answer completes the call
    }
    {
        std::lock_guard lock(c->promotion_mu);
        c->deferred = false;
    }
    if (c->method == "tools/call")
        return json{{"content", json::array({{{"type", "text"}, {"text", queued.error()}}})}, {"isError", true}};
    return fail(rpc_code::internal_error, queued.error());
}

// ---- call_sink: the hub's way back to the calling session --------------------

void mcp_server::impl::notify(const call_ticket& t, json notification, std::optional<log_level> level) {
    if (t.live) {
        std::shared_ptr<task> owner;
        {
            std::lock_guard lock(t.live->promotion_mu);
            owner = t.live->task;
        }
        if (owner) return tasks->note(*owner, std::move(notification));
    } else if (t.session_id.starts_with("task/")) {
        if (auto owner = tasks->find(t.session_id.substr(5))) tasks->note(*owner, std::move(notification));
        return;
    }
    auto s = t.live ? t.live->session : sessions->find(t.session_id);
    if (!s || s->ended) return;
    if (level) {
        std::lock_guard lock(s->mu);
        if (*level < s->level) return;
    }
    if (t.live) return emit_on_stream(t.live, notification);
    // Restored after a restart: no request object here; the client reads the
    // stream back with GET + Last-Event-ID.
    st->append_async(s->topic, session_log::encode(t.stream, to_json(notification)), 0, nullptr);
}

void mcp_server::impl::finish(const call_ticket& t, std::optional<json> response) {
    if (t.live) return finish_request(t.live, std::move(response));
    if (t.session_id.starts_with("task/")) {  // restored after a restart: the task waits for it
        if (auto owner = tasks->find(t.session_id.substr(5))) settle_task(owner, nullptr, std::move(response));
        return;
    }
    auto s = sessions->find(t.session_id);
    if (!s) return;  // the session ended or expired meanwhile
    const auto flags = session_log::flag_final | (response ? 0 : session_log::flag_silent);
    const std::uint64_t stream = std::stoull(t.stream);
    st->append_async(s->topic, session_log::encode(t.stream, response ? to_json(*response) : "{}"), flags,
                     [s, stream](store::result<store::append_ack> ack) {
                         if (!ack) spdlog::error("session {}: cannot record a worker's answer: {}", s->id, ack.error().message);
                         std::lock_guard lock(s->mu);
                         s->live_streams.erase(stream);
                     });
}

void mcp_server::impl::restored(const call_ticket& t) {
    if (t.session_id.starts_with("task/")) return;  // the task record says it is the worker's
    auto s = sessions->find(t.session_id);
    if (!s) return;
    std::lock_guard lock(s->mu);
    s->live_streams.insert(std::stoull(t.stream));
}

}  // namespace litemcp::server
