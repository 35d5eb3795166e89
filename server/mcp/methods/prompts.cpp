// prompts/list, prompts/get and completion/complete.
#include "server/mcp/methods/methods.h"
#include "server/mcp/methods/paging.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server::methods {

rpc_result prompts_list(method_scope& m) {
    return page(m.srv.reg.prompts(), m.c->params, "prompts", [](const prompt& x) { return x.definition["name"].get<std::string>(); });
}

rpc_result prompts_get(method_scope& m) {
    auto& srv = m.srv;
    const json& p = m.c->params;
    if (!p.contains("name") || !p["name"].is_string()) return fail(rpc_code::invalid_params, "prompts/get needs a name");
    const auto name = p["name"].get<std::string>();
    auto x = srv.reg.find_prompt(name);
    if (x && !x->served_by.empty()) return srv.defer_to_worker(m.c, x->served_by);
    if (!x)
        if (auto w = srv.workers.owner(list_kind::prompts, name)) return srv.defer_to_worker(m.c, *w);
    if (!x) return fail(rpc_code::invalid_params, "Unknown prompt: " + name);
    return x->get(p.value("arguments", json::object()), m.ctx);
}

rpc_result completion_complete(method_scope& m) {
    const json& p = m.c->params;
    if (!p.contains("ref") || !p.contains("argument"))
        return fail(rpc_code::invalid_params, "completion/complete needs ref and argument");
    if (auto h = m.srv.reg.completion()) return h(p, m.ctx);
    return json{{"completion", {{"values", json::array()}, {"hasMore", false}}}};
}

}  // namespace litemcp::server::methods
