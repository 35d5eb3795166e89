#include "server/mcp/stateless_results.h"

namespace litemcp::server {

namespace {
constexpr std::string_view key_server_info = "io.modelcontextprotocol/serverInfo";
}

json stateless_results::decorate(std::string_view method, json result) const {
    if (!result.is_object()) return result;
    if (!result.contains("resultType")) result["resultType"] = "complete";  // a CreateTaskResult keeps "task"
    result["_meta"][std::string(key_server_info)] = {{"name", options_.server_name}, {"version", options_.server_version}};
    if (const auto* entry = find_method(method); entry && entry->cacheable) {
        result["ttlMs"] = options_.cache_ttl.count();
        result["cacheScope"] = private_cache_ ? "private" : "public";
    }
    return result;
}

json stateless_results::response(const call& c, const std::string& principal, rpc_result outcome) const {
    if (outcome) return make_result(c.id, decorate(c.method, std::move(*outcome)));
    auto& e = outcome.error();
    if (e.code == rpc_code::input_pending) {
        // The handler stopped for input: ask the client, and seal what it
        // already answered into the state it sends back with the next round.
        json result{{"inputRequests", c.input_requests},
                     {"requestState", states_.seal({c.method, request_state_codec::params_digest(c.params), principal},
                                                   c.answers)}};
        result = decorate(c.method, std::move(result));
        result["resultType"] = "input_required";
        result.erase("ttlMs");
        result.erase("cacheScope");
        return make_result(c.id, std::move(result));
    }
    if (e.code == rpc_code::resource_not_found) return make_error(c.id, rpc_code::invalid_params, e.message, e.data);
    return error_message(c.id, e);
}

}  // namespace litemcp::server
