// The stateless era of /mcp (2026-07-28): each request carries a _meta
// envelope (protocol version, client capabilities, optional log level) and
// is validated alone -- headers against the body, versions, the method --
// then answered through the same dispatcher as a session's, on its own
// response (direct_channel). No session, nothing in the store; durability in
// this era comes from the Tasks extension (task_runner.h).
//
// Served: request validation (-32602, -32020, -32022, 404/-32601),
// server/discover, subscriptions/listen (list changes, resource updates,
// task status), resultType, serverInfo and cache hints (stateless_results),
// per-request logLevel, progress on an SSE response, Mcp-Param-* headers
// checked against the arguments they mirror (x-mcp-header), input_required
// rounds with a sealed requestState. Closing the response cancels the call.
//
// Threading: serve() runs on the I/O thread and hands what blocks to the
// handler pool; the rest is thread-safe. Lifetime: the server's; the parts
// it refers to outlive it. The listen streams it opened end with finish_listens().
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/config/config.h"
#include "server/mcp/direct_channel.h"
#include "server/mcp/dispatcher.h"
#include "server/mcp/stateless_results.h"
#include "server/rpc/request_state.h"
#include "server/streams/listen_stream.h"
#include "server/tasks/task_table.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

class stateless_endpoint {
public:
    struct parts {
        const mcp_options& options;
        registry& reg;
        worker_hub& workers;
        dispatcher& calls;
        store::store& st;
        task_table& tasks;
        work_pool& handlers;
        work_pool& delivery;  // the listen streams' reads
        const request_state_codec& states;
        const stateless_results& results;
        call_meter& meter;
        bool authenticated;  // a task is its principal's alone
    };
    explicit stateless_endpoint(parts p) : p_(p) {}

    // Whether a parsed POST body is a 2026-07-28 request: it has the
    // envelope, or a 2026-07-28 MCP-Protocol-Version header and no session
    // (a malformed modern request, which must be told so, never served as legacy).
    static bool claims(const json& body, const transport::http_request& req);
    void serve(json body, const transport::http_request& req, std::shared_ptr<transport::responder> res);

    // Whether a listen stream is open (change notices append for them only then).
    bool listening();
    // Ends every listen stream with its final result (at shutdown, before
    // the transport closes the streams).
    void finish_listens();

private:
    // What a subscriptions/listen stream is opened with.
    struct listen_request {
        json id;
        std::set<std::string> methods, uris, task_ids;
        json honoured;
    };
    // Opens the stream (on the connection's strand), unless too many are open.
    void open_listen(listen_request l, std::shared_ptr<transport::responder> res);
    void listen(const json& id, const json& params, const transport::http_request& req,
                std::shared_ptr<transport::responder> res);
    json discover() const;
    // Reads inputResponses and requestState of a retried request (made by
    // principal) into c.answers; an error message when they are malformed,
    // tampered or expired.
    std::optional<std::string> take_answers(call& c, const std::string& principal) const;

    parts p_;
    std::mutex listens_mu_;
    std::vector<std::weak_ptr<listen_stream>> listens_;  // open subscriptions/listen streams
};

}  // namespace litemcp::server
