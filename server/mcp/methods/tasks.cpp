// The tasks/* methods of both eras: the 2026-07-28 Tasks extension
// (io.modelcontextprotocol/tasks: tasks/get, tasks/update, tasks/cancel)
// and the experimental tasks of 2025-11-25 (tasks/get, tasks/result,
// tasks/list, tasks/cancel). How tasks start and run is task_runner.h.
#include <algorithm>
#include <chrono>

#include "server/json/json_text.h"
#include "server/mcp/methods/methods.h"
#include "server/mcp/task_runner.h"

namespace litemcp::server::methods {

namespace {

// 2025-11-25 tasks/list: the caller's tasks, 100 a page.
rpc_result task_list(task_runner& srv, const call& c) {
    const json& p = c.params;
    std::string after;
    if (p.contains("cursor")) {
        if (!p["cursor"].is_string()) return fail(rpc_code::invalid_params, "cursor must be a string");
        after = p["cursor"].get<std::string>();
    }
    constexpr std::size_t page = 100;
    auto recs = srv.table().list([&](const task_record& r) { return srv.visible(r, c); }, after, page + 1);
    json list = json::array();
    for (std::size_t i = 0; i < recs.size() && i < page; ++i) list.push_back(task_view(recs[i], false));
    json out{{"tasks", std::move(list)}};
    if (recs.size() > page) out["nextCursor"] = recs[page - 1].id;
    return out;
}

rpc_result task_get(task& t, bool modern) {
    std::lock_guard lock(t.mu);
    return modern ? task_detail(t.rec) : task_view(t.rec, false);
}

// 2026-07-28 tasks/update: answers to a task waiting in input_required; the
// handler runs again once every input is in.
rpc_result task_update(task_runner& srv, const std::shared_ptr<task>& t, const json& p) {
    if (!p.contains("inputResponses") || !p["inputResponses"].is_object())
        return fail(rpc_code::invalid_params, "tasks/update needs params.inputResponses (an object)");
    bool ready = false;
    {
        std::lock_guard lock(t->mu);
        auto saved = srv.table().update(*t, [&](task_record& r) -> std::optional<std::string> {
            ready = false;
            if (r.status != task_status::input_required) return std::nullopt;
            bool changed = false;
            for (auto& [key, value] : p["inputResponses"].items()) {
                if (!r.input_requests.contains(key) || !value.is_object()) continue;  // unknown or answered
                r.answers[key] = value;
                r.input_requests.erase(key);
                changed = true;
            }
            if (!changed) return std::nullopt;
            ready = r.input_requests.empty();
            if (ready) {
                r.status = task_status::working;
                r.status_message.clear();
            }
            return ready ? "input complete" : "input received";
        });
        if (!saved) return fail(rpc_code::internal_error, "cannot record the input: " + saved.error().message);
        if (!*saved) ready = false;
    }
    if (ready) srv.run(t);
    return json::object();
}

rpc_result task_cancel(task_runner& srv, const std::shared_ptr<task>& t, const std::string& id, bool modern) {
    std::shared_ptr<call> running;
    {
        std::lock_guard lock(t->mu);
        std::string ended;
        auto saved = srv.table().update(*t, [&](task_record& r) -> std::optional<std::string> {
            if (terminal(r.status)) {
                ended = to_string(r.status);
                return std::nullopt;
            }
            r.status = task_status::cancelled;
            r.status_message = "cancelled by the client";
            return "cancelled";
        });
        if (!saved) return fail(rpc_code::internal_error, "cannot record the cancellation: " + saved.error().message);
        if (!*saved) {
            if (modern) return json::object();
            return fail(rpc_code::invalid_params, "task " + id + " is already " + ended);
        }
        t->cancel_requested = true;
        running = t->running;
    }
    if (running) {
        if (running->deferred) srv.workers().cancel(running->channel->origin(), running->id);
        running->cancelled->store(true);
    }
    srv.workers().cancel({call_origin::kind::task, id, {}}, json(id));
    if (modern) return json::object();
    std::lock_guard lock(t->mu);
    return task_view(t->rec, false);
}

// The asks of a task waiting for input, as real server requests on this
// request's stream (tagged with the task); the answers go into the task and
// its handler runs again. Called with t->mu held through lock; returns with
// it held. An error: the client's answer to one of them.
std::optional<rpc_failure> ask_for_task_input(task_runner& srv, const std::shared_ptr<task>& t, const std::string& id,
                                              request_context& ctx, std::unique_lock<std::mutex>& lock) {
    const json pending = t->rec.input_requests;
    lock.unlock();
    json answers = json::object();
    for (auto& [key, in] : pending.items()) {
        json params = in.value("params", json::object());
        params["_meta"][std::string(related_task_key)] = {{"taskId", id}};
        auto answer = ctx.request(in.value("method", ""), std::move(params), srv.options().request_timeout);
        if (!answer) {
            lock.lock();
            return answer.error();
        }
        answers[key] = std::move(*answer);
    }
    lock.lock();
    bool ready = false;
    auto saved = srv.table().update(*t, [&](task_record& r) -> std::optional<std::string> {
        ready = false;
        if (r.status != task_status::input_required) return std::nullopt;  // cancelled or expired meanwhile
        bool changed = false;
        for (auto& [key, value] : answers.items()) {
            if (!r.input_requests.contains(key)) continue;
            r.answers[key] = value;
            r.input_requests.erase(key);
            changed = true;
        }
        if (!changed) return std::nullopt;
        ready = r.input_requests.empty();
        if (!ready) return "input received";
        r.status = task_status::working;
        r.status_message.clear();
        return "input complete";
    });
    if (!saved) return rpc_failure{rpc_code::internal_error, "cannot record the input: " + saved.error().message, {}};
    if (!*saved || !ready) return std::nullopt;
    lock.unlock();
    srv.run(t);
    lock.lock();
    return std::nullopt;
}

// 2025-11-25 tasks/result: waits for the end; meanwhile a task waiting for
// input gets it through this request's stream (ask_for_task_input).
rpc_result task_result(task_runner& srv, const std::shared_ptr<call>& c, const std::shared_ptr<task>& t,
                       const std::string& id, request_context& ctx) {
    const auto deadline = std::chrono::steady_clock::now() + srv.options().request_timeout;
    std::unique_lock lock(t->mu);
    auto waited = [&] {
        return terminal(t->rec.status) || t->rec.status == task_status::input_required || c->cancelled->load();
    };
    for (;;) {
        // Another server's change comes with a signal (task_runner::
        // changed_elsewhere); should one be lost, the record is read again
        // every few seconds.
        while (!waited() && std::chrono::steady_clock::now() < deadline) {
            t->changed.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(3)),
                                  waited);
            if (!waited()) srv.table().refresh(*t);
        }
        if (t->rec.status != task_status::input_required || c->cancelled->load()) break;
        if (auto failed = ask_for_task_input(srv, t, id, ctx, lock)) return std::unexpected(std::move(*failed));
    }
    const auto& r = t->rec;
    if (!terminal(r.status)) return fail(rpc_code::internal_error, "task " + id + " is still " + std::string(to_string(r.status)));
    if (r.status == task_status::failed && r.error)
        return fail(r.error->value("code", rpc_code::internal_error), r.error->value("message", "failed"),
                    r.error->contains("data") ? std::optional<json>((*r.error)["data"]) : std::nullopt);
    if (r.status == task_status::cancelled) return fail(rpc_code::invalid_params, "task " + id + " was cancelled");
    json out = r.result.value_or(json::object());
    out["_meta"][std::string(related_task_key)] = {{"taskId", id}};
    return out;
}

}  // namespace

rpc_result tasks(method_scope& s) {
    auto& runner = s.srv.tasks;
    const auto& c = s.c;
    const auto& m = c->method;
    const json& p = c->params;
    const bool modern = c->channel->rules() == era::stateless;
    // Stateless: without the extension there are no tasks to talk about.
    if (modern && !declares_tasks_extension(c->channel->capabilities()))
        return fail(rpc_code::missing_capability,
                    "Missing client capability: " + m + " needs the " + std::string(tasks_extension) + " extension",
                    missing_tasks_extension());
    if (m == "tasks/list" && !modern) return task_list(runner, *c);
    if (!p.contains("taskId") || !p["taskId"].is_string()) return fail(rpc_code::invalid_params, m + " needs params.taskId");
    const auto id = p["taskId"].get<std::string>();
    auto t = runner.table().find(id);
    bool visible = false;
    if (t) {
        std::lock_guard lock(t->mu);
        visible = runner.visible(t->rec, *c);
    }
    if (!visible) return fail(rpc_code::invalid_params, "Unknown task: " + id);
    runner.recover_if_orphaned(t);
    if (m == "tasks/get") return task_get(*t, modern);
    if (m == "tasks/update" && modern) return task_update(runner, t, p);
    if (m == "tasks/cancel") return task_cancel(runner, t, id, modern);
    if (m == "tasks/result" && !modern) return task_result(runner, c, t, id, s.ctx);
    return fail(rpc_code::method_not_found, "Method not found: " + m);
}

}  // namespace litemcp::server::methods
