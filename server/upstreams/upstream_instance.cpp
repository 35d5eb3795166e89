#include "server/upstreams/upstream_instance.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"

namespace litemcp::server {

namespace {

constexpr std::string_view log_levels[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};

}  // namespace

bool upstream_instance::is_open() const {
    std::lock_guard lock(mu_);
    return open_;
}

std::size_t upstream_instance::in_flight() const {
    std::lock_guard lock(mu_);
    return flights_.size();
}

std::vector<std::string> upstream_instance::call_ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [id, f] : flights_) out.push_back(id);
    return out;
}

void upstream_instance::on_closed(std::function<void()> f) {
    {
        std::lock_guard lock(mu_);
        if (open_) {
            closed_.push_back(std::move(f));
            return;
        }
    }
    p_.later(std::move(f));
}

void upstream_instance::close() {
    std::map<std::string, flight> flights;
    std::vector<std::function<void()>> closed;
    {
        std::lock_guard lock(mu_);
        if (!open_) return;
        open_ = false;
        flights.swap(flights_);
        closed.swap(closed_);
    }
    // The hub delivers these calls again (to another instance, or to this
    // server's next one): the server may stop working on them.
    for (auto& [call_id, f] : flights) {
        p_.client->send(make_notification("notifications/cancelled",
                                          json{{"requestId", f.rpc_id}, {"reason", "litemcp closed its connection"}}));
        f.exchange->cancel();
    }
    for (auto& f : closed) p_.later(std::move(f));
}

bool upstream_instance::send(std::string_view, std::string_view data) {
    if (!is_open()) return false;
    auto event = parse_json(data);
    if (!event || !event->is_object()) return true;
    const auto type = event->value("type", "");
    if (type == "call") forward(*event);
    else if (type == "cancel") cancel(event->value("callId", ""), event->value("reason", "cancelled by the client"));
    return true;
}

void upstream_instance::forward(const json& call) {
    const auto call_id = call.value("callId", "");
    const auto method = call.value("method", "tools/call");
    const auto attempt = call.value("attempt", 1u);
    const std::string rpc_id = call_id + "/" + std::to_string(attempt);
    const auto& d = p_.definition;

    json params = method == "tools/call" ? json::object() : call.value("params", json::object());
    json meta = method == "tools/call" ? call.value("meta", json::object()) : params.value("_meta", json::object());
    if (!meta.is_object()) meta = json::object();
    if (method == "tools/call" || method == "prompts/get") {
        const auto listed = method == "tools/call" ? call.value("tool", "") : params.value("name", "");
        auto name = d.upstream_name(listed);
        if (!name) {
            p_.report(call_id, "error",
                      json{{"error", {{"code", rpc_code::invalid_params},
                                      {"message", "'" + listed + "' is not served by upstream '" + d.name + "'"}}}});
            return;
        }
        params["name"] = *name;
        if (method == "tools/call" && call.contains("arguments")) params["arguments"] = call["arguments"];
    }
    // The client's progress token stays here; the server's progress for
    // this request comes back under the request's own id.
    meta.erase("progressToken");
    if (call.contains("progressToken") && !call["progressToken"].is_null()) meta["progressToken"] = rpc_id;
    meta["io.litemcp/deliveryId"] = call_id;
    meta["io.litemcp/attempt"] = attempt;
    params["_meta"] = std::move(meta);

    auto self = shared_from_this();
    {
        std::lock_guard lock(mu_);
        if (!open_) return;
        flights_[call_id] = flight{rpc_id, nullptr};
    }
    auto ex = p_.client->request(
        method, std::move(params), rpc_id,
        [self, call_id, rpc_id](json m) { self->on_message(call_id, rpc_id, std::move(m)); },
        [self, call_id](std::expected<json, upstream_failure> r) { self->on_response(call_id, std::move(r)); });
    std::lock_guard lock(mu_);
    if (auto it = flights_.find(call_id); it != flights_.end() && it->second.rpc_id == rpc_id) it->second.exchange = ex;
}

void upstream_instance::cancel(const std::string& call_id, const std::string& reason) {
    flight f;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end()) return;
        f = std::move(it->second);
        flights_.erase(it);
    }
    p_.client->send(make_notification("notifications/cancelled", json{{"requestId", f.rpc_id}, {"reason", reason}}));
    if (f.exchange) f.exchange->cancel();
}

void upstream_instance::on_message(const std::string& call_id, const std::string& rpc_id, json m) {
    const auto method = m.value("method", "");
    const auto params = m.value("params", json::object());
    if (m.contains("id")) {
        // A request of the server's (sampling, elicitation, roots): litemcp
        // declared none of these capabilities, so it says so rather than
        // leave the server waiting.
        p_.client->send(make_error(m["id"], rpc_code::method_not_found,
                                   "litemcp does not relay " + method + " to its clients from an upstream"));
        return;
    }
    if (method == "notifications/progress") {
        if (params.value("progressToken", json()) != json(rpc_id) || !params.contains("progress") ||
            !params["progress"].is_number())
            return;
        json body{{"progress", params["progress"]}};
        if (params.contains("total") && params["total"].is_number()) body["total"] = params["total"];
        if (params.contains("message") && params["message"].is_string()) body["message"] = params["message"];
        p_.report(call_id, "progress", std::move(body));
    } else if (method == "notifications/message") {
        const auto level = params.value("level", "");
        if (std::find(std::begin(log_levels), std::end(log_levels), level) == std::end(log_levels)) return;
        json body{{"level", level}, {"data", params.value("data", json())}};
        if (params.contains("logger") && params["logger"].is_string()) body["logger"] = params["logger"];
        p_.report(call_id, "log", std::move(body));
    }
}

void upstream_instance::on_response(const std::string& call_id, std::expected<json, upstream_failure> r) {
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end()) return;  // cancelled, or this instance closed: the hub knows
        flights_.erase(it);
    }
    const auto& d = p_.definition;
    if (!r) {
        using kind = upstream_failure::kind;
        switch (r.error().what) {
            case kind::cancelled: return;
            case kind::refused:
                p_.report(call_id, "error",
                          json{{"error", {{"code", rpc_code::internal_error},
                                          {"message", "upstream '" + d.name + "' refused the call: " + r.error().message}}}});
                return;
            case kind::unreachable:
                p_.unreachable(r.error().message);
                [[fallthrough]];
            case kind::garbage:
                p_.report(call_id, "failure", json{{"error", "upstream '" + d.name + "': " + r.error().message}});
                return;
        }
    }
    auto& m = *r;
    if (auto e = m.find("error"); e != m.end()) {
        if (!e->is_object() || !e->contains("code") || !(*e)["code"].is_number_integer() || !e->contains("message") ||
            !(*e)["message"].is_string()) {
            p_.report(call_id, "failure", json{{"error", "upstream '" + d.name + "' answered a malformed error: " + to_json(*e)}});
            return;
        }
        p_.report(call_id, "error", json{{"error", *e}});
        return;
    }
    if (!m["result"].is_object()) {
        p_.report(call_id, "failure", json{{"error", "upstream '" + d.name + "' answered a result that is not an object"}});
        return;
    }
    p_.report(call_id, "result", json{{"result", std::move(m["result"])}});
}

}  // namespace litemcp::server
