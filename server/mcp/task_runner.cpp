// The task runner (task_runner.h): the gate, a task's start, promotion,
// runs and settling, and what clients see of a task.
#include <spdlog/spdlog.h>

#include <ctime>

#include "server/json/json_text.h"
#include "server/sessions/session.h"
#include "server/mcp/task_runner.h"

namespace litemcp::server {

namespace {

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

}  // namespace

bool declares_tasks_extension(const json& caps) {
    return caps.is_object() && caps.contains("extensions") && caps["extensions"].is_object() &&
           caps["extensions"].contains(tasks_extension);
}

json missing_tasks_extension() {
    return json{{"requiredCapabilities", {{"extensions", {{std::string(tasks_extension), json::object()}}}}}};
}

json task_view(const task_record& r, bool modern) {
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

json task_detail(const task_record& r) {
    json view = task_view(r, true);
    if (r.status == task_status::input_required) view["inputRequests"] = r.input_requests;
    if (r.status == task_status::completed && r.result) view["result"] = *r.result;
    if (r.status == task_status::failed && r.error) view["error"] = *r.error;
    return view;
}

bool task_runner::visible(const task_record& r, const call& c) const {
    const bool modern = c.channel->rules() == era::stateless;
    if (modern != r.session.empty()) return false;  // one era's tasks are not the other's
    if (parts_.authenticated) return r.principal == c.channel->principal();
    // Without authentication a legacy task belongs to its session; a
    // 2026-07-28 task to whoever holds its unguessable id.
    return modern || (c.channel->session() && r.session == c.channel->session()->id);
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

std::optional<rpc_result> task_runner::gate(const std::shared_ptr<call>& c, const tool& t) {
    auto& channel = *c->channel;
    if (channel.owning_task()) return std::nullopt;  // already running as one
    const auto support = task_support(t);
    const auto& caps = channel.capabilities();
    if (channel.rules() == era::stateless) {
        const bool ext = declares_tasks_extension(caps);
        if (support == "required" && !ext)
            return fail(rpc_code::missing_capability,
                        "Missing client capability: tool '" + c->params.value("name", "") +
                            "' runs only as a task; declare the " + std::string(tasks_extension) + " extension",
                        missing_tasks_extension());
        if (!ext || support == "forbidden") return std::nullopt;
        if (support == "required") return start(c);
        if (!promotions_stopped_ && channel.arm_promotion())
            parts_.timers.at(timer_queue::clock::now() + parts_.options.task_promote, [this, c] { promote(c); });
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
    return start(c);
}

rpc_result task_runner::start(const std::shared_ptr<call>& c) {
    const bool modern = c->channel->rules() == era::stateless;
    task_record r = record_for(*c, *c->channel, parts_.options);
    if (!modern && c->params["task"].contains("ttl") && c->params["task"]["ttl"].is_number_integer())
        r.ttl_ms = std::clamp<std::int64_t>(c->params["task"]["ttl"].get<std::int64_t>(), 1000,
                                            parts_.options.task_max_ttl.count());
    if (!modern) r.session = c->channel->session()->id;
    if (c->params.contains("_meta") && c->params["_meta"].contains("progressToken"))
        r.params["_meta"] = {{"progressToken", c->params["_meta"]["progressToken"]}};
    auto t = parts_.tasks.create(std::move(r));
    if (!t) return fail(rpc_code::internal_error, "cannot create the task: " + t.error());
    json view;
    {
        std::lock_guard lock((*t)->mu);
        view = task_view((*t)->rec, modern);
    }
    spdlog::info("task {}: created for tool {}", view["taskId"].get<std::string>(), c->params.value("name", ""));
    run(*t);
    if (modern) {
        view["resultType"] = "task";
        return view;
    }
    return json{{"task", std::move(view)}};
}

void task_runner::promote(const std::shared_ptr<call>& c) {
    if (promotions_stopped_) return;  // shutting down: the call ends as it is
    const auto before = c->channel->origin();
    std::shared_ptr<task> made;
    // Runs with the call held unanswered (direct_channel::promote).
    auto make = [&]() -> std::expected<reply_channel::promoted_to, rpc_failure> {
        auto t = parts_.tasks.create(record_for(*c, *c->channel, parts_.options));
        if (!t) {
            spdlog::error("tasks: cannot promote a call to a task: {}", t.error());
            return std::unexpected(rpc_failure{rpc_code::internal_error, "cannot create the task: " + t.error(), {}});
        }
        made = *t;
        // A worker's call is filed under the task before the client sees the
        // handle: a crash right after must find the call the task's, or the
        // worker's answer would settle nothing and the task would run again.
        if (c->deferred) hand_to_worker(made, before, *c);
        auto channel = std::make_shared<task_channel>(channel_parts(), made);
        std::lock_guard lock(made->mu);
        made->running = c;
        json handle = task_view(made->rec, true);
        handle["resultType"] = "task";
        return reply_channel::promoted_to{std::move(channel), std::move(handle)};
    };
    if (!c->channel->promote(c, make)) return;
    spdlog::info("task {}: a call of {} became a task", made->rec.id, c->params.value("name", ""));
}

void task_runner::hand_to_worker(const std::shared_ptr<task>& t, const call_origin& from, const call& c) {
    std::lock_guard lock(t->mu);
    auto w = parts_.workers.adopt(from, c.id, {call_origin::kind::task, t->rec.id, {}}, json(t->rec.id));
    if (!w) return;  // not queued yet (its submit adopts it), or answered already
    record_worker(*t, *w);
}

void task_runner::record_worker(task& t, const std::string& worker) {
    auto saved = parts_.tasks.update(
        t,
        [&](task_record& r) -> std::optional<std::string> {
            if (terminal(r.status)) return std::nullopt;
            r.worker = worker;
            return "handed to worker";
        },
        json{{"worker", worker}});
    if (!saved) spdlog::error("task {}: cannot record its worker: {}", t.rec.id, saved.error().message);
}

void task_runner::run(const std::shared_ptr<task>& t) {
    auto c = std::make_shared<call>();
    c->channel = std::make_shared<task_channel>(channel_parts(), t);
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
        auto outcome = parts_.run_handler(c);
        if (c->deferred) {  // a worker's tool: the hub settles it (finish())
            std::lock_guard lock(t->mu);
            auto w = parts_.workers.owner(list_kind::tools, c->params.value("name", ""));
            record_worker(*t, w ? *w : t->rec.worker);
            return;
        }
        c->channel->finish(c, std::move(outcome));
    };
    if (!parts_.handlers.post(work)) c->channel->finish(c, fail(rpc_code::internal_error, "the server is busy"));
}

void task_runner::settle(const std::shared_ptr<task>& t, const call* c, call_outcome outcome) {
    if (interrupted_) return;  // it stays working and runs again after the restart
    std::lock_guard lock(t->mu);
    if (c && t->running.get() == c) t->running = nullptr;
    const bool cancelled = !outcome || t->cancel_requested;
    auto saved = parts_.tasks.update(*t, [&](task_record& r) -> std::optional<std::string> {
        if (terminal(r.status)) return std::nullopt;  // cancelled meanwhile: the late outcome is dropped
        if (cancelled) {
            r.status = task_status::cancelled;
            r.status_message = "cancelled";
            return "cancelled";
        }
        if (!*outcome && outcome->error().code == rpc_code::input_pending && c) {
            r.status = task_status::input_required;
            r.status_message = "waiting for input";
            r.input_requests = c->input_requests;
            r.answers = c->answers;  // a worker's parked request is named there (parked_inputs.h)
            return "input required";
        }
        if (!*outcome) {
            const auto& e = outcome->error();
            r.status = task_status::failed;
            r.error = json{{"code", e.code}, {"message", e.message}};
            if (e.data) (*r.error)["data"] = *e.data;
            r.status_message = e.message;
            return "failed";
        }
        r.status = task_status::completed;
        r.result = **outcome;
        r.status_message.clear();
        return "completed";
    });
    if (!saved)
        spdlog::error("task {}: cannot record how its run ended: {}", t->rec.id, saved.error().message);
    else if (*saved)
        spdlog::debug("task {}: {}", t->rec.id, **saved);
}

void task_runner::changed_elsewhere(const std::string& id) {
    auto t = parts_.tasks.loaded(id);
    if (!t) return;  // not in memory here: the next read finds the record as it is
    std::shared_ptr<call> running;
    {
        std::lock_guard lock(t->mu);
        if (!parts_.tasks.refresh(*t) || t->rec.status != task_status::cancelled) return;
        running = t->running;
    }
    // Cancelled through another server while its handler runs here.
    if (running) {
        if (running->deferred) parts_.workers.cancel(running->channel->origin(), running->id);
        running->cancelled->store(true);
    }
    parts_.workers.cancel({call_origin::kind::task, id, {}}, json(id));
}

task_runner::task_runner(parts p) : parts_(std::move(p)) {
    settle_fn_ = [this](const std::shared_ptr<task>& t, const call* c, call_outcome outcome) {
        settle(t, c, std::move(outcome));
    };
}

void task_runner::resume() {
    auto unfinished = parts_.tasks.load_unfinished();
    std::size_t rerun = 0;
    for (auto& t : unfinished) {
        bool again;
        {
            std::lock_guard lock(t->mu);
            again = t->rec.status == task_status::working && t->rec.worker.empty();
        }
        if (!again) continue;
        ++rerun;
        if (parts_.tasks.shared())
            recover_if_orphaned(t);
        else
            run(t);
    }
    if (!unfinished.empty())
        spdlog::info("tasks: {} unfinished on record, {} running again{}", unfinished.size(), rerun,
                     parts_.tasks.shared() ? " (those no other server runs)" : "");
}

void task_runner::recover_if_orphaned(const std::shared_ptr<task>& t) {
    if (!parts_.tasks.shared() || interrupted_) return;
    {
        std::lock_guard lock(t->mu);
        const auto now = std::chrono::steady_clock::now();
        if (t->rec.status != task_status::working || !t->rec.worker.empty() || t->running || t->stored.empty() ||
            now - t->asked < orphan_recheck)
            return;
        t->asked = now;
    }
    parts_.tasks.ask_live(t->rec.id, [this, t](bool live) {
        if (!live) (void)parts_.handlers.post([this, t] { claim_and_run(t); });
    });
}

void task_runner::claim_and_run(const std::shared_ptr<task>& t) {
    if (interrupted_) return;
    bool claimed = false;
    {
        std::lock_guard lock(t->mu);
        auto saved = parts_.tasks.update(
            *t,
            [&](task_record& r) -> std::optional<std::string> {
                if (r.status != task_status::working || !r.worker.empty() || t->running) return std::nullopt;
                return "running again";
            },
            json{{"why", "no server was running it"}});
        claimed = saved && *saved;
    }
    if (!claimed) return;
    spdlog::info("task {}: no server was running it; running it again here", t->rec.id);
    run(t);
}

void task_runner::stop_promotions() { promotions_stopped_ = true; }

void task_runner::interrupt() {
    interrupted_ = true;
    // Every running handler is cancelled (nothing is recorded), and
    // whoever waits for a task's change (tasks/result) wakes up.
    for (auto& t : parts_.tasks.unfinished()) {
        std::lock_guard lock(t->mu);
        t->changed.notify_all();
        if (t->running) t->running->cancelled->store(true);
    }
}

}  // namespace litemcp::server
