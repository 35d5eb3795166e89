// The handlers of the method table (method_table.h), one small function per
// method, grouped by what they serve: lifecycle.cpp, tools.cpp,
// resources.cpp, prompts.cpp, tasks.cpp. Private to server/.
#pragma once

#include <memory>

#include "server/mcp/dispatcher.h"
#include "server/mcp/method_table.h"

namespace litemcp::server {

// What a handler works with: the services, the call and the context its
// tool or prompt handlers run with.
struct method_scope {
    const method_services& srv;
    const std::shared_ptr<call>& c;
    request_context& ctx;
};

namespace methods {
rpc_result ping(method_scope&);
rpc_result logging_set_level(method_scope&);
rpc_result tools_list(method_scope&);
rpc_result tools_call(method_scope&);
rpc_result resources_list(method_scope&);
rpc_result resource_templates_list(method_scope&);
rpc_result resources_read(method_scope&);
rpc_result resources_subscribe(method_scope&);  // and unsubscribe
rpc_result prompts_list(method_scope&);
rpc_result prompts_get(method_scope&);
rpc_result completion_complete(method_scope&);
rpc_result tasks(method_scope&);  // tasks/get, result, list, cancel, update
}  // namespace methods

}  // namespace litemcp::server
