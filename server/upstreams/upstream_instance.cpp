#include "server/upstreams/upstream_instance.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

namespace {

constexpr std::string_view log_levels[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
// Bounds of a 2026-07-28 server's input_required rounds in one call.
// Each input holds a thread of the relay pool while the client answers.
constexpr std::size_t max_input_requests = 4;
constexpr int max_input_rounds = 8;

}  // namespace

std::uint64_t upstream_instance::wall_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

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
        if (f.exchange) f.exchange->cancel();
        cancel_task(f.rpc_id, f.task_id);
    }
    for (auto& f : closed) p_.later(std::move(f));
}

bool upstream_instance::send(std::string_view, const json& message) {
    if (!is_open()) return false;
    if (auto call = worker_messages::read_call(message)) return forward(std::move(*call));
    if (string_field(message, "method") == "notifications/cancelled") {
        const auto params = object_field(message, "params");
        const auto reason = string_field(params, "reason");
        cancel(string_field(params, "requestId"), reason.empty() ? "cancelled by the client" : reason);
    }
    return true;
}

bool upstream_instance::forward(worker_messages::delivered_call call) {
    const auto call_id = call.id;
    // The call's own bound: its deadline (callTimeoutMs from its arrival).
    mcp_client::request_options o;
    o.patient = true;  // once the answer streams, it may wait on a client's answer to a request it relayed
    if (call.deadline_ms) {
        const auto now = wall_ms();
        o.timeout = std::chrono::milliseconds(call.deadline_ms > now + 1'000 ? call.deadline_ms - now : 1'000);
    }
    const auto listed_uri = string_field(call.params, "uri");
    const auto deadline_ms = call.deadline_ms;
    auto request = forward_call(p_.definition, std::move(call));
    if (!request) {
        p_.report(call_id, "error", json{{"error", {{"code", rpc_code::invalid_params}, {"message", request.error()}}}});
        return true;
    }
    const auto rpc_id = request->id;
    auto& method = request->method;
    auto& params = request->params;
    // A tool a 2025-11-25 server runs only as a task is called as one (its
    // lifetime: the call's time left, or an hour); the task is followed to
    // its end (upstream_tasks.cpp).
    if (method == "tools/call" && p_.client->needs_task(string_field(params, "name")))
        params["task"] = json{{"ttl", o.timeout ? o.timeout->count() : std::int64_t{3'600'000}}};

    {
        std::lock_guard lock(mu_);
        if (!open_) return false;
        // Delivered again while the server still works on it (an
        // invisibility that ran out, another server taking the call over):
        // the running attempt answers it; a second would run it twice.
        if (flights_.contains(call_id)) return true;
        flights_[call_id] = flight{rpc_id, nullptr, std::move(method), std::move(params), o, 0, listed_uri, deadline_ms};
    }
    send_flight(call_id, rpc_id);
    return true;
}

void upstream_instance::send_flight(const std::string& call_id, const std::string& rpc_id) {
    std::string method;
    json params;
    mcp_client::request_options o;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end() || it->second.rpc_id != rpc_id) return;
        method = it->second.method;
        params = it->second.params;
        o = it->second.options;
        // Each round is bounded by what is left of the call's time.
        if (const auto deadline = it->second.deadline_ms) {
            const auto now = wall_ms();
            o.timeout = std::chrono::milliseconds(deadline > now + 1'000 ? deadline - now : 1'000);
        }
    }
    auto self = shared_from_this();
    auto ex = p_.client->request(
        method, std::move(params), rpc_id,
        [self, call_id, rpc_id](json m) { self->on_message(call_id, rpc_id, std::move(m)); },
        [self, call_id, rpc_id](std::expected<json, upstream_failure> r) { self->on_response(call_id, rpc_id, std::move(r)); },
        o);
    bool gone = false;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it != flights_.end() && it->second.rpc_id == rpc_id) it->second.exchange = ex;
        else gone = !open_ || it == flights_.end();  // closed or cancelled meanwhile: nobody cancels it but us
    }
    if (gone) ex->cancel();
}

std::optional<upstream_instance::flight> upstream_instance::take_flight(const std::string& call_id,
                                                                      const std::string& rpc_id) {
    std::lock_guard lock(mu_);
    auto it = flights_.find(call_id);
    if (it == flights_.end() || it->second.rpc_id != rpc_id) return std::nullopt;
    flight f = std::move(it->second);
    flights_.erase(it);
    return f;
}

void upstream_instance::fail_call(const std::string& call_id, const std::string& rpc_id, int code,
                                  const std::string& message, std::optional<json> data) {
    auto f = take_flight(call_id, rpc_id);
    if (!f) return;
    cancel_task(rpc_id, f->task_id);
    json e{{"code", code}, {"message", message}};
    if (data) e["data"] = *data;
    p_.report(call_id, "error", json{{"error", std::move(e)}});
}

void upstream_instance::gather_inputs(const std::string& call_id, const std::string& rpc_id, const json& requests,
                                      std::function<void(json responses)> then) {
    const auto& d = p_.definition;
    if (requests.size() > max_input_requests)
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' asked for more than " + std::to_string(max_input_requests) +
                             " inputs at once");
    int round = 0;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end() || it->second.rpc_id != rpc_id) return;
        round = ++it->second.rounds;
    }
    if (round > max_input_rounds)
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' asked for input more than " + std::to_string(max_input_rounds) +
                             " times in one call");
    for (auto& [key, req] : requests.items()) {
        const auto method = string_field(req, "method");
        if (method != "sampling/createMessage" && method != "elicitation/create" && method != "roots/list")
            return fail_call(call_id, rpc_id, rpc_code::internal_error,
                             "upstream '" + d.name + "' asked for input litemcp cannot relay: '" + method + "' (" + key + ")");
    }
    // Each input is asked of the calling client (in any order); then()
    // gets every answer, or the call fails with the first error.
    struct gathered {
        std::mutex mu;
        std::size_t left = 0;
        json responses = json::object();
        std::optional<json> error;
    };
    auto g = std::make_shared<gathered>();
    g->left = requests.size();
    auto self = shared_from_this();
    auto next = [self, call_id, rpc_id, g, then = std::move(then)] {
        if (!g->error) return then(std::move(g->responses));
        const json e = *g->error;
        self->fail_call(call_id, rpc_id, e.value("code", rpc_code::internal_error), e.value("message", "no answer"),
                        e.contains("data") ? std::optional<json>(e["data"]) : std::nullopt);
    };
    if (requests.empty()) return next();
    for (auto& [key, req] : requests.items()) {
        p_.ask(call_id, string_field(req, "method"), object_field(req, "params"), [g, key, next](json answer) {
            bool last = false;
            {
                std::lock_guard lock(g->mu);
                if (answer.contains("result") && answer["result"].is_object()) g->responses[key] = answer["result"];
                else if (!g->error) g->error = answer.value("error", json{{"code", rpc_code::internal_error}, {"message", "no answer"}});
                last = --g->left == 0;
            }
            if (last) next();
        });
    }
}

void upstream_instance::input_round(const std::string& call_id, const std::string& rpc_id, const json& result) {
    const auto& d = p_.definition;
    const json requests = object_field(result, "inputRequests");
    const json state = result.contains("requestState") ? result["requestState"] : json();
    if (requests.empty() && !state.is_string())
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' asked for input with neither inputRequests nor requestState");
    // The request goes again, under a new id, with every answer and the
    // server's state.
    auto self = shared_from_this();
    gather_inputs(call_id, rpc_id, requests, [self, call_id, rpc_id, state](json responses) {
        std::string again;
        {
            std::lock_guard lock(self->mu_);
            auto it = self->flights_.find(call_id);
            if (it == self->flights_.end() || it->second.rpc_id != rpc_id) return;  // cancelled meanwhile
            auto& f = it->second;
            if (responses.empty()) f.params.erase("inputResponses");
            else f.params["inputResponses"] = std::move(responses);
            if (state.is_string()) f.params["requestState"] = state;
            else f.params.erase("requestState");
            again = f.rpc_id = rpc_id.substr(0, rpc_id.find('#')) + "#" + std::to_string(f.rounds);
            f.exchange = nullptr;
        }
        self->send_flight(call_id, again);
    });
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
    cancel_task(f.rpc_id, f.task_id);
}

bool upstream_instance::current(const std::string& call_id, const std::string& rpc_id) const {
    std::lock_guard lock(mu_);
    auto it = flights_.find(call_id);
    return it != flights_.end() && it->second.rpc_id == rpc_id;
}

void upstream_instance::on_message(const std::string& call_id, const std::string& rpc_id, json m) {
    if (!current(call_id, rpc_id)) return;
    const auto method = string_field(m, "method");
    const auto params = object_field(m, "params");
    if (m.contains("id")) {
        const json id = m["id"];
        auto client = p_.client;
        if (method == "ping") return client->send(make_result(id, json::object()));
        if (method != "sampling/createMessage" && method != "elicitation/create" && method != "roots/list") {
            client->send(make_error(id, rpc_code::method_not_found, "litemcp does not relay " + method + " to its clients"));
            return;
        }
        // The client's answer, whenever it comes, goes to the server under its id.
        p_.ask(call_id, method, params, [client, id](json answer) {
            answer["jsonrpc"] = "2.0";
            answer["id"] = id;
            client->send(std::move(answer));
        });
        return;
    }
    if (method == "notifications/progress") {
        if (params.value("progressToken", json()) != json(rpc_id.substr(0, rpc_id.find('#'))) || !params.contains("progress") ||
            !params["progress"].is_number())
            return;
        json body{{"progress", params["progress"]}};
        if (params.contains("total") && params["total"].is_number()) body["total"] = params["total"];
        if (params.contains("message") && params["message"].is_string()) body["message"] = params["message"];
        p_.report(call_id, "progress", std::move(body));
    } else if (method == "notifications/message") {
        const auto level = string_field(params, "level");
        if (std::find(std::begin(log_levels), std::end(log_levels), level) == std::end(log_levels)) return;
        json body{{"level", level}, {"data", params.contains("data") ? params["data"] : json()}};
        if (params.contains("logger") && params["logger"].is_string()) body["logger"] = params["logger"];
        p_.report(call_id, "log", std::move(body));
    } else {
        p_.notice(std::move(m));
    }
}

void upstream_instance::on_response(const std::string& call_id, const std::string& rpc_id,
                                    std::expected<json, upstream_failure> r) {
    const json* result = r && r->contains("result") && (*r)["result"].is_object() ? &(*r)["result"] : nullptr;
    // 2026-07-28: the server needs input from the client before it answers.
    const bool more_input = result && string_field(*result, "resultType") == "input_required";
    bool task = false, known = false;
    std::string stray_task;             // a task made of a call no longer in flight here
    std::string asked_uri, listed_uri;  // a resource read under a namespaced URI
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        // Cancelled, closed, or an older attempt's: the hub knows. A task
        // made of it meanwhile is cancelled at the server too.
        if (it == flights_.end() || it->second.rpc_id != rpc_id) {
            if (result && is_task_handle(*result)) stray_task = string_field(task_of(*result), "taskId");
        } else {
            known = true;
            task = result && !more_input && it->second.method == "tools/call" && it->second.task_id.empty() &&
                   is_task_handle(*result);
            asked_uri = string_field(it->second.params, "uri");
            listed_uri = it->second.listed_uri;
            if (!more_input && !task) flights_.erase(it);
        }
    }
    if (!known) return cancel_task(rpc_id, stray_task);
    if (more_input) return input_round(call_id, rpc_id, *result);
    if (task) return task_started(call_id, rpc_id, *result);
    conclude(call_id, rpc_id, std::move(r), asked_uri, listed_uri);
}

void upstream_instance::conclude(const std::string& call_id, const std::string& rpc_id,
                                 std::expected<json, upstream_failure> r, const std::string& asked_uri,
                                 const std::string& listed_uri) {
    const auto& d = p_.definition;
    auto final_error = [&](int code, const std::string& message) {
        p_.report(call_id, "error", json{{"error", {{"code", code}, {"message", message}}}});
    };
    if (!r) {
        using kind = upstream_failure::kind;
        switch (r.error().what) {
            case kind::cancelled: return;
            case kind::refused:
                return final_error(rpc_code::internal_error, "upstream '" + d.name + "' refused the call: " + r.error().message);
            case kind::garbage:
                // The same answer again on a retry: final.
                return final_error(rpc_code::internal_error,
                                   "upstream '" + d.name + "' answered what is not MCP: " + r.error().message);
            case kind::unreachable:
                // The server may still be working on it: tell it to stop
                // before the call is delivered again.
                p_.client->send(make_notification(
                    "notifications/cancelled", json{{"requestId", rpc_id}, {"reason", "litemcp gave this attempt up"}}));
                p_.unreachable(r.error().message);
                p_.report(call_id, "failure", json{{"error", "upstream '" + d.name + "': " + r.error().message}});
                return;
        }
    }
    auto& m = *r;
    if (auto e = m.find("error"); e != m.end()) {
        if (!e->is_object() || !e->contains("code") || !(*e)["code"].is_number_integer() || !e->contains("message") ||
            !(*e)["message"].is_string())
            return final_error(rpc_code::internal_error, "upstream '" + d.name + "' answered a malformed error: " + to_json(*e));
        json out{{"code", (*e)["code"]}, {"message", (*e)["message"]}};
        if (e->contains("data")) out["data"] = (*e)["data"];
        p_.report(call_id, "error", json{{"error", std::move(out)}});
        return;
    }
    if (!m.contains("result") || !m["result"].is_object())
        return final_error(rpc_code::internal_error, "upstream '" + d.name + "' answered a result that is not an object");
    json& result = m["result"];
    // A 2026-07-28 server's own result fields (its resultType, its identity
    // and cache hints in _meta) are not litemcp's: its front adds its own.
    result.erase("resultType");
    result.erase("ttlMs");
    result.erase("cacheScope");
    if (auto meta = result.find("_meta"); meta != result.end() && meta->is_object()) {
        for (auto it = meta->begin(); it != meta->end();)
            it = it.key().starts_with("io.modelcontextprotocol/") ? meta->erase(it) : std::next(it);
        if (meta->empty()) result.erase("_meta");
    }
    if (!listed_uri.empty() && listed_uri != asked_uri && result.contains("contents") && result["contents"].is_array())
        for (auto& c : result["contents"])  // the contents under the URI the client asked for
            if (c.is_object() && c.value("uri", json()) == json(asked_uri)) c["uri"] = listed_uri;
    p_.report(call_id, "result", json{{"result", std::move(result)}});
}

}  // namespace litemcp::server
