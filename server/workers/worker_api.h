// The worker API over HTTP (docs/workers.md): a tool server registers, takes
// its calls from an SSE stream (as MCP requests) and answers them.
//
//   POST   /workers                                  register (again)
//   GET    /workers/<name>                           the worker's state
//   DELETE /workers/<name>                           deregister
//   GET    /workers/<name>/calls                     an instance's SSE stream of calls
//   POST   /workers/<name>/calls/<callId>            one JSON-RPC message about the call
//
// The stream and the messages are MCP JSON-RPC (worker_messages.h): the
// instance answers a call with its response, notifications/progress and
// notifications/message, and may ask the calling client (sampling,
// elicitation, roots): that POST is answered with the client's response.
// Bodies are checked against schemas/worker-*.json; every error is JSON
// {"error": "..."} with the HTTP status that says what kind it is. The
// worker's own endpoints take its credential (Authorization: Bearer);
// registering takes an access token with mcp:workers when authentication
// is on.
//
// Threading: handle() runs on the handler pool (the hub writes the store
// synchronously). Lifetime: owned by the server; its parts outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "server/auth/auth.h"
#include "server/http/router.h"
#include "server/json/json_schema.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

class worker_api {
public:
    struct parts {
        worker_hub& workers;
        const authenticator& auth;
        // The request schemas by name (worker-register, worker-result, ...).
        const std::map<std::string, std::shared_ptr<const json_schema>>& schemas;
        // Registers an MCP server by URL (server/upstreams/upstreams.h):
        // body, credential, owner; done answers the request.
        std::function<void(json body, std::optional<std::string> credential, std::string owner,
                           std::function<void(worker_answer)> done)>
            register_upstream;
    };

    explicit worker_api(parts p);

    void handle(transport::http_request req, std::shared_ptr<transport::responder> res);

private:
    void add_routes();
    // The body as JSON checked against schemas/<schema>.json, or nullopt
    // once the error is answered (415, 400).
    std::optional<json> body_of(const transport::http_request& req, const std::string& schema,
                                const std::shared_ptr<transport::responder>& res) const;
    void take_message(const transport::http_request& req, const std::string& name, const std::string& call_id,
                      const std::shared_ptr<transport::responder>& res);
    // A request of the instance's for the call's client (ask: {id, method, params}).
    void ask_client(const std::string& name, const std::string& call_id, json ask,
                    const std::shared_ptr<transport::responder>& res);

    parts p_;
    http::router routes_;
};

}  // namespace litemcp::server
