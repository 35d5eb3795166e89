// The worker hub: what the worker API asks -- register, deregister,
// describe, attach, answer -- and the figures the admin API reads.
#include "server/workers/worker_hub.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <pthread.h>

#include "server/util/ids.h"
#include "server/json/json_schema.h"
#include "server/json/json_text.h"
#include "server/workers/registrations.h"
#include "server/workers/worker_hub_state.h"

namespace litemcp::server {

using namespace worker_hub_detail;

worker_answer worker_hub::register_worker(const json& body, std::optional<std::string> credential, const std::string& owner) {
    effects fx;
    worker_answer out;
    {
        std::lock_guard lock(mu_);
        out = regs_->add(body, credential, owner, fx);
    }
    for (auto& f : fx) f();
    return out;
}

worker_answer worker_hub::deregister(const std::string& name, std::optional<std::string> credential) {
    effects fx;
    std::vector<std::shared_ptr<instance>> instances;
    std::string topic, consumer;
    {
        std::lock_guard lock(mu_);
        worker_answer denied;
        auto* w = regs_->authorized(name, credential, denied);
        if (!w) return denied;
        std::vector<open_call*> mine;
        for (auto& [id, c] : calls_)
            if (c->worker == name) mine.push_back(c.get());
        for (auto* c : mine) fail_call(*c, "worker '" + name + "' was deregistered", fx);
        instances = std::move(w->instances);
        w->online = false;
        regs_->publish(*w, fx);
        topic = w->topic;
        consumer = w->consumer;
        regs_->remove(name);
    }
    for (auto& f : fx) f();
    store_.remove_consumer(consumer);
    if (auto r = store_.remove_topic(topic); !r && r.error().code != store::errc::not_found)
        spdlog::error("workers: {}: cannot remove the queue: {}", name, r.error().message);
    for (auto& i : instances) i->sse->close();
    spdlog::info("workers: {}: deregistered", name);
    return {worker_outcome::done, json{{"name", name}, {"deregistered", true}}};
}

std::size_t worker_hub::in_flight(const std::string& worker) const {
    std::size_t delivered = 0;
    for (auto& [id, c] : calls_)
        if (c->worker == worker && c->state == open_call::phase::delivered) ++delivered;
    return delivered;
}

worker_answer worker_hub::describe(const std::string& name, std::optional<std::string> credential) {
    std::lock_guard lock(mu_);
    worker_answer denied;
    auto* w = regs_->authorized(name, credential, denied);
    if (!w) return denied;
    return {worker_outcome::done, regs_->describe(*w, in_flight(name))};
}

std::optional<worker_answer> worker_hub::check_attach(const std::string& name, std::optional<std::string> credential) {
    std::lock_guard lock(mu_);
    worker_answer denied;
    auto* w = regs_->authorized(name, credential, denied);
    if (!w) return denied;
    if (w->instances.size() >= opts_.max_instances)
        return error(worker_outcome::too_many_instances, "worker '" + name + "' has " + std::to_string(w->instances.size()) +
                              " instances connected, the limit");
    return std::nullopt;
}

void worker_hub::attach(const std::string& name, std::string instance_id, std::shared_ptr<transport::sse_stream> sse) {
    effects fx;
    auto mine = std::make_shared<instance>();
    mine->id = instance_id;
    mine->sse = sse;
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) {
            sse->close();
            return;
        }
        auto& w = *it->second;
        // An instance reconnecting under its id takes over from its old
        // stream, which may not have noticed it is gone (like a GET takeover).
        for (auto& old : w.instances)
            if (old->id == instance_id) old->sse->abort();
        std::erase_if(w.instances, [&](auto& old) { return old->id == instance_id; });
        w.instances.push_back(mine);
        w.presence++;
        set_online(w, true, fx);
    }
    // A worker coming back online is listed again before its instance hears
    // "attached", so a client the worker tells at once finds its tools; and
    // the instance gets no call before that event.
    for (auto& f : fx) f();
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) return;  // deregistered meanwhile: its instances were closed
        auto& w = *it->second;
        if (std::find(w.instances.begin(), w.instances.end(), mine) == w.instances.end()) return;  // replaced
        sse->send({}, to_json(json{{"type", "attached"}, {"worker", name}, {"instance", instance_id}}));
        mine->attached = true;
        spdlog::info("workers: {}: instance {} attached ({} now)", name, instance_id, w.instances.size());
    }
    // Runs on an I/O thread when the stream ends for any reason. Calls the
    // instance held stay delivered until their invisibility timeout.
    sse->on_closed([this, name, instance_id, weak = std::weak_ptr<instance>(mine)] {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) return;
        auto& w = *it->second;
        auto me = weak.lock();
        if (!me || std::find(w.instances.begin(), w.instances.end(), me) == w.instances.end()) return;  // replaced
        std::erase(w.instances, me);
        spdlog::info("workers: {}: instance {} left ({} now)", name, instance_id, w.instances.size());
        if (w.instances.empty()) schedule(clock::now() + opts_.offline_grace, {timer::kind::offline, name, {}, w.presence});
    });
    wake(name);
}

worker_answer worker_hub::answer(const std::string& name, std::optional<std::string> credential,
                              const std::string& call_id, const std::string& action, const json& body) {
    effects fx;
    worker_answer out;
    {
        std::lock_guard lock(mu_);
        worker_answer denied;
        auto* w = regs_->authorized(name, credential, denied);
        if (!w) return denied;
        auto it = calls_.find(call_id);
        if (it == calls_.end() || it->second->worker != name) {
            if (recently_done_.contains(call_id))
                return {worker_outcome::done, json{{"callId", call_id}, {"status", "already finished"}}};
            return error(worker_outcome::unknown_call, "call '" + call_id + "' is not open on worker '" + name +
                                  "' (it never existed, or it was answered, failed or cancelled)");
        }
        auto& c = *it->second;
        const auto now = clock::now();
        const bool delivered = c.state == open_call::phase::delivered;
        if (action == "result") {
            const auto& result = body.at("result");
            if (c.ticket.method == "tools/call" && !(result.contains("content") && result["content"].is_array()))
                return error(worker_outcome::invalid, "result.content: a tools/call result is an MCP CallToolResult, with a content array");
            w->answered++;
            complete(c, make_result(c.ticket.request_id, result), fx);
            out = {worker_outcome::done, json{{"callId", call_id}, {"status", "answered"}}};
        } else if (action == "progress") {
            if (delivered) c.invisible_until = std::max(c.invisible_until, now + w->invisibility);
            if (c.ticket.progress_token) {
                json p{{"progressToken", *c.ticket.progress_token}, {"progress", body.at("progress")}};
                if (body.contains("total")) p["total"] = body["total"];
                if (body.contains("message")) p["message"] = body["message"];
                fx.push_back([this, t = c.ticket, n = make_notification("notifications/progress", std::move(p))] {
                    sink_.notify(t, n, std::nullopt);
                });
                out = {worker_outcome::done, json{{"callId", call_id}, {"status", "sent"}}};
            } else {
                out = {worker_outcome::done, json{{"callId", call_id}, {"status", "dropped: the client asked for no progress"}}};
            }
        } else if (action == "log") {
            auto level = parse_log_level(body.at("level").get<std::string>());
            json p{{"level", body["level"]}, {"data", body.at("data")}};
            if (body.contains("logger")) p["logger"] = body["logger"];
            fx.push_back([this, t = c.ticket, n = make_notification("notifications/message", std::move(p)), level] {
                sink_.notify(t, n, level);
            });
            out = {worker_outcome::done, json{{"callId", call_id}, {"status", "sent"}}};
        } else if (!delivered) {
            return error(worker_outcome::conflict, "call '" + call_id + "' is not delivered right now (it is queued or waiting to be retried)");
        } else if (action == "failure") {
            std::optional<std::chrono::milliseconds> after;
            if (body.contains("retryAfterMs")) after = std::chrono::milliseconds(body["retryAfterMs"].get<long long>());
            const auto attempts = c.attempts;
            const bool last = attempts >= w->max_attempts;
            retry_or_dead_letter(c, body.at("error").get<std::string>(), after, fx);
            out = {worker_outcome::done, json{{"callId", call_id}, {"status", last ? "dead-lettered" : "will be retried"}, {"attempts", attempts}}};
        } else if (action == "extend") {
            const auto ms = std::chrono::milliseconds(body.at("ms").get<long long>());
            c.invisible_until = now + ms;
            out = {worker_outcome::done, json{{"callId", call_id}, {"status", "extended"}, {"invisibleForMs", ms.count()}}};
        } else if (action == "suspend") {
            // Not a failed attempt: the call goes back to the head of the
            // queue and the whole worker pauses.
            const auto ms = std::chrono::milliseconds(body.at("ms").get<long long>());
            release_slot(c);
            c.attempts--;
            c.generation++;
            c.state = open_call::phase::ready;
            w->ready.push_front(c.id);
            w->suspended_until = now + ms;
            store_.suspend(w->consumer, w->topic, ms);
            schedule(w->suspended_until, {timer::kind::resume, name, {}, 0});
            out = {worker_outcome::done, json{{"callId", call_id}, {"status", "suspended"}, {"resumeInMs", ms.count()}}};
        } else {
            return error(worker_outcome::invalid, "unknown action '" + action + "'");
        }
    }
    for (auto& f : fx) f();
    return out;
}

std::expected<std::string, std::string> worker_hub::requeue(const std::string& worker, const json& letter) {
    if (!letter.is_object() || !letter.contains("callId") || !letter.contains("params") || !letter.contains("method"))
        return std::unexpected("the record is not a dead letter");
    call_ticket t;
    t.request_id = "requeued-" + letter["callId"].get<std::string>() + "-" + random_id().substr(0, 8);
    t.method = letter.value("method", "tools/call");
    return submit(worker, std::move(t), letter["params"]);
}

std::optional<json> worker_hub::inspect(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = workers_.find(name);
    if (it == workers_.end()) return std::nullopt;
    return regs_->describe(*it->second, in_flight(name));
}

std::vector<worker_stats> worker_hub::stats() const {
    std::lock_guard lock(mu_);
    std::vector<worker_stats> out;
    for (auto& [name, w] : workers_) {
        worker_stats s{name, w->online, w->instances.size(), w->open, 0, w->delivered, w->redelivered, w->answered,
                       w->dead_lettered};
        for (auto& i : w->instances) s.in_flight += i->busy;
        out.push_back(std::move(s));
    }
    return out;
}

// ---- the MCP side --------------------------------------------------------------

std::optional<std::string> worker_hub::owner(list_kind kind, const std::string& key) const {
    std::lock_guard lock(mu_);
    return regs_->owner(kind, key);
}

std::shared_ptr<const tool> worker_hub::worker_tool(const std::string& name) const {
    std::lock_guard lock(mu_);
    return regs_->worker_tool(name);
}

}  // namespace litemcp::server
