// resources/list, resources/templates/list, resources/read,
// resources/subscribe and resources/unsubscribe.
#include "server/mcp/methods/methods.h"
#include "server/mcp/methods/paging.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server::methods {

rpc_result resources_list(method_scope& m) {
    return page(m.srv.reg.resources(), m.c->params, "resources",
                [](const resource& r) { return r.definition["uri"].get<std::string>(); });
}

rpc_result resource_templates_list(method_scope& m) {
    return page(m.srv.reg.templates(), m.c->params, "resourceTemplates",
                [](const resource_template& t) { return t.definition["uriTemplate"].get<std::string>(); });
}

rpc_result resources_read(method_scope& m) {
    auto& srv = m.srv;
    const json& p = m.c->params;
    if (!p.contains("uri") || !p["uri"].is_string()) return fail(rpc_code::invalid_params, "resources/read needs a uri");
    const auto uri = p["uri"].get<std::string>();
    // The registry first: only a URI it does not know may be an offline worker's.
    auto r = srv.reg.find_resource(uri);
    if (r && !r->served_by.empty()) return srv.defer_to_worker(m.c, r->served_by);
    if (r) return r->read(uri, m.ctx);
    if (auto w = srv.workers.owner(list_kind::resources, uri)) return srv.defer_to_worker(m.c, *w);
    auto [t, vars] = srv.reg.match_template(uri);
    if (t) return t->read(uri, vars, m.ctx);
    return fail(rpc_code::resource_not_found, "Resource not found", json{{"uri", uri}});
}

rpc_result resources_subscribe(method_scope& m) {
    const std::string& method = m.c->method;
    const json& p = m.c->params;
    if (!p.contains("uri") || !p["uri"].is_string()) return fail(rpc_code::invalid_params, method + " needs a uri");
    const bool subscribe = method == "resources/subscribe";
    const auto uri = p["uri"].get<std::string>();
    auto& s = *m.c->channel->session();
    const std::string key = "sub/" + uri + "\n" + s.id;
    {
        std::lock_guard lock(s.mu);
        if (subscribe) s.subscriptions.insert(uri);
        else s.subscriptions.erase(uri);
    }
    if (subscribe) (void)m.srv.st.kv_put(key, "");
    else (void)m.srv.st.kv_delete(key);
    m.srv.sessions.save(s);
    return json::object();
}

}  // namespace litemcp::server::methods
