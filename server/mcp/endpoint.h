// The /mcp endpoint: the rules both eras share, then the era's endpoint.
//
//   Origin and Host     refused unless loopback or allowed (DNS rebinding)
//   authentication      a bearer token with the mcp scope, when it is on
//   methods             POST, GET, DELETE (405 with Allow otherwise)
//   a POST              Accept lists application/json and text/event-stream,
//                       Content-Type is application/json, the body is JSON;
//                       a 2026-07-28 envelope goes to stateless_endpoint,
//                       anything else to session_endpoint
//   GET and DELETE      session_endpoint, on the handler pool (they read the store)
//
// Threading: handle() runs on the I/O thread. Lifetime: the server's; the
// parts it refers to outlive it.
#pragma once

#include <memory>

#include "server/auth/auth.h"
#include "server/config/config.h"
#include "server/mcp/session_endpoint.h"
#include "server/mcp/stateless_endpoint.h"
#include "server/telemetry/metrics.h"
#include "server/util/work_pool.h"
#include "transport/http_server.h"

namespace litemcp::server {

class mcp_endpoint {
public:
    struct parts {
        const mcp_options& options;
        authenticator& auth;
        work_pool& handlers;
        session_endpoint& sessions;
        stateless_endpoint& stateless;
    };
    explicit mcp_endpoint(parts p) : p_(p) {}

    // A request for options.endpoint; labels learn its JSON-RPC method and era.
    void handle(transport::http_request&& req, std::shared_ptr<transport::responder> res, exchange_labels& labels);

private:
    void post(transport::http_request&& req, std::shared_ptr<transport::responder> res, exchange_labels& labels);

    parts p_;
};

}  // namespace litemcp::server
