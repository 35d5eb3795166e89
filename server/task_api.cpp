// Tasks on the /mcp endpoint: when a tools/call becomes a task, how a task's
// handler runs and settles, and the tasks/* methods of both eras -- the
// 2026-07-28 Tasks extension (io.modelcontextprotocol/tasks: flat
// CreateTaskResult, tasks/get, tasks/update, tasks/cancel) and the
// experimental tasks of 2025-11-25 (params.task, nested CreateTaskResult,
// tasks/get, tasks/result, tasks/list, tasks/cancel). The state lives in
// task_table (one lite topic per task); see task_table.h.
//
// When a call becomes a task:
//  * 2025-11-25: the client asks (params.task) for a tool whose
//    execution.taskSupport is "optional" or "required";
//  * 2026-07-28: the server decides, for clients that declared the
//    extension: a "required" tool is a task from the start; an "optional"
//    one runs as a plain request and becomes a task if it is still running
//    after task_promote (so quick calls, and input asked for at once, stay
//    synchronous).
// A task's handler may ask for input: the task waits in input_required,
// tasks/update brings the answers, and the handler runs again from the
// start with them (request_context::ask). After a restart, tasks that were
// working run again (at-least-once); a worker's task is finished by the
// worker hub, which keeps its calls.
#include <spdlog/spdlog.h>

#include <ctime>

#include "server/json_text.h"
#include "server/mcp_server_impl.h"

namespace litemcp::server {

namespace {

constexpr std::string_view tasks_extension = "io.modelcontextprotocol/tasks";
constexpr std::string_view related_task = "io.modelcontextprotocol/related-task";

std::string iso8601(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
    return out;
}

// A view into the tool's definition (it lives as long as the tool).
std::string_view task_support(const tool& t) {
    const auto& d = t.definition;
    const auto e = d.find("execution");
    if (e == d.end() || !e->is_object()) return "forbidden";
    const auto s = e->find("taskSupport");
    if (s == e->end() || !s->is_string()) return "forbidden";
    return s->get_ref<const std::string&>();
}

bool declares_extension(const json& caps) {
    return caps.is_object() && caps.contains("extensions") && caps["extensions"].is_object() &&
           caps["extensions"].contains(tasks_extension);
}

json missing_extension() {
    return json{{"requiredCapabilities", {{"extensions", {{std::string(tasks_extension), json::object()}}}}}};
}

}  // namespace

json mcp_server::impl::task_view(const task_record& r, bool modern) const {
    json t{{"taskId", r.id},
           {"status", to_string(r.status)},
           {"createdAt", iso8601(r.created_ms)},
           {"lastUpdatedAt", iso8601(r.updated_ms)}};
    if (!r.status_message.empty()) t["statusMessage"] = r.status_message;
    if (modern) {
        t["ttlMs"] = r.ttl_ms;
        t["pollIntervalMs"] = r.poll_interval_ms;
    } else {
        t["ttl"] = r.ttl_ms;
        t["pollInterval"] = r.poll_interval_ms;
    }
    return t;
}

json mcp_server::impl::task_detail(const task_record& r) const {
    json view = task_view(r, true);
    if (r.status == task_status::input_required) view["inputRequests"] = r.input_requests;
    if (r.status == task_status::completed && r.result) view["result"] = *r.result;
    if (r.status == task_status::failed && r.error) view["error"] = *r.error;
    return view;
}

void mcp_server::impl::task_changed(const task_record& r) {
    if (!r.session.empty()) {
        auto s = sessions->find(r.session);
        if (!s || s->ended) return;
        const auto msg = make_notification("notifications/tasks/status", task_view(r, false));
        st->append_async(s->topic, session_log::encode(session_log::get_stream, to_json(msg)), 0, nullptr);
        return;
    }
    {
        std::lock_guard lock(listens_mu);
        if (listens.empty()) return;  // nobody can be listening for it
    }
    const auto msg = make_notification("notifications/tasks", task_detail(r));
    st->append_async(changes_topic, to_json(msg), changes_flag_listen_only, nullptr);
}

bool mcp_server::impl::task_visible(const task_record& r, const call& c) const {
    const bool modern = c.channel->rules() == era::stateless;
    if (modern != r.session.empty()) return false;  // one era's tasks are not the other's
    if (auth && auth->enabled()) return r.principal == c.channel->principal();
    // Without authentication a legacy task belongs to its session; a
    // 2026-07-28 task to whoever holds its unguessable id.
    return modern || (c.session && r.session == c.session->id);
}

namespace {

// A new task's record for call c, made through `channel`.
task_record record_for(const call& c, const reply_channel& channel, const mcp_options& o) {
    task_record r;
    r.status = task_status::working;
    r.ttl_ms = o.task_ttl.count();
    r.poll_interval_ms = o.task_poll_interval.count();
    r.principal = channel.principal();
    r.version = channel.version();
    r.client_capabilities = channel.capabilities();
    r.params = json{{"name", c.params.value("name", "")}, {"arguments", c.params.value("arguments", json::object())}};
    r.answers = c.answers;
    return r;
}

}  // namespace

std::optional<rpc_result> mcp_server::impl::task_gate(const std::shared_ptr<call>& c, const tool& t) {
    auto& channel = *c->channel;
    if (channel.owning_task()) return std::nullopt;  // already running as one
    const auto support = task_support(t);
    const auto& caps = channel.capabilities();
    if (channel.rules() == era::stateless) {
        const bool ext = declares_extension(caps);
        if (support == "required" && !ext)
            return fail(rpc_code::missing_capability,
                        "Missing client capability: tool '" + c->params.value("name", "") +
                            "' runs only as a task; declare the " + std::string(tasks_extension) + " extension",
                        missing_extension());
        if (!ext || support == "forbidden") return std::nullopt;
        if (support == "required") return start_task(c);
        if (channel.arm_promotion())
            timers->at(timer_queue::clock::now() + cfg.mcp.task_promote, [this, c] { promote(c); });
        return std::nullopt;
    }
    const auto task = c->params.find("task");
    const bool wants = std::string_view(channel.version()) >= "2025-11-25" && task != c->params.end() && task->is_object();
    if (support == "required" && !wants)
        return fail(rpc_code::method_not_found,
                    "tool '" + c->params.value("name", "") + "' must be called as a task (params.task)");
    if (wants && support == "forbidden")
        return fail(rpc_code::method_not_found,
                    "tool '" + c->params.value("name", "") + "' does not run as a task (execution.taskSupport)");
    if (!wants) return std::nullopt;
    return start_task(c);
}

rpc_result mcp_server::impl::start_task(const std::shared_ptr<call>& c) {
    const bool modern = c->channel->rules() == era::stateless;
    task_record r = record_for(*c, *c->channel, cfg.mcp);
    if (!modern && c->params["task"].contains("ttl") && c->params["task"]["ttl"].is_number_integer())
        r.ttl_ms = std::clamp<std::int64_t>(c->params["task"]["ttl"].get<std::int64_t>(), 1000,
                                            cfg.mcp.task_max_ttl.count());
    if (!modern) r.session = c->session->id;
    if (c->params.contains("_meta") && c->params["_meta"].contains("progressToken"))
        r.params["_meta"] = {{"progressToken", c->params["_meta"]["progressToken"]}};
    auto t = tasks->create(std::move(r));
    if (!t) return fail(rpc_code::internal_error, "cannot create the task: " + t.error());
    json view;
    {
        std::lock_guard lock((*t)->mu);
        view = task_view((*t)->rec, modern);
    }
    spdlog::info("task {}: created for tool {}", view["taskId"].get<std::string>(), c->params.value("name", ""));
    run_task(*t);
    if (modern) {
        view["resultType"] = "task";
        return view;
    }
    return json{{"task", std::move(view)}};
}

void mcp_server::impl::promote(const std::shared_ptr<call>& c) {
    if (stopping) return;  // shutting down: the call ends as it is
    const auto before = c->channel->origin();
    std::shared_ptr<task> made;
    // Runs with the call held unanswered (direct_channel::promote).
    auto make = [&]() -> std::expected<reply_channel::promoted_to, rpc_failure> {
        auto t = tasks->create(record_for(*c, *c->channel, cfg.mcp));
        if (!t) {
            spdlog::error("tasks: cannot promote a call to a task: {}", t.error());
            return std::unexpected(rpc_failure{rpc_code::internal_error, "cannot create the task: " + t.error(), {}});
        }
        made = *t;
        auto channel = std::make_shared<task_channel>(task_parts(), made);
        std::lock_guard lock(made->mu);
        made->running = c;
        json handle = task_view(made->rec, true);
        handle["resultType"] = "task";
        return reply_channel::promoted_to{std::move(channel), std::move(handle)};
    };
    if (!c->channel->promote(c, make)) return;
    if (c->deferred) hand_to_worker(made, before, *c);
    spdlog::info("task {}: a call of {} became a task", made->rec.id, c->params.value("name", ""));
}

void mcp_server::impl::hand_to_worker(const std::shared_ptr<task>& t, const call_origin& from, const call& c) {
    std::lock_guard lock(t->mu);
    auto w = workers->adopt(from, c.id, {call_origin::kind::task, t->rec.id, {}}, json(t->rec.id));
    if (!w) return;  // not queued yet (its submit adopts it), or answered already
    t->rec.worker = *w;
    if (auto saved = tasks->save(*t, "handed to worker", json{{"worker", *w}}); !saved)
        spdlog::error("task {}: cannot record its worker: {}", t->rec.id, saved.error().message);
}

void mcp_server::impl::run_task(const std::shared_ptr<task>& t) {
    auto c = std::make_shared<call>();
    c->channel = std::make_shared<task_channel>(task_parts(), t);
    c->method = "tools/call";
    c->arrived.reset();  // not a request: no duration to observe
    {
        std::lock_guard lock(t->mu);
        const auto& r = t->rec;
        c->id = r.id;
        c->id_key = to_json(c->id);
        c->params = r.params;
        c->answers = r.answers;
        if (r.params.contains("_meta") && r.params["_meta"].contains("progressToken"))
            c->progress_token = r.params["_meta"]["progressToken"];
        t->running = c;
        if (t->cancel_requested) c->cancelled->store(true);
    }
    auto work = [this, c, t] {
        auto outcome = run_handler(c);
        if (c->deferred) {  // a worker's tool: the hub settles it (finish())
            std::lock_guard lock(t->mu);
            auto name = c->params.value("name", "");
            if (auto w = workers->owner(list_kind::tools, name)) t->rec.worker = *w;
            (void)tasks->save(*t, "handed to worker", json{{"worker", t->rec.worker}});
            return;
        }
        c->channel->finish(c, std::move(outcome));
    };
    if (!handlers->post(work)) c->channel->finish(c, fail(rpc_code::internal_error, "the server is busy"));
}

void mcp_server::impl::settle_task(const std::shared_ptr<task>& t, const call* c, call_outcome outcome) {
    if (tasks_interrupted) return;  // it stays working and runs again after the restart
    std::lock_guard lock(t->mu);
    if (c && t->running.get() == c) t->running = nullptr;
    auto& r = t->rec;
    if (terminal(r.status)) return;  // cancelled meanwhile: the late outcome is dropped
    const char* event;
    if (!outcome || t->cancel_requested) {
        r.status = task_status::cancelled;
        r.status_message = "cancelled";
        event = "cancelled";
    } else if (!*outcome && outcome->error().code == rpc_code::input_pending && c) {
        r.status = task_status::input_required;
        r.status_message = "waiting for input";
        r.input_requests = c->input_requests;
        event = "input required";
    } else if (!*outcome) {
        r.status = task_status::failed;
        const auto& e = outcome->error();
        r.error = json{{"code", e.code}, {"message", e.message}};
        if (e.data) (*r.error)["data"] = *e.data;
        r.status_message = e.message;
        event = "failed";
    } else {
        r.status = task_status::completed;
        r.result = std::move(**outcome);
        r.status_message.clear();
        event = "completed";
    }
    if (auto saved = tasks->save(*t, event); !saved)
        spdlog::error("task {}: cannot record its {}: {}", r.id, event, saved.error().message);
    else
        spdlog::debug("task {}: {}", r.id, event);
}

// ---- the tasks/* methods ---------------------------------------------------

namespace {

using impl = mcp_server::impl;

// 2025-11-25 tasks/list: the caller's tasks, 100 a page.
rpc_result task_list(impl& srv, const call& c) {
    const json& p = c.params;
    std::string after;
    if (p.contains("cursor")) {
        if (!p["cursor"].is_string()) return fail(rpc_code::invalid_params, "cursor must be a string");
        after = p["cursor"].get<std::string>();
    }
    constexpr std::size_t page = 100;
    auto recs = srv.tasks->list([&](const task_record& r) { return srv.task_visible(r, c); }, after, page + 1);
    json list = json::array();
    for (std::size_t i = 0; i < recs.size() && i < page; ++i) list.push_back(srv.task_view(recs[i], false));
    json out{{"tasks", std::move(list)}};
    if (recs.size() > page) out["nextCursor"] = recs[page - 1].id;
    return out;
}

rpc_result task_get(impl& srv, task& t, bool modern) {
    std::lock_guard lock(t.mu);
    return modern ? srv.task_detail(t.rec) : srv.task_view(t.rec, false);
}

// 2026-07-28 tasks/update: answers to a task waiting in input_required; the
// handler runs again once every input is in.
rpc_result task_update(impl& srv, const std::shared_ptr<task>& t, const json& p) {
    if (!p.contains("inputResponses") || !p["inputResponses"].is_object())
        return fail(rpc_code::invalid_params, "tasks/update needs params.inputResponses (an object)");
    bool ready = false;
    {
        std::lock_guard lock(t->mu);
        auto& r = t->rec;
        if (r.status != task_status::input_required) return json::object();
        bool changed = false;
        for (auto& [key, value] : p["inputResponses"].items()) {
            if (!r.input_requests.contains(key) || !value.is_object()) continue;  // unknown or answered
            r.answers[key] = value;
            r.input_requests.erase(key);
            changed = true;
        }
        if (!changed) return json::object();
        ready = r.input_requests.empty();
        if (ready) {
            r.status = task_status::working;
            r.status_message.clear();
        }
        if (auto saved = srv.tasks->save(*t, ready ? "input complete" : "input received"); !saved)
            return fail(rpc_code::internal_error, "cannot record the input: " + saved.error().message);
    }
    if (ready) srv.run_task(t);
    return json::object();
}

rpc_result task_cancel(impl& srv, const std::shared_ptr<task>& t, const std::string& id, bool modern) {
    std::shared_ptr<call> running;
    {
        std::lock_guard lock(t->mu);
        auto& r = t->rec;
        if (terminal(r.status)) {
            if (modern) return json::object();
            return fail(rpc_code::invalid_params, "task " + id + " is already " + std::string(to_string(r.status)));
        }
        t->cancel_requested = true;
        r.status = task_status::cancelled;
        r.status_message = "cancelled by the client";
        if (auto saved = srv.tasks->save(*t, "cancelled"); !saved)
            return fail(rpc_code::internal_error, "cannot record the cancellation: " + saved.error().message);
        running = t->running;
    }
    if (running) {
        if (running->deferred) srv.workers->cancel(running->channel->origin(), running->id);
        running->cancelled->store(true);
    }
    srv.workers->cancel({call_origin::kind::task, id, {}}, json(id));
    if (modern) return json::object();
    std::lock_guard lock(t->mu);
    return srv.task_view(t->rec, false);
}

// The asks of a task waiting for input, as real server requests on this
// request's stream (tagged with the task); the answers go into the task and
// its handler runs again. Called with t->mu held through lock; returns with
// it held. An error: the client's answer to one of them.
std::optional<rpc_failure> ask_for_task_input(impl& srv, const std::shared_ptr<task>& t, const std::string& id,
                                              request_context& ctx, std::unique_lock<std::mutex>& lock) {
    const json pending = t->rec.input_requests;
    lock.unlock();
    json answers = json::object();
    for (auto& [key, in] : pending.items()) {
        json params = in.value("params", json::object());
        params["_meta"][std::string(related_task)] = {{"taskId", id}};
        auto answer = ctx.request(in.value("method", ""), std::move(params), srv.cfg.mcp.request_timeout);
        if (!answer) {
            lock.lock();
            return answer.error();
        }
        answers[key] = std::move(*answer);
    }
    lock.lock();
    auto& r = t->rec;
    if (r.status != task_status::input_required) return std::nullopt;  // cancelled or expired meanwhile
    for (auto& [key, value] : answers.items()) {
        if (!r.input_requests.contains(key)) continue;
        r.answers[key] = value;
        r.input_requests.erase(key);
    }
    if (!r.input_requests.empty()) return std::nullopt;
    r.status = task_status::working;
    r.status_message.clear();
    if (auto saved = srv.tasks->save(*t, "input complete"); !saved)
        return rpc_failure{rpc_code::internal_error, "cannot record the input: " + saved.error().message, {}};
    lock.unlock();
    srv.run_task(t);
    lock.lock();
    return std::nullopt;
}

// 2025-11-25 tasks/result: waits for the end; meanwhile a task waiting for
// input gets it through this request's stream (ask_for_task_input).
rpc_result task_result(impl& srv, const std::shared_ptr<call>& c, const std::shared_ptr<task>& t,
                       const std::string& id, request_context& ctx) {
    const auto deadline = std::chrono::steady_clock::now() + srv.cfg.mcp.request_timeout;
    std::unique_lock lock(t->mu);
    for (;;) {
        t->changed.wait_until(lock, deadline, [&] {
            return terminal(t->rec.status) || t->rec.status == task_status::input_required || c->cancelled->load();
        });
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
    out["_meta"][std::string(related_task)] = {{"taskId", id}};
    return out;
}

}  // namespace

rpc_result mcp_server::impl::serve_task_method(const std::shared_ptr<call>& c, request_context& ctx) {
    const auto& m = c->method;
    const json& p = c->params;
    const bool modern = c->channel->rules() == era::stateless;
    // Stateless: without the extension there are no tasks to talk about.
    if (modern && !declares_extension(c->channel->capabilities()))
        return fail(rpc_code::missing_capability,
                    "Missing client capability: " + m + " needs the " + std::string(tasks_extension) + " extension",
                    missing_extension());
    if (m == "tasks/list" && !modern) return task_list(*this, *c);
    if (!p.contains("taskId") || !p["taskId"].is_string()) return fail(rpc_code::invalid_params, m + " needs params.taskId");
    const auto id = p["taskId"].get<std::string>();
    auto t = tasks->find(id);
    bool visible = false;
    if (t) {
        std::lock_guard lock(t->mu);
        visible = task_visible(t->rec, *c);
    }
    if (!visible) return fail(rpc_code::invalid_params, "Unknown task: " + id);
    if (m == "tasks/get") return task_get(*this, *t, modern);
    if (m == "tasks/update" && modern) return task_update(*this, t, p);
    if (m == "tasks/cancel") return task_cancel(*this, t, id, modern);
    if (m == "tasks/result" && !modern) return task_result(*this, c, t, id, ctx);
    return fail(rpc_code::method_not_found, "Method not found: " + m);
}

void mcp_server::impl::resume_tasks() {
    auto unfinished = tasks->load_unfinished();
    std::size_t rerun = 0;
    for (auto& t : unfinished) {
        bool again;
        {
            std::lock_guard lock(t->mu);
            again = t->rec.status == task_status::working && t->rec.worker.empty();
        }
        if (again) {
            run_task(t);
            ++rerun;
        }
    }
    if (!unfinished.empty())
        spdlog::info("tasks: {} unfinished on record, {} running again", unfinished.size(), rerun);
}

}  // namespace litemcp::server
