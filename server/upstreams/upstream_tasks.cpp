// A call an upstream server runs as a task (upstream_instance.h). The
// server answers tools/call with a task's handle instead of the tool's
// result; litemcp follows the task to its end and answers the call with
// what it ends with, so the calling client sees one call in any era (or its
// own litemcp task, if it asked for one):
//  * tasks/get every pollInterval the server suggests (50 ms to 5 s);
//  * input_required: a 2026-07-28 server's inputRequests are asked of the
//    calling client and answered with tasks/update; a 2025-11-25 server
//    sends its requests on the stream of tasks/result, which litemcp then
//    opens and relays as any request of the server's during a call;
//  * completed or failed: the result (inline in 2026-07-28, from
//    tasks/result in 2025-11-25) or the error is the call's answer;
//    cancelled by the server: a JSON-RPC error.
// A call given up (cancelled by its client, its deadline, litemcp closing
// the connection) sends the server tasks/cancel. Every request about the
// task is an exchange of the call's flight, so a late answer of one given
// up is not taken for the next.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "server/upstreams/upstream_instance.h"

namespace litemcp::server {

namespace {

std::chrono::milliseconds poll_interval(const json& task) {
    for (const char* field : {"pollIntervalMs", "pollInterval"})
        if (auto v = task.find(field); v != task.end() && v->is_number_integer())
            return std::chrono::milliseconds(std::clamp<std::int64_t>(v->get<std::int64_t>(), 50, 5'000));
    return std::chrono::seconds(1);
}

}  // namespace

const json& upstream_instance::task_of(const json& result) {
    if (auto t = result.find("task"); t != result.end() && t->is_object()) return *t;
    return result;
}

bool upstream_instance::is_task_handle(const json& result) {
    if (string_field(result, "resultType") == "task") return result.contains("taskId") && result["taskId"].is_string();
    const auto t = result.find("task");
    return t != result.end() && t->is_object() && t->contains("taskId") && (*t)["taskId"].is_string() &&
           !result.contains("content");
}

void upstream_instance::task_started(const std::string& call_id, const std::string& rpc_id, const json& result) {
    const json& task = task_of(result);
    const auto id = string_field(task, "taskId");
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end() || it->second.rpc_id != rpc_id) return;
        it->second.task_id = id;
        it->second.poll = poll_interval(task);
    }
    spdlog::debug("upstreams: {}: the server runs call {} as its task {}", p_.definition.name, call_id, id);
    task_status(call_id, rpc_id, task);
}

void upstream_instance::task_status(const std::string& call_id, const std::string& rpc_id, const json& task) {
    const auto& d = p_.definition;
    const auto status = string_field(task, "status");
    const bool modern = p_.client->modern();
    std::string id;
    std::chrono::milliseconds poll{};
    json asked = object_field(task, "inputRequests");
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end() || it->second.rpc_id != rpc_id) return;
        auto& f = it->second;
        id = f.task_id;
        if (task.contains("pollIntervalMs") || task.contains("pollInterval")) f.poll = poll_interval(task);
        poll = f.poll;
        if (status != "input_required") f.answered_inputs.clear();
        for (const auto& key : f.answered_inputs) asked.erase(key);
    }
    const json about{{"taskId", id}};
    if (status == "working" || (modern && status == "input_required" && asked.empty())) {
        auto self = shared_from_this();
        p_.after(poll, [self, call_id, rpc_id, about] { self->task_request(call_id, rpc_id, "tasks/get", about); });
        return;
    }
    // 2025-11-25: tasks/result brings the server's requests (input_required)
    // and then the result, or the task's error.
    if (!modern && (status == "input_required" || status == "completed" || status == "failed"))
        return task_request(call_id, rpc_id, "tasks/result", about);
    if (status == "input_required") {
        auto self = shared_from_this();
        return gather_inputs(call_id, rpc_id, asked, [self, call_id, rpc_id, about](json responses) {
            {
                std::lock_guard lock(self->mu_);
                if (auto it = self->flights_.find(call_id); it != self->flights_.end())
                    for (auto& [key, _] : responses.items()) it->second.answered_inputs.insert(key);
            }
            json params = about;
            params["inputResponses"] = std::move(responses);
            self->task_request(call_id, rpc_id, "tasks/update", std::move(params));
        });
    }
    if (status == "completed") {
        if (!task.contains("result") || !task["result"].is_object())
            return fail_call(call_id, rpc_id, rpc_code::internal_error,
                             "upstream '" + d.name + "' completed task " + id + " without a result");
        return task_ended(call_id, rpc_id, json{{"result", task["result"]}});
    }
    if (status == "failed") {
        if (task.contains("error") && task["error"].is_object()) return task_ended(call_id, rpc_id, json{{"error", task["error"]}});
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' failed task " + id + ": " + string_field(task, "statusMessage"));
    }
    if (status == "cancelled")
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' cancelled task " + id +
                             (task.contains("statusMessage") ? ": " + string_field(task, "statusMessage") : std::string()));
    fail_call(call_id, rpc_id, rpc_code::internal_error,
              "upstream '" + d.name + "' said task " + id + " is '" + status + "', which is no task status");
}

void upstream_instance::task_request(const std::string& call_id, const std::string& rpc_id, const std::string& method,
                                     json params) {
    std::string next;
    mcp_client::request_options o;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it == flights_.end() || it->second.rpc_id != rpc_id) return;  // cancelled, closed meanwhile
        auto& f = it->second;
        next = f.rpc_id = rpc_id.substr(0, rpc_id.find('#')) + "#t" + std::to_string(++f.task_requests);
        f.exchange = nullptr;
        o = f.options;
        if (f.deadline_ms) {
            const auto now = wall_ms();
            o.timeout = std::chrono::milliseconds(f.deadline_ms > now + 1'000 ? f.deadline_ms - now : 1'000);
        }
    }
    auto self = shared_from_this();
    auto ex = p_.client->request(
        method, std::move(params), next, [self, call_id, next](json m) { self->on_message(call_id, next, std::move(m)); },
        [self, call_id, next, method](std::expected<json, upstream_failure> r) {
            self->on_task_answer(call_id, next, method, std::move(r));
        },
        o);
    bool gone = false;
    {
        std::lock_guard lock(mu_);
        auto it = flights_.find(call_id);
        if (it != flights_.end() && it->second.rpc_id == next) it->second.exchange = ex;
        else gone = !open_ || it == flights_.end();
    }
    if (gone) ex->cancel();
}

void upstream_instance::on_task_answer(const std::string& call_id, const std::string& rpc_id, const std::string& method,
                                       std::expected<json, upstream_failure> r) {
    if (!current(call_id, rpc_id)) return;
    // tasks/result answers with the tool's result or the task's error; a
    // failure to reach the server is the call's failed attempt.
    if (method == "tasks/result" || !r) return task_ended(call_id, rpc_id, std::move(r));
    const auto& d = p_.definition;
    if (auto e = r->find("error"); e != r->end()) {
        // The server no longer knows the task (it restarted): the call is
        // tried again, as after any failed attempt.
        auto f = take_flight(call_id, rpc_id);
        if (!f) return;
        cancel_task(rpc_id, f->task_id);  // (if the server still knows it)
        const auto why = "upstream '" + d.name + "' refused " + method + " for its task " + f->task_id + ": " +
                         (e->is_object() ? string_field(*e, "message") : std::string("a malformed error"));
        p_.report(call_id, "failure", json{{"error", why}});
        return;
    }
    if (!r->contains("result") || !(*r)["result"].is_object())
        return fail_call(call_id, rpc_id, rpc_code::internal_error,
                         "upstream '" + d.name + "' answered " + method + " with a result that is not an object");
    if (method == "tasks/update") {  // the answers are in: how does it do now?
        std::string id;
        {
            std::lock_guard lock(mu_);
            auto it = flights_.find(call_id);
            if (it == flights_.end() || it->second.rpc_id != rpc_id) return;
            id = it->second.task_id;
        }
        return task_request(call_id, rpc_id, "tasks/get", json{{"taskId", id}});
    }
    task_status(call_id, rpc_id, (*r)["result"]);
}

void upstream_instance::task_ended(const std::string& call_id, const std::string& rpc_id,
                                   std::expected<json, upstream_failure> r) {
    auto f = take_flight(call_id, rpc_id);
    if (!f) return;
    // A failed attempt: the task is given up, and the call tried again.
    if (!r && r.error().what != upstream_failure::kind::cancelled) cancel_task(rpc_id, f->task_id);
    conclude(call_id, rpc_id, std::move(r), string_field(f->params, "uri"), f->listed_uri);
}

void upstream_instance::cancel_task(const std::string& rpc_id, const std::string& task_id) {
    if (task_id.empty()) return;
    const auto name = p_.definition.name;
    p_.client->request(
        "tasks/cancel", json{{"taskId", task_id}}, rpc_id.substr(0, rpc_id.find('#')) + "#cancel", nullptr,
        [name, task_id](std::expected<json, upstream_failure> r) {
            if (!r || r->contains("error"))
                spdlog::debug("upstreams: {}: tasks/cancel of {} was not taken", name, task_id);
        },
        {});
}

}  // namespace litemcp::server
