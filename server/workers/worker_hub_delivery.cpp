// The worker hub: reading a worker's queue, delivering calls to instances,
// retries and dead letters, answers, publication; submit, adopt, cancel.
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

void worker_hub::pump(worker& w, effects& fx) {
    const auto now = clock::now();
    (void)store_.take_ready(w.consumer);
    while (w.ready.size() < 4096) {
        auto r = store_.read(w.topic, w.next, {256, 4u << 20});
        if (!r) break;  // no topic yet: nothing was ever queued
        if (r->outcome == store::read_outcome::truncated) {
            spdlog::warn("workers: {}: offsets {}..{} were trimmed before they were read", w.name, w.next,
                         r->first_offset - 1);
            w.next = r->first_offset;
            continue;
        }
        for (auto& rec : r->records) {
            w.next = rec.offset + 1;
            auto j = parse_json(rec.payload).value_or(json());
            if (!j.is_object() || !j.contains("callId") || !j["callId"].is_string()) continue;
            auto it = calls_.find(j["callId"].get<std::string>());
            if (it == calls_.end() || it->second->offset) continue;  // finished since, or seen
            auto& c = *it->second;
            c.offset = rec.offset;
            w.pinned.insert(rec.offset);
            if (c.state == open_call::phase::queued) {
                c.state = open_call::phase::ready;
                w.ready.push_back(c.id);
            }
        }
        if (r->next_offset >= r->end_offset) break;  // a batch may stop at its byte bound with calls to come
    }
    if (now >= w.suspended_until) {
        while (!w.ready.empty()) {
            std::shared_ptr<instance> best;
            for (auto& i : w.instances)
                if (i->attached && i->busy < w.concurrency && i->sse->is_open() && (!best || i->busy < best->busy))
                    best = i;
            if (!best) break;
            auto id = w.ready.front();
            w.ready.pop_front();
            auto it = calls_.find(id);
            if (it == calls_.end() || it->second->state != open_call::phase::ready) continue;
            deliver(w, *it->second, best, fx);
        }
    }
    save_cursor(w);
}

json worker_hub::event_for(const open_call& c, std::uint64_t) {
    json e{{"type", "call"},
           {"callId", c.id},
           {"method", c.ticket.method},
           {"deadline", c.deadline_ms},
           {"attempt", c.attempts}};
    if (c.ticket.method == "tools/call") {  // tool and arguments; the params are not repeated
        e["tool"] = c.params.value("name", "");
        e["arguments"] = c.params.value("arguments", json::object());
        if (c.params.contains("_meta")) e["meta"] = c.params["_meta"];
    } else {
        e["params"] = c.params;
    }
    if (c.ticket.progress_token) e["progressToken"] = *c.ticket.progress_token;
    return e;
}

void worker_hub::deliver(worker& w, open_call& c, const std::shared_ptr<instance>& to, effects& fx) {
    c.attempts++;
    c.generation++;
    c.state = open_call::phase::delivered;
    c.holder = to;
    c.invisible_until = clock::now() + w.invisibility;
    to->busy++;
    // The attempt count is durable before the worker sees the call, so a
    // restart cannot grant a call more deliveries than maxAttempts.
    if (auto r = store_.kv_put(std::string(call_prefix) + c.id, to_json(c.record())); !r)
        spdlog::error("workers: {}: cannot record delivery {} of call {}: {}", w.name, c.attempts, c.id, r.error().message);
    if (!to->sse->send(std::to_string(c.offset.value_or(0)), to_json(event_for(c, c.offset.value_or(0))))) {
        // The stream ended, or the event does not fit its bound (the stream
        // is then dropped): the instance is gone for the hub, and the
        // delivery counts as a failed attempt -- a call that can never be
        // written ends in the dead-letter topic instead of looping.
        std::erase(w.instances, to);
        retry_or_dead_letter(c, "the call could not be written to instance " + to->id +
                                    " (its stream ended, or the call is larger than a stream may queue)",
                             std::chrono::milliseconds(0), fx);
        return;
    }
    w.delivered++;
    if (c.attempts > 1) w.redelivered++;
    schedule(c.invisible_until, {timer::kind::invisibility, w.name, c.id, c.generation});
    spdlog::debug("workers: {}: call {} delivered to {} (attempt {})", w.name, c.id, to->id, c.attempts);
}

void worker_hub::send_cancel(const open_call& c, const std::string& reason) {
    if (c.state != open_call::phase::delivered) return;
    if (auto i = c.holder.lock()) i->sse->send({}, to_json(json{{"type", "cancel"}, {"callId", c.id}, {"reason", reason}}));
}

void worker_hub::release_slot(open_call& c) {
    if (c.state != open_call::phase::delivered) return;
    if (auto i = c.holder.lock(); i && i->busy > 0) i->busy--;
    c.holder.reset();
}

void worker_hub::retry_or_dead_letter(open_call& c, const std::string& why,
                                      std::optional<std::chrono::milliseconds> after_ms, effects& fx) {
    auto wi = workers_.find(c.worker);
    if (wi == workers_.end()) return fail_call(c, "worker '" + c.worker + "' is gone", fx);
    auto& w = *wi->second;
    release_slot(c);
    c.last_error = why;
    c.generation++;
    if (c.attempts >= w.max_attempts) {
        json letter{{"callId", c.id},
                    {"worker", w.name},
                    {"method", c.ticket.method},
                    {"params", c.params},
                    {"attempts", c.attempts},
                    {"error", why},
                    {"failedAtMs", wall_ms()}};
        c.ticket.origin.write_to(letter);
        store_.append_async(w.dlq, to_json(letter), 0, [name = w.name, id = c.id](store::result<store::append_ack> r) {
            if (!r) spdlog::error("workers: {}: cannot dead-letter call {}: {}", name, id, r.error().message);
        });
        w.dead_lettered++;
        spdlog::warn("workers: {}: call {} dead-lettered after {} attempts: {}", w.name, c.id, c.attempts, why);
        return fail_call(c,
                         "worker '" + w.name + "' failed this call " + std::to_string(c.attempts) +
                             " times; the last error: " + why,
                         fx);
    }
    auto delay = after_ms.value_or(opts_.retry_backoff * (1u << std::min(c.attempts - 1, 10u)));
    delay = std::min<std::chrono::milliseconds>(delay, std::chrono::minutes(10));
    c.state = open_call::phase::waiting;
    schedule(clock::now() + delay, {timer::kind::retry, w.name, c.id, c.generation});
    wake(w.name);  // a slot is free
}

void worker_hub::fail_call(open_call& c, const std::string& message, effects& fx) {
    json response = c.ticket.method == "tools/call"
                        ? make_result(c.ticket.request_id,
                                      json{{"content", json::array({{{"type", "text"}, {"text", message}}})},
                                           {"isError", true}})
                        : make_error(c.ticket.request_id, rpc_code::internal_error, message);
    complete(c, std::move(response), fx);
}

void worker_hub::complete(open_call& c, std::optional<json> response, effects& fx) {
    release_slot(c);
    if (auto wi = workers_.find(c.worker); wi != workers_.end()) {
        auto& w = *wi->second;
        if (c.offset) w.pinned.erase(*c.offset);
        if (c.counted && w.open > 0) w.open--;
        save_cursor(w);
        wake(w.name);
    }
    by_request_.erase(request_key(c.ticket.origin, c.ticket.request_id));
    if (auto r = store_.kv_delete(std::string(call_prefix) + c.id); !r)
        spdlog::error("workers: cannot delete the record of call {}: {}", c.id, r.error().message);
    if (recently_done_.insert(c.id).second) done_order_.push_back(c.id);
    if (done_order_.size() > recently_done_max) {
        recently_done_.erase(done_order_.front());
        done_order_.erase(done_order_.begin());
    }
    fx.push_back([this, t = std::move(c.ticket), r = std::move(response)]() mutable { sink_.finish(t, std::move(r)); });
    const std::string id = c.id;
    calls_.erase(id);  // c is gone from here on
}

void worker_hub::save_cursor(worker& w) {
    const std::uint64_t cur = w.pinned.empty() ? w.next : *w.pinned.begin();
    if (cur == w.saved_cursor) return;
    if (auto r = store_.set_cursor(w.consumer, w.topic, cur); !r) {
        spdlog::error("workers: {}: cannot save the cursor: {}", w.name, r.error().message);
        return;
    }
    w.saved_cursor = cur;
}

void worker_hub::set_online(worker& w, bool online, effects& fx) {
    if (w.online == online) return;
    w.online = online;
    spdlog::info("workers: {}: {}", w.name, online ? "online" : "offline");
    regs_->publish(w, fx);
    if (online || w.queue_while_offline) return;
    std::vector<open_call*> mine;
    for (auto& [id, c] : calls_)
        if (c->worker == w.name) mine.push_back(c.get());
    for (auto* c : mine) fail_call(*c, "worker '" + w.name + "' is offline (no instance is connected)", fx);
}

// ---- the worker API ----------------------------------------------------------

std::expected<std::string, std::string> worker_hub::submit(const std::string& worker_name, call_ticket t, json params) {
    const std::string id = random_id();
    std::string topic;
    json record;
    {
        std::lock_guard lock(mu_);
        auto wi = workers_.find(worker_name);
        if (wi == workers_.end()) return std::unexpected("worker '" + worker_name + "' is not registered");
        auto& w = *wi->second;
        if (!w.online && !w.queue_while_offline)
            return std::unexpected("worker '" + worker_name + "' is offline (no instance is connected)");
        if (w.open >= opts_.max_open_calls)
            return std::unexpected("worker '" + worker_name + "' has " + std::to_string(w.open) +
                                   " calls open, its limit; try again later");
        auto c = std::make_unique<open_call>();
        c->id = id;
        c->worker = worker_name;
        c->ticket = std::move(t);
        c->params = std::move(params);
        c->deadline = clock::now() + w.call_timeout;
        c->deadline_ms = wall_ms() + static_cast<std::uint64_t>(w.call_timeout.count());
        record = c->record();
        by_request_[request_key(c->ticket.origin, c->ticket.request_id)] = id;
        // In memory before it is on the topic, so the hub cannot read the
        // record and find no call.
        schedule(c->deadline, {timer::kind::deadline, worker_name, id, 0});
        calls_[id] = std::move(c);
        topic = w.topic;
    }
    auto forget = [&](std::string why) -> std::expected<std::string, std::string> {
        std::lock_guard lock(mu_);
        auto it = calls_.find(id);
        // Finished meanwhile (cancelled, worker gone): its answer was given.
        if (it == calls_.end()) return id;
        {
            by_request_.erase(request_key(it->second->ticket.origin, it->second->ticket.request_id));
            if (auto w = workers_.find(worker_name); w != workers_.end()) {
                if (it->second->offset) w->second->pinned.erase(*it->second->offset);
            }
            calls_.erase(it);
        }
        return std::unexpected("the call could not be queued: " + why);
    };
    // The topic record first, the call's state second: the state is the
    // commit point. A crash between the two leaves a record that names no
    // open call, which the hub skips -- the request was still in flight.
    json queued{{"callId", id}, {"method", record["method"]}, {"params", record["params"]}, {"deadlineMs", record["deadlineMs"]}};
    if (auto r = store_.append(topic, to_json(queued)); !r) return forget(r.error().message);
    {
        // The state as it is now: the hub may have delivered the call (or
        // even finished it, and then there is nothing to record) meanwhile.
        std::lock_guard lock(mu_);
        auto it = calls_.find(id);
        auto w = workers_.find(worker_name);
        if (it != calls_.end() && w != workers_.end()) {
            if (auto r = store_.kv_put(std::string(call_prefix) + id, to_json(it->second->record())); !r)
                spdlog::error("workers: {}: call {} is queued but will not survive a restart: {}", worker_name, id,
                              r.error().message);
            w->second->open++;  // counted once it is queued for good (describe() shows it)
            it->second->counted = true;
        }
    }
    return id;
}

std::optional<std::string> worker_hub::adopt(const call_origin& from, const json& request_id, const call_origin& to,
                                             const json& new_request_id) {
    std::lock_guard lock(mu_);
    auto k = by_request_.find(request_key(from, request_id));
    if (k == by_request_.end()) return std::nullopt;
    const std::string id = k->second;
    auto it = calls_.find(id);
    if (it == calls_.end()) return std::nullopt;
    auto& c = *it->second;
    by_request_.erase(k);
    c.ticket.origin = to;
    c.ticket.request_id = new_request_id;
    by_request_[request_key(to, new_request_id)] = id;
    // Not counted yet: submit() has not written its state; it will write this one.
    if (c.counted)
        if (auto r = store_.kv_put(std::string(call_prefix) + id, to_json(c.record())); !r)
            spdlog::error("workers: {}: call {} now serves {}, but its state could not be saved: {}", c.worker, id,
                          to.key(), r.error().message);
    return c.worker;
}

void worker_hub::cancel(const call_origin& origin, const json& request_id) {
    effects fx;
    {
        std::lock_guard lock(mu_);
        auto k = by_request_.find(request_key(origin, request_id));
        if (k == by_request_.end()) return;
        auto it = calls_.find(k->second);
        if (it == calls_.end()) return;
        auto& c = *it->second;
        send_cancel(c, "the client cancelled the request");
        complete(c, std::nullopt, fx);
    }
    for (auto& f : fx) f();
}

}  // namespace litemcp::server
