// How the worker hub reaches the calls it serves (call_sink): a worker's
// progress, log messages and answer go through the call's reply channel,
// exactly like an in-process tool's. After a restart, restored() rebuilds a
// call whose channel leads to the session stream or the task the recorded
// origin names. How a call reaches a worker is worker_calls.cpp.
//
// Threading: called on the hub's thread and the worker API's; thread-safe;
// ask() waits for the client on the pool it is given.
// Lifetime: the server's; it outlives the hub.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/mcp/parked_inputs.h"
#include "server/mcp/session_endpoint.h"
#include "server/mcp/task_runner.h"
#include "server/sessions/session.h"
#include "server/tasks/task_table.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

class worker_sink : public call_sink {
public:
    // The endpoint and runner exist after the hub (they use it): they are
    // set once both are made, before the hub starts.
    struct parts {
        session_table& sessions;
        task_table& tasks;
        session_endpoint* endpoint = nullptr;
        task_runner* runner = nullptr;
        // Where a request to a client waits for its answer (ask()).
        work_pool* pool = nullptr;
        // How many of the pool's threads one client may hold at once (its
        // principal's, or its session's without authentication): a client
        // slow to answer cannot stop the others' requests
        // (worker_options::relay_per_client). Default: 4.
        std::size_t max_per_client = 4;
        // Where a request to a client that answers in rounds waits.
        parked_inputs* parked = nullptr;
    };
    explicit worker_sink(parts p) : p_(p) {}
    void attach(session_endpoint& endpoint, task_runner& runner, parked_inputs& parked) {
        p_.endpoint = &endpoint;
        p_.runner = &runner;
        p_.parked = &parked;
    }

    void notify(const call_ticket& t, json notification, std::optional<log_level> level) override;
    void finish(const call_ticket& t, std::optional<json> response) override;
    std::shared_ptr<call> restored(const call_ticket& t) override;
    // A legacy session's client is asked in the middle of the call, on its
    // stream; the others answer input in rounds: the request is parked
    // until the client's next round (parked_inputs.h).
    void ask(const call_ticket& t, std::string method, json params, std::function<void(json answer)> done) override;
    // A round another server relayed: parked_inputs::serve.
    void resume_round(json round, std::function<void(json message)> emit,
                      std::function<void(json outcome)> finish) override;

private:
    parts p_;
    std::mutex mu_;
    std::map<std::string, std::size_t> asking_;  // requests waiting on a client, by principal (or session)
};

}  // namespace litemcp::server
