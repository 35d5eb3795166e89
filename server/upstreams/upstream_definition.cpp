#include "server/upstreams/upstream_definition.h"

#include <cctype>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"

namespace litemcp::server {

namespace {

// The worker API's rule for tool names (schemas/worker-register.json).
bool servable_name(const std::string& n) {
    if (n.empty() || n.size() > 128) return false;
    for (unsigned char c : n)
        if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

}  // namespace

std::expected<upstream_definition, std::string> upstream_definition::read(
    const std::string& name, const json& block, std::chrono::milliseconds request_timeout_default) {
    // The block was checked against schemas/worker-register.json: the types hold.
    upstream_definition d;
    d.name = name;
    d.url = block.value("url", "");
    if (!d.url.starts_with("http://") && !d.url.starts_with("https://"))
        return std::unexpected("upstream.url: '" + d.url + "' is not an http:// or https:// URL");
    const json headers = block.value("headers", json::object());
    for (auto& [k, v] : headers.items()) {
        if (!v.is_string()) return std::unexpected("upstream.headers." + k + ": not a string");
        d.headers.emplace_back(k, v.get<std::string>());
    }
    if (auto token = block.find("bearerToken"); token != block.end() && token->is_string())
        d.headers.emplace_back("Authorization", "Bearer " + token->get<std::string>());
    d.prefix = block.contains("toolPrefix") ? block["toolPrefix"].get<std::string>() : name + "__";
    d.request_timeout = std::chrono::milliseconds(
        block.value("requestTimeoutMs", static_cast<long long>(request_timeout_default.count())));
    return d;
}

std::optional<std::string> upstream_definition::upstream_name(const std::string& listed) const {
    if (!listed.starts_with(prefix)) return std::nullopt;
    return listed.substr(prefix.size());
}

std::expected<json, std::string> upstream_registration(const json& asked, const upstream_definition& d,
                                                       const json& lists, const std::set<std::string>& taken) {
    // The worker API's bounds (schemas/worker-register.json).
    for (const char* field : {"tools", "resources", "prompts"})
        if (lists.value(field, json::array()).size() > 1000)
            return std::unexpected(std::string("the server lists more than 1,000 ") + field);
    json body = asked;
    json tools = json::array();
    for (const auto& t : lists.value("tools", json::array())) {
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
            return std::unexpected("the server listed a tool without a name");
        json x = t;
        const std::string named = d.prefix + t["name"].get<std::string>();
        if (!servable_name(named))
            return std::unexpected("the server's tool '" + t["name"].get<std::string>() + "' would be named '" + named +
                                   "': a tool name here is 1 to 128 of A-Z a-z 0-9 _ . -");
        x["name"] = named;
        if (!x.contains("inputSchema")) x["inputSchema"] = json{{"type", "object"}};
        // litemcp runs the server's task itself (upstream_tasks.cpp): its
        // clients may call the tool either way.
        if (auto e = x.find("execution"); e != x.end() && e->is_object() && e->value("taskSupport", "") == "required")
            (*e)["taskSupport"] = "optional";
        tools.push_back(std::move(x));
    }
    json prompts = json::array();
    for (const auto& p : lists.value("prompts", json::array())) {
        if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
            return std::unexpected("the server listed a prompt without a name");
        json x = p;
        x["name"] = d.prefix + p["name"].get<std::string>();
        prompts.push_back(std::move(x));
    }
    json resources = json::array();
    for (const auto& r : lists.value("resources", json::array())) {
        if (!r.is_object() || !r.contains("uri") || !r["uri"].is_string() || !r.contains("name"))
            return std::unexpected("the server listed a resource without a uri or name");
        json x = r;
        if (taken.contains(r["uri"].get<std::string>())) x["uri"] = d.namespaced_uri(r["uri"].get<std::string>());
        resources.push_back(std::move(x));
    }
    body["tools"] = std::move(tools);
    body["prompts"] = std::move(prompts);
    body["resources"] = std::move(resources);
    // A registration is one record in the store (JetStream's values are at most 1 MiB).
    if (to_json(body).size() > 512 * 1024) return std::unexpected("what the server lists is larger than 512 KiB");
    return body;
}

std::expected<forwarded_request, std::string> forward_call(const upstream_definition& d,
                                                           worker_messages::delivered_call call) {
    forwarded_request out{call.id + "/" + std::to_string(call.attempt), std::move(call.method), std::move(call.params)};
    if (out.method == "tools/call" || out.method == "prompts/get") {
        const auto listed = string_field(out.params, "name");
        auto name = d.upstream_name(listed);
        if (!name) return std::unexpected("'" + listed + "' is not served by upstream '" + d.name + "'");
        out.params["name"] = *name;
    }
    if (out.method == "resources/read") {
        if (auto uri = string_field(out.params, "uri"); !uri.empty()) out.params["uri"] = d.upstream_uri(uri);
    }
    json& meta = out.params["_meta"];
    if (!meta.is_object()) meta = json::object();
    if (meta.contains("progressToken")) meta["progressToken"] = out.id;
    meta.erase(worker_messages::deadline_key);
    return out;
}

}  // namespace litemcp::server
