// How a call reaches a worker (method_services::defer_to_worker): the call's
// origin and the request go into the worker's queue, and the worker's
// answer completes the call later through its reply channel (the hub's way
// back is worker_sink.cpp).
#include "server/mcp/dispatcher.h"
#include "server/mcp/parked_inputs.h"
#include "server/mcp/task_runner.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

rpc_result method_services::defer_to_worker(const std::shared_ptr<call>& c, const std::string& worker) const {
    if (auto why = c->channel->why_not_later(*c))
        return fail(rpc_code::internal_error,
                    "'" + c->params.value("name", c->method) + "' is served by a worker and cannot be called here: " + *why);
    const auto origin = c->channel->origin();
    // The client's next round, answering the tool server's request.
    if (auto resumed = parked.resume(c, origin, worker)) {
        if (c->deferred && c->channel->origin().key() != origin.key())  // promoted meanwhile: the task takes it
            tasks.hand_to_worker(c->channel->owning_task(), origin, *c);
        return std::move(*resumed);
    }
    call_ticket t{origin, c->id, c->progress_token, c->method, c};
    c->deferred = true;  // promote() reads it
    auto queued = workers.submit(worker, std::move(t), c->params);
    if (!queued) {
        c->deferred = false;
        if (c->method == "tools/call")
            return json{{"content", json::array({{{"type", "text"}, {"text", queued.error()}}})}, {"isError", true}};
        return fail(rpc_code::internal_error, queued.error());
    }
    // Promoted to a task while it was being queued: the task takes it over.
    if (c->channel->origin().key() != origin.key()) tasks.hand_to_worker(c->channel->owning_task(), origin, *c);
    return json::object();  // ignored: the worker's answer completes the call
}

}  // namespace litemcp::server
