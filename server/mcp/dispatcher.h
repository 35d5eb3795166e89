// The dispatcher: runs a call's handler from the method table
// (method_table.h) with the context it needs -- progress, logs,
// notifications, server requests and input, each handed to the call's reply
// channel (call.h) in the order the handler produced them -- and turns what
// a handler throws into an error. It knows nothing of HTTP or of eras'
// transports: the endpoints make calls, the dispatcher runs them.
//
// Threading: thread-safe; run() executes on the calling thread (the I/O
// thread for execution::io calls, the handler pool otherwise). Lifetime:
// the server's; the services it refers to outlive it.
#pragma once

#include <memory>
#include <string>

#include "server/mcp/call.h"
#include "server/rpc/provider.h"
#include "server/sessions/session.h"
#include "server/mcp/tool_schema.h"
#include "store/store.h"

namespace litemcp::server {

class task_runner;
class worker_hub;
class parked_inputs;

// What the method handlers (methods/) work with.
struct method_services {
    registry& reg;
    tool_schemas& schemas;
    worker_hub& workers;
    session_table& sessions;
    store::store& st;
    task_runner& tasks;
    parked_inputs& parked;

    // Hands a call to the worker that serves it; the worker's answer
    // completes the call later (worker_calls.cpp).
    rpc_result defer_to_worker(const std::shared_ptr<call>& c, const std::string& worker) const;
};

class dispatcher {
public:
    explicit dispatcher(method_services s) : srv_(s) {}

    // Where the call's handler runs; also looks up its method (call::entry)
    // and a tools/call's tool (call::placed_tool).
    execution placement(call& c) const;
    // Runs the call's handler to completion: its outcome, or nullopt when
    // the call was cancelled (a cancelled request gets no response).
    call_outcome run(const std::shared_ptr<call>& c);
    // A call's whole turn: opens its channel, runs it and, unless a worker
    // answers it later, finishes it through the channel.
    void serve(const std::shared_ptr<call>& c, call_meter& meter);

private:
    rpc_result dispatch(const std::shared_ptr<call>& c);
    method_services srv_;
};

}  // namespace litemcp::server
