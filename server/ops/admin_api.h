// The admin API under /admin/ (docs/admin.md): JSON for curl about the store,
// sessions, tasks, topics and workers, a live tail, and the few operator
// actions (end a session, requeue or drop a dead letter). Answered to
// loopback peers (unless admin_credential_on_loopback, on by default with
// authentication) and to a request with
// the admin token or an access token with the mcp:admin scope.
//
// Routes are one table (http::router); GET /admin/ lists them.
//
// Threading: handle() runs on the handler pool: it reads the store
// synchronously. Lifetime: owned by the server; every part it is given
// outlives it.
#pragma once

#include <memory>
#include <optional>

#include "server/ops/admin_tails.h"
#include "server/auth/auth.h"
#include "server/config/config.h"
#include "server/http/router.h"
#include "server/sessions/session.h"
#include "server/tasks/task_table.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"

namespace litemcp::server {

class admin_api {
public:
    // What the admin API reads and acts on.
    struct parts {
        const server_config& cfg;
        store::store& store;
        session_table& sessions;
        task_table& tasks;
        worker_hub& workers;
        admin_tails& tails;
        const authenticator& auth;
    };

    explicit admin_api(parts p);

    void handle(transport::http_request req, std::shared_ptr<transport::responder> res);

private:
    // Why req may not use the API (401, or 403 for a token without
    // mcp:admin), or nullopt when it may.
    std::optional<transport::http_response> refusal(const transport::http_request& req) const;
    void add_routes();

    parts p_;
    http::router routes_;
};

}  // namespace litemcp::server
