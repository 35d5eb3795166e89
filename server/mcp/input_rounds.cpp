#include "server/mcp/input_rounds.h"

#include "server/json/json_text.h"

namespace litemcp::server {

std::optional<std::string> capability_for(std::string_view method) {
    if (method == "sampling/createMessage") return "sampling";
    if (method == "elicitation/create") return "elicitation";
    if (method == "roots/list") return "roots";
    return std::nullopt;
}

input_outcome ask_in_rounds(call& c, const json& capabilities, std::vector<input_request> inputs) {
    if (const auto* m = find_method(c.method); !m || !m->asks_for_input)
        return fail(rpc_code::internal_error, "input can be asked for only in tools/call, prompts/get and resources/read");
    json required = json::object();
    for (auto& in : inputs)
        if (auto cap = capability_for(in.method); cap && !capabilities.contains(*cap)) required[*cap] = json::object();
    if (!required.empty())
        return fail(rpc_code::missing_capability,
                    "Missing client capability: the server needs " + to_json(required) + " for this request",
                    json{{"requiredCapabilities", required}});
    input_answers out;
    json missing = json::object();
    for (auto& in : inputs) {
        if (c.answers.contains(in.key)) out[in.key] = c.answers[in.key];
        else missing[in.key] = {{"method", in.method}, {"params", std::move(in.params)}};
    }
    if (missing.empty()) return out;
    c.input_requests = std::move(missing);
    return fail(rpc_code::input_pending, "the client's input is needed");
}

rpc_result request_in_rounds(call& c, const json& capabilities, std::string method, json params) {
    std::string key = method + "#" + std::to_string(c.requests_made++);
    std::vector<input_request> one{{key, std::move(method), std::move(params)}};
    auto r = ask_in_rounds(c, capabilities, std::move(one));
    if (!r) return std::unexpected(r.error());
    return std::move(r->begin()->second);
}

}  // namespace litemcp::server
