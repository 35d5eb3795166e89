// The call queue's delivery: reading a worker's topic, handing calls to
// instances, retries and dead letters, and the worker's answers (see
// call_queue.h).
#include "server/workers/call_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/json/json_text.h"
#include "server/streams/topic_reader.h"
#include "server/workers/registrations.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

using namespace worker_hub_detail;

namespace {
constexpr std::size_t max_asking = 16;   // w-deliver requests waiting for a reply, per worker
constexpr std::uint64_t cursor_batch = 1024;  // records the cursor may lag before it is saved at once

// The call a record of a worker's topic names. open() writes callId first
// (the keys are written in order), so the whole record (the call's
// arguments) is parsed only when it reads otherwise.
std::optional<std::string> call_id_of(std::string_view record) {
    constexpr std::string_view lead = R"({"callId":")";
    if (record.starts_with(lead)) {
        const auto end = record.find('"', lead.size());
        const auto id = record.substr(lead.size(), end == std::string_view::npos ? 0 : end - lead.size());
        if (!id.empty() && id.find('\\') == std::string_view::npos) return std::string(id);
    }
    auto j = parse_json(record).value_or(json());
    if (!j.is_object() || !j.contains("callId") || !j["callId"].is_string()) return std::nullopt;
    return j["callId"].get<std::string>();
}
}

void call_queue::pump(hub_worker& w, effects& fx) {
    // On the embedded store submit hands its calls over itself (queued()):
    // the topic is read at start, and past a call the ready list had no
    // room for. In between the store's wake-ups are left off (the ready
    // mark is not cleared): queued() wakes the hub when it has to read.
    const bool unread = p_.st.shared() || !w.read_to_end;
    if (w.subscription && unread) w.subscription->take_ready();
    const bool read_skipped = unread && w.ready.size() >= max_ready;
    if (w.ready.size() < max_ready && unread) {
        // No topic yet (nothing was ever queued): nothing to read. What a
        // failed read (logged) read is delivered, and the hub reads on in
        // 100 ms (nothing else may wake it: complete() wakes it only for
        // ready calls).
        const auto read = read_topic(p_.st, w.topic, w.next, [&](const store::record& rec) {
            auto id = call_id_of(rec.payload);
            if (!id) return true;
            auto* c = find(*id);
            if (!c || c->offset) return true;  // finished since, or seen
            c->offset = rec.offset;
            w.pinned.insert(rec.offset);
            if (c->state == worker_call::phase::queued) {
                c->state = worker_call::phase::ready;
                w.ready.push_back(c->id);
            }
            return w.ready.size() < max_ready;
        }, "workers: " + w.name);
        if (read == follow_outcome::caught_up) w.read_to_end = true;
        if (read == follow_outcome::failed && !w.reread_pending) {
            w.reread_pending = true;
            p_.schedule(clock::now() + std::chrono::milliseconds(100), {hub_timer::kind::reread, w.name, {}, 0});
        }
    }
    if (clock::now() >= w.suspended_until) {
        while (!w.ready.empty()) {
            auto best = free_instance(w);
            if (!best) break;
            auto id = w.ready.front();
            w.ready.pop_front();
            auto* c = find(id);
            if (!c || c->state != worker_call::phase::ready) continue;
            auto to = best;
            if (auto p = c->prefer.lock(); p && p->attached && p->busy < w.concurrency && p->channel->is_open()) to = p;
            c->prefer.reset();
            deliver(w, *c, to, fx);
        }
        // No free instance here: the instances on other servers. Calls
        // that cannot be handed over keep their places for an instance here.
        std::vector<std::string> kept;
        while (!w.ready.empty() && !w.elsewhere.empty() && w.asking < max_asking) {
            auto* c = find(w.ready.front());
            if (!c || c->state != worker_call::phase::ready) {
                w.ready.pop_front();
                continue;
            }
            if (!c->stays_here && !deliver_elsewhere(w, *c)) break;  // no server has room
            if (c->stays_here) kept.push_back(c->id);
            w.ready.pop_front();
        }
        w.ready.insert(w.ready.begin(), kept.begin(), kept.end());
    }
    // The ready list was full when it was time to read, and has room now:
    // read on (nothing else may wake the hub for what is unread).
    if (read_skipped && w.ready.size() < max_ready) p_.wake(w.name);
    cursor_moved(w);
}

std::shared_ptr<hub_instance> call_queue::free_instance(const hub_worker& w) {
    std::shared_ptr<hub_instance> best;
    for (auto& i : w.instances)
        if (i->attached && i->busy < w.concurrency && i->channel->is_open() && (!best || i->busy < best->busy)) best = i;
    return best;
}

bool call_queue::deliver_elsewhere(hub_worker& w, worker_call& c) {
    const auto now = clock::now();
    std::erase_if(w.elsewhere, [&](const auto& e) { return now - e.second.seen > hub_peers::beat_expiry; });
    std::vector<std::string> nodes;
    for (auto& [node, e] : w.elsewhere)
        if (e.count > 0 && !e.full) nodes.push_back(node);
    if (nodes.empty()) return false;
    const auto node = nodes[w.next_peer++ % nodes.size()];
    c.attempts++;
    c.generation++;
    c.state = worker_call::phase::delivered;
    c.holder.reset();
    c.holder_node = node;
    c.invisible_until = now + w.invisibility;
    save(c, "delivery " + std::to_string(c.attempts));
    auto sent = p_.peers.request(
        "w-deliver", json{{"to", node}, {"w", w.name}, {"c", c.id}, {"e", request_for(c)}}, hub_peers::deliver_wait,
        [this, id = c.id, gen = c.generation, node, name = w.name](std::optional<json> reply, effects& fx) {
            auto* wk = p_.workers.find(name);
            if (wk && wk->asking > 0) wk->asking--;
            delivered_elsewhere(id, gen, node, reply, fx);
            if (wk && !wk->ready.empty()) p_.wake(name);  // room for another request
        });
    if (!sent) {  // too large to pass between servers: it waits for an instance here
        spdlog::warn("workers: {}: call {} cannot be handed to another server ({}); it waits for an instance of "
                     "this server's", w.name, c.id, sent.error());
        c.attempts--;
        c.holder_node.clear();
        c.state = worker_call::phase::ready;
        c.stays_here = true;
        save(c, "that delivery " + std::to_string(c.attempts + 1) + " did not happen");
        return true;  // (not delivered: pump keeps it in the ready list)
    }
    w.asking++;
    p_.schedule(c.invisible_until, {hub_timer::kind::invisibility, w.name, c.id, c.generation});
    return true;
}

void call_queue::delivered_elsewhere(const std::string& call_id, std::uint64_t generation, const std::string& node,
                                     const std::optional<json>& reply, effects& fx) {
    auto* c = find(call_id);
    auto* w = c ? p_.workers.find(c->worker) : nullptr;
    if (!w) return;
    const bool current = c->generation == generation && c->state == worker_call::phase::delivered;
    // That server may hold the call in a slot this delivery no longer
    // stands for (the reply was lost, or came after the call moved on):
    // it frees it -- unless the call is delivered there again since.
    auto release_there = [&] {
        if (!(c->state == worker_call::phase::delivered && c->holder_node == node && !current))
            p_.peers.send("w-release", json{{"to", node}, {"w", w->name}, {"c", c->id}});
    };
    if (reply && *reply == "ok") {
        if (!current) {  // answered (or timed out) before the reply came
            release_there();
            return;
        }
        w->delivered++;
        if (c->attempts > 1) w->redelivered++;
        counted(*w);
        spdlog::debug("workers: {}: call {} delivered through server {} (attempt {})", w->name, c->id, node, c->attempts);
        return;
    }
    // Not delivered: not an attempt. "busy": that server's instances are
    // full; no reply or "gone": it has none (any more), or it stopped.
    if (reply && *reply == "busy") {
        if (auto e = w->elsewhere.find(node); e != w->elsewhere.end()) e->second.full = true;
    } else {
        if (!reply) release_there();
        w->elsewhere.erase(node);
        spdlog::info("workers: {}: server {} did not take call {} ({}); delivering elsewhere", w->name, node, c->id,
                     reply ? reply->dump() : std::string("no reply"));
    }
    if (!current) return;
    c->attempts--;
    c->generation++;
    c->holder_node.clear();
    c->state = worker_call::phase::ready;
    w->ready.push_front(c->id);
    save(*c, "that delivery " + std::to_string(c->attempts + 1) + " did not happen");
    p_.wake(w->name);
    (void)fx;
}

void call_queue::slot_freed(hub_worker& w, hub_instance& i) {
    // Only a full instance turns callers away: only then is it worth saying.
    if (p_.peers.shared() && i.busy + 1 == w.concurrency) p_.peers.send("w-free", json{{"w", w.name}, {"n", p_.peers.node()}});
}

void call_queue::deliver_for_peer(hub_worker& w, const json& request) {
    const auto call_id = request.value("c", "");
    if (call_id.empty() || !request.contains("e") || !request.at("e").is_object()) return;  // not a call: no reply
    const json& event = request.at("e");
    if (!worker_messages::read_call(event)) {
        // Not the request an instance takes (a server of an older release
        // sent its own event format): the owner delivers it elsewhere.
        p_.peers.reply(request, "gone");
        return;
    }
    if (auto held = held_.find(call_id); held != held_.end()) {
        // Delivered here before, by a server that stopped since (the call's
        // new owner delivers it again): to the same instance, in its slot.
        auto i = held->second.instance.lock();
        if (i && i->channel->is_open() && i->channel->send({}, event)) {
            held->second.owner = request.value("n", "");
            p_.peers.reply(request, "ok");
            return;
        }
        if (i && i->busy > 0) i->busy--;
        held_.erase(held);
    }
    std::shared_ptr<hub_instance> best;
    for (auto& i : w.instances)
        if (i->attached && i->busy < w.concurrency && i->channel->is_open() && (!best || i->busy < best->busy)) best = i;
    if (!best) {
        p_.peers.reply(request, w.instances.empty() ? "gone" : "busy");
        return;
    }
    if (!best->channel->send({}, event)) {
        std::erase(w.instances, best);
        p_.peers.reply(request, "gone");
        return;
    }
    best->busy++;
    const auto gen = ++held_generation_;
    // The owner says w-release when it is done; should that be lost (the
    // owner stopped), the slot is free at the call's deadline.
    const auto deadline_ms = worker_messages::deadline_of(event);
    held_[call_id] = held_for_peer{w.name, best, gen, request.value("n", ""), deadline_ms};
    const auto now_ms = wall_ms();
    const auto left = std::chrono::milliseconds(deadline_ms > now_ms ? deadline_ms - now_ms : 0);
    p_.schedule(clock::now() + std::min<std::chrono::milliseconds>(left, w.call_timeout),
                {hub_timer::kind::peer_slot, w.name, call_id, gen});
    p_.peers.reply(request, "ok");
}

void call_queue::release_for_peer(const std::string& call_id, const std::string& cancel_reason) {
    auto held = held_.find(call_id);
    if (held == held_.end()) return;
    auto* w = p_.workers.find(held->second.worker);
    if (auto i = held->second.instance.lock()) {
        if (!cancel_reason.empty())
            i->channel->send({}, worker_messages::cancelled(call_id, cancel_reason));
        if (i->busy > 0) i->busy--;
        if (w) {
            slot_freed(*w, *i);
            p_.wake(w->name);
        }
    }
    held_.erase(held);
}

void call_queue::peer_slot_expired(const hub_timer& t) {
    auto held = held_.find(t.call);
    if (held == held_.end() || held->second.generation != t.generation) return;
    release_for_peer(t.call, {});
}

json call_queue::request_for(const worker_call& c) {
    return worker_messages::call_request(c.id, c.ticket.method, c.params, c.attempts, c.deadline_ms);
}

void call_queue::deliver(hub_worker& w, worker_call& c, const std::shared_ptr<hub_instance>& to, effects& fx) {
    c.attempts++;
    c.generation++;
    c.state = worker_call::phase::delivered;
    c.holder = to;
    c.invisible_until = clock::now() + w.invisibility;
    to->busy++;
    // The attempt count is durable before the worker sees the call, so a
    // restart cannot grant a call more deliveries than maxAttempts.
    save(c, "delivery " + std::to_string(c.attempts));
    if (!to->channel->send(std::to_string(c.offset.value_or(0)), request_for(c))) {
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
    counted(w);
    p_.schedule(c.invisible_until, {hub_timer::kind::invisibility, w.name, c.id, c.generation});
    spdlog::debug("workers: {}: call {} delivered to {} (attempt {})", w.name, c.id, to->id, c.attempts);
}

void call_queue::send_cancel(worker_call& c, const std::string& reason) {
    if (c.state != worker_call::phase::delivered) return;
    if (!c.holder_node.empty()) {  // the server holding it tells its instance, and frees the slot
        p_.peers.send("w-release", json{{"to", c.holder_node}, {"w", c.worker}, {"c", c.id}, {"cancel", reason}});
        c.holder_node.clear();
        return;
    }
    if (auto i = c.holder.lock()) i->channel->send({}, worker_messages::cancelled(c.id, reason));
}

void call_queue::release_slot(worker_call& c) {
    if (c.state != worker_call::phase::delivered) return;
    if (!c.holder_node.empty()) {
        p_.peers.send("w-release", json{{"to", c.holder_node}, {"w", c.worker}, {"c", c.id}});
        c.holder_node.clear();
        return;
    }
    if (auto i = c.holder.lock(); i && i->busy > 0) {
        i->busy--;
        if (auto* w = p_.workers.find(c.worker)) slot_freed(*w, *i);
    }
    c.holder.reset();
}

void call_queue::retry_or_dead_letter(worker_call& c, const std::string& why,
                                      std::optional<std::chrono::milliseconds> after_ms, effects& fx) {
    auto* w = p_.workers.find(c.worker);
    if (!w) return fail(c, "worker '" + c.worker + "' is gone", fx);
    release_slot(c);
    c.last_error = why;
    c.generation++;
    if (c.attempts >= w->max_attempts) {
        json letter{{"callId", c.id},
                    {"worker", w->name},
                    {"method", c.ticket.method},
                    {"params", c.params},
                    {"attempts", c.attempts},
                    {"error", why},
                    {"failedAtMs", wall_ms()}};
        c.ticket.origin.write_to(letter);
        p_.st.append_async(w->dlq, to_json(letter), 0, [name = w->name, id = c.id](store::result<store::append_ack> r) {
            if (!r) spdlog::error("workers: {}: cannot dead-letter call {}: {}", name, id, r.error().message);
        });
        w->dead_lettered++;
        counted(*w);
        spdlog::warn("workers: {}: call {} dead-lettered after {} attempts: {}", w->name, c.id, c.attempts, why);
        return fail(c,
                    "worker '" + w->name + "' failed this call " + std::to_string(c.attempts) +
                        " times; the last error: " + why,
                    fx);
    }
    auto delay = after_ms.value_or(p_.options.retry_backoff * (1u << std::min(c.attempts - 1, 10u)));
    delay = std::min<std::chrono::milliseconds>(delay, std::chrono::minutes(10));
    c.state = worker_call::phase::waiting;
    p_.schedule(clock::now() + delay, {hub_timer::kind::retry, w->name, c.id, c.generation});
    p_.wake(w->name);  // a slot is free
}

void call_queue::counted(hub_worker& w) {
    if (w.status_pending) return;
    w.status_pending = true;
    p_.schedule(clock::now() + status_flush, {hub_timer::kind::status, w.name, {}, 0});
}

std::uint64_t call_queue::cursor_of(const hub_worker& w) {
    // Never past an unread record, nor past an open call's.
    return w.pinned.empty() ? w.next : std::min(w.next, *w.pinned.begin());
}

void call_queue::cursor_moved(hub_worker& w) {
    const std::uint64_t cur = cursor_of(w);
    if (cur == w.saved_cursor) return;
    if (cur > w.saved_cursor + cursor_batch) return save_cursor(w);
    if (w.cursor_pending) return;
    w.cursor_pending = true;
    p_.schedule(clock::now() + status_flush, {hub_timer::kind::cursor, w.name, {}, 0});
}

void call_queue::save_cursor(hub_worker& w) {
    w.cursor_pending = false;
    const std::uint64_t cur = cursor_of(w);
    if (cur == w.saved_cursor) return;
    if (auto r = p_.st.set_cursor(w.consumer, w.topic, cur); !r) {
        spdlog::error("workers: {}: cannot save the cursor: {}", w.name, r.error().message);
        return;
    }
    w.saved_cursor = cur;
}

void call_queue::suspend(hub_worker& w, std::chrono::milliseconds ms) {
    w.suspended_until = clock::now() + ms;
    if (w.subscription) w.subscription->suspend(w.topic, ms);
    p_.schedule(w.suspended_until, {hub_timer::kind::resume, w.name, {}, 0});
}

// ---- the worker's answers ------------------------------------------------------

worker_answer call_queue::answer(hub_worker& w, const std::string& call_id, const std::string& action,
                                 const json& body, effects& fx) {
    auto* found = find(call_id);
    if (!found || found->worker != w.name) {
        if (recently_done_.contains(call_id))
            return {worker_outcome::done, json{{"callId", call_id}, {"status", "already finished"}}};
        return error(worker_outcome::unknown_call, "call '" + call_id + "' is not open on worker '" + w.name +
                                                       "' (it never existed, or it was answered, failed or cancelled)");
    }
    auto& c = *found;
    const auto now = clock::now();
    const bool delivered = c.state == worker_call::phase::delivered;
    auto done = [&](std::string status) { return worker_answer{worker_outcome::done, json{{"callId", call_id}, {"status", std::move(status)}}}; };
    if (action == "result") {
        const auto& result = body.at("result");
        if (c.ticket.method == "tools/call" && !(result.contains("content") && result["content"].is_array()))
            return error(worker_outcome::invalid,
                         "result.content: a tools/call result is an MCP CallToolResult, with a content array");
        w.answered++;
        counted(w);
        complete(c, make_result(c.ticket.request_id, result), fx);
        return done("answered");
    }
    if (action == "error") {
        // A JSON-RPC error for the client (an upstream's answer): final, as a result is.
        const auto& e = body.at("error");
        if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() || !e.contains("message") ||
            !e["message"].is_string())
            return error(worker_outcome::invalid, "error: a JSON-RPC error object, with an integer code and a message");
        w.answered++;
        counted(w);
        complete(c, make_error(c.ticket.request_id, e["code"].get<int>(), e["message"].get<std::string>(),
                               e.contains("data") ? std::optional<json>(e["data"]) : std::nullopt),
                 fx);
        return done("answered");
    }
    if (action == "progress") {
        if (delivered) c.invisible_until = std::max(c.invisible_until, now + w.invisibility);
        if (!c.ticket.progress_token) return done("dropped: the client asked for no progress");
        json p{{"progressToken", *c.ticket.progress_token}, {"progress", body.at("progress")}};
        if (body.contains("total")) p["total"] = body["total"];
        if (body.contains("message")) p["message"] = body["message"];
        fx.push_back([&sink = p_.sink, t = c.ticket, n = make_notification("notifications/progress", std::move(p))] {
            sink.notify(t, n, std::nullopt);
        });
        return done("sent");
    }
    if (action == "log") {
        auto level = parse_log_level(body.at("level").get<std::string>());
        json p{{"level", body["level"]}, {"data", body.at("data")}};
        if (body.contains("logger")) p["logger"] = body["logger"];
        fx.push_back([&sink = p_.sink, t = c.ticket, n = make_notification("notifications/message", std::move(p)), level] {
            sink.notify(t, n, level);
        });
        return done("sent");
    }
    if (action != "failure" && action != "extend" && action != "suspend")
        return error(worker_outcome::invalid, "unknown action '" + action + "'");
    if (!delivered)
        return error(worker_outcome::conflict,
                     "call '" + call_id + "' is not delivered right now (it is queued or waiting to be retried)");
    if (action == "failure") {
        std::optional<std::chrono::milliseconds> after;
        if (body.contains("retryAfterMs")) after = std::chrono::milliseconds(body["retryAfterMs"].get<long long>());
        const auto attempts = c.attempts;
        const bool last = attempts >= w.max_attempts;
        retry_or_dead_letter(c, body.at("error").get<std::string>(), after, fx);
        auto out = done(last ? "dead-lettered" : "will be retried");
        out.body["attempts"] = attempts;
        return out;
    }
    const auto ms = std::chrono::milliseconds(body.at("ms").get<long long>());
    if (action == "extend") {
        c.invisible_until = now + ms;
        auto out = done("extended");
        out.body["invisibleForMs"] = ms.count();
        return out;
    }
    // suspend: not a failed attempt; the call goes back to the head of the
    // queue and the whole worker pauses.
    release_slot(c);
    c.attempts--;
    c.generation++;
    c.state = worker_call::phase::ready;
    w.ready.push_front(c.id);
    suspend(w, ms);
    // The whole worker pauses: its instances elsewhere too.
    p_.peers.send("w-suspend", json{{"w", w.name}, {"ms", ms.count()}});
    auto out = done("suspended");
    out.body["resumeInMs"] = ms.count();
    return out;
}

}  // namespace litemcp::server
