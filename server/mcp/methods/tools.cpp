// tools/list and tools/call.
#include "server/mcp/methods/methods.h"
#include "server/mcp/methods/paging.h"
#include "server/mcp/task_runner.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server::methods {

rpc_result tools_list(method_scope& m) {
    return page(m.srv.reg.tools(), m.c->params, "tools", [](const tool& t) { return t.definition["name"].get<std::string>(); });
}

rpc_result tools_call(method_scope& m) {
    auto& srv = m.srv;
    const json& p = m.c->params;
    const auto given_name = p.find("name");
    if (given_name == p.end() || !given_name->is_string()) return fail(rpc_code::invalid_params, "tools/call needs a tool name");
    const auto& name = given_name->get_ref<const std::string&>();
    auto t = m.c->placed_tool ? *m.c->placed_tool : srv.reg.find_tool(name);
    // A worker's tool (online, or offline and known to the hub).
    std::optional<std::string> worker;
    if (t && !t->served_by.empty()) worker = t->served_by;
    else if (!t) worker = srv.workers.owner(list_kind::tools, name);
    if (worker && !t) t = srv.workers.worker_tool(name);
    if (!t) return fail(rpc_code::invalid_params, "Unknown tool: " + name);
    static const json no_arguments = json::object();
    const auto given = p.find("arguments");
    const json& args = given != p.end() ? *given : no_arguments;  // not copied
    if (!args.is_object()) return fail(rpc_code::invalid_params, "arguments must be an object");
    if (auto problem = srv.schemas.validate(t, args))
        return json{{"content", json::array({{{"type", "text"}, {"text", *problem}}})}, {"isError", true}};
    if (auto gate = srv.tasks.gate(m.c, *t)) return std::move(*gate);
    if (worker) return srv.defer_to_worker(m.c, *worker);
    return t->call(args, m.ctx);
}

}  // namespace litemcp::server::methods
