// Notifications of changes, to whoever asked: list changes (to every
// session's GET stream and the listen streams, through the shared change
// log), resource updates (to subscribed sessions and listeners) and task
// status changes (to the task's session, or to the listen streams).
//
// Threading: thread-safe; called from registry callbacks and the task
// table's. Lifetime: the server's; the parts it refers to outlive it.
#pragma once

#include <string>

#include "server/mcp/stateless_endpoint.h"
#include "server/rpc/provider.h"
#include "server/sessions/session.h"
#include "server/tasks/task_table.h"
#include "store/store.h"

namespace litemcp::server {

class change_notices {
public:
    struct parts {
        store::store& st;
        session_table& sessions;
        stateless_endpoint& listeners;  // whether anyone listens in the 2026-07-28 era
    };
    explicit change_notices(parts p) : p_(p) {}

    void list_changed(list_kind k);
    void resource_updated(const std::string& uri);
    void task_changed(const task_record& r);

private:
    parts p_;
};

}  // namespace litemcp::server
