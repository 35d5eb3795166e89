// ping and logging/setLevel.
#include "server/mcp/methods/methods.h"

namespace litemcp::server::methods {

rpc_result ping(method_scope&) { return json::object(); }

rpc_result logging_set_level(method_scope& m) {
    const json& p = m.c->params;
    auto level = p.contains("level") && p["level"].is_string() ? parse_log_level(p["level"].get<std::string>()) : std::nullopt;
    if (!level)
        return fail(rpc_code::invalid_params,
                    "level must be one of debug, info, notice, warning, error, critical, alert, emergency");
    auto& s = *m.c->channel->session();
    {
        std::lock_guard lock(s.mu);
        s.level = *level;
    }
    m.srv.sessions.save(s);
    return json::object();
}

}  // namespace litemcp::server::methods
