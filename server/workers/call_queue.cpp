// The call queue's bookkeeping: loading, opening, adopting, cancelling and
// finishing calls, and their timers (see call_queue.h; reading the topic,
// delivery and answers in call_queue_delivery.cpp).
#include "server/workers/call_queue.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/util/ids.h"
#include "server/workers/registrations.h"

namespace litemcp::server {

using namespace worker_hub_detail;

namespace {
constexpr std::size_t load_page = 500;
// What a failed save of a queued call's state means (the log says "cannot record ...").
constexpr std::string_view queued_state = "it: it is queued but will not survive a restart";
}

std::expected<std::unique_ptr<worker_call>, std::string> call_queue::read_call(const json& r) {
    auto c = std::make_unique<worker_call>();
    try {
        c->id = r.at("id").get<std::string>();
        c->worker = r.at("worker").get<std::string>();
        c->ticket.origin = call_origin::read_from(r);
        c->ticket.request_id = r.at("requestId");
        c->ticket.method = r.at("method").get<std::string>();
        if (r.contains("progressToken")) c->ticket.progress_token = r["progressToken"];
        c->params = r.at("params");
        c->deadline_ms = r.at("deadlineMs").get<std::uint64_t>();
        c->attempts = r.value("attempts", 0u);
    } catch (const std::exception& e) {
        return std::unexpected(e.what());
    }
    return c;
}

store::result<void> call_queue::each_record(const std::function<void(const std::string& key, const std::string& record)>& fn) const {
    std::string after;
    for (;;) {
        auto page = p_.st.kv_scan(call_prefix, after, load_page);
        if (!page) return std::unexpected(page.error());
        for (auto& [key, value] : *page) {
            after = key;
            fn(key, value);
        }
        if (page->size() < load_page) return {};
    }
}

store::result<void> call_queue::load(std::vector<std::string>& restored,
                                     const std::function<bool(const std::string& node)>& orphaned) {
    const bool shared = p_.peers.shared();
    std::map<std::string, bool> orphans;  // node -> nobody answers for it
    return each_record([&](const std::string& key, const std::string& value) {
        if (shared) {
            // Another running server's call is its own (its worker may be
            // newer than what this server loaded); a dead one's is taken.
            auto [known, fresh] = orphans.try_emplace(owner_of(value), false);
            if (fresh) known->second = orphaned(known->first);
            if (!known->second) return;
            if (auto id = take(key, value)) restored.push_back(*id);
            return;
        }
        auto c = read_call(parse_json(value).value_or(json()));
        if (!c) spdlog::error("workers: dropping the unreadable call record {}: {}", key, c.error());
        auto* w = c ? p_.workers.find((*c)->worker) : nullptr;
        if (!w) {  // unreadable, or its worker is gone
            (void)p_.st.kv_delete(key);
            return;
        }
        restored.push_back(file(std::move(*c), *w));
    });
}

std::string call_queue::owner_of(const std::string& record) {
    auto doc = parse_json(record).value_or(json());
    return doc.is_object() && doc["node"].is_string() ? doc["node"].get<std::string>() : std::string();
}

store::result<std::vector<std::pair<std::string, std::string>>> call_queue::records_of(
    const std::set<std::string>& nodes) const {
    std::vector<std::pair<std::string, std::string>> out;
    auto read = each_record([&](const std::string& key, const std::string& value) {
        if (nodes.contains(owner_of(value))) out.emplace_back(key, value);
    });
    if (!read) return std::unexpected(read.error());
    return out;
}

std::optional<std::string> call_queue::take(const std::string& key, const std::string& text) {
    auto c = read_call(parse_json(text).value_or(json()));
    if (!c) spdlog::error("workers: dropping the unreadable call record {}: {}", key, c.error());
    auto* w = c ? p_.workers.find((*c)->worker) : nullptr;
    if (!w) {  // unreadable, or its worker is gone
        (void)p_.st.kv_delete(key);
        return std::nullopt;
    }
    // One server takes it: the first to swap the record it read.
    auto taken = p_.st.kv_swap(key, text, (*c)->record_text(p_.peers.node()));
    if (!taken || !*taken) return std::nullopt;
    (*c)->state = worker_call::phase::ready;  // the shared cursor may be past its topic record
    spdlog::info("workers: {}: call {} of a server that stopped is now this server's", (*c)->worker, (*c)->id);
    const auto id = file(std::move(*c), *w);
    // An instance here may hold it in a slot for the server that stopped
    // (w-deliver): only another server's w-deliver would reuse that slot,
    // so the call could wait for it until its deadline. The slot is freed,
    // and the call goes to that instance again when it has room (it works
    // on the call: an upstream's then does not run it twice). Delivered by
    // pump(), after the hub has restored the call's client.
    if (auto held = held_.find(id); held != held_.end()) {
        auto i = held->second.instance.lock();
        held_.erase(held);
        if (i && i->busy > 0) i->busy--;
        find(id)->prefer = i;
    }
    w->ready.push_back(id);
    return id;
}

std::string call_queue::file(std::unique_ptr<worker_call> c, hub_worker& w) {
    const auto now_ms = wall_ms();
    auto& call = *c;
    call.deadline = clock::now() + std::chrono::milliseconds(call.deadline_ms > now_ms ? call.deadline_ms - now_ms : 0);
    p_.schedule(call.deadline, {hub_timer::kind::deadline, call.worker, call.id, 0});
    w.open++;
    call.counted = true;
    by_request_[request_key(call.ticket.origin, call.ticket.request_id)] = call.id;
    std::string id = call.id;
    calls_[id] = std::move(c);
    return id;
}

worker_call* call_queue::find(const std::string& id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
}

void call_queue::save(const worker_call& c, std::string_view when) {
    if (auto r = p_.st.kv_put(std::string(call_prefix) + c.id, c.record_text(p_.peers.node())); !r)
        spdlog::error("workers: {}: call {}: cannot record {}: {}", c.worker, c.id, when, r.error().message);
}

// ---- opening a call ----------------------------------------------------------

std::expected<std::pair<std::string, std::string>, std::string> call_queue::open(hub_worker& w, call_ticket t, json params) {
    if (!w.online && !w.queue_while_offline)
        return std::unexpected("worker '" + w.name + "' is offline (no instance is connected)");
    if (w.open >= p_.options.max_open_calls)
        return std::unexpected("worker '" + w.name + "' has " + std::to_string(w.open) +
                               " calls open, its limit; try again later");
    auto c = std::make_unique<worker_call>();
    c->id = random_id();
    c->worker = w.name;
    c->ticket = std::move(t);
    c->params = std::move(params);
    c->deadline = clock::now() + w.call_timeout;
    c->deadline_ms = wall_ms() + static_cast<std::uint64_t>(w.call_timeout.count());
    // The topic record, written member by member (no copy of the
    // parameters); callId first (call_id_of reads it so).
    std::string queued;
    json_members(queued).string("callId", c->id).number("deadlineMs", c->deadline_ms).string("method", c->ticket.method)
        .value("params", c->params).end();
    by_request_[request_key(c->ticket.origin, c->ticket.request_id)] = c->id;
    // In memory before it is on the topic, so the hub cannot read the
    // record and find no call.
    p_.schedule(c->deadline, {hub_timer::kind::deadline, w.name, c->id, 0});
    std::string id = c->id;
    calls_[id] = std::move(c);
    return std::pair{std::move(id), std::move(queued)};
}

void call_queue::queued(const std::string& worker, const std::string& registration, const std::string& id,
                        std::uint64_t offset, effects& fx) {
    auto* w = p_.workers.find(worker);
    if (!w) return;
    auto* c = find(id);
    if (c) {
        w->open++;  // counted once it is queued for good (describe() shows it)
        c->counted = true;
    }
    // The hub reads the topic and takes the call in order: always on a
    // shared store (other servers append too, at offsets with gaps), and on
    // the embedded one at start or past a call the ready list had no room
    // for -- or when the worker was removed and registered anew meanwhile
    // (its calls were failed then, and the offset is of a topic that no
    // longer is: never one to wait for). Its state now: it is what survives
    // a restart.
    if (p_.st.shared() || !w->read_to_end || w->id != registration) {
        if (c) save(*c, queued_state);
        if (c && c->state == worker_call::phase::queued && !c->offset) p_.wake(w->name);
        return;
    }
    // The embedded store, read to its end: every record of the topic is
    // submit's, at dense offsets. Concurrent submits get here in any order;
    // a call waits in `arrived` until those before it came, and all are
    // taken in the topic's order, so the cursor never passes a record that
    // was not taken, and the hub reads nothing.
    w->arrived.emplace(offset, id);
    take_arrived(*w, fx);
    // Still waiting for a call before it: its state now, as submit returns
    // (the commit point); it is taken within moments, when that call comes.
    if (auto it = w->arrived.find(offset); it != w->arrived.end() && it->second == id)
        if (auto* parked = find(id)) save(*parked, queued_state);
}

void call_queue::take_arrived(hub_worker& w, effects& fx) {
    while (!w.arrived.empty() && w.arrived.begin()->first <= w.next) {
        const auto [offset, id] = *w.arrived.begin();
        w.arrived.erase(w.arrived.begin());
        auto* c = find(id);
        if (offset < w.next || (c && c->offset)) {  // the hub read it first: its state as it stands
            if (c) save(*c, queued_state);
            continue;
        }
        if (!c) {  // finished before it was queued: skipped, as a read would
            ++w.next;
            continue;
        }
        if (w.ready.size() >= max_ready) {
            // No room: the hub reads this record and those after it, in
            // order, when there is. Their states now, as the hub's read
            // would leave them: they survive a restart.
            w.read_to_end = false;
            save(*c, queued_state);
            for (auto& [later, later_id] : w.arrived)
                if (auto* l = find(later_id); l && l->state == worker_call::phase::queued)
                    save(*l, queued_state);
            w.arrived.clear();
            p_.wake(w.name);
            break;
        }
        // Ready now, and delivered at once when nothing waits ahead of it,
        // deliveries are not suspended and an instance here has room -- one
        // state write, the delivery's, made before the instance sees the
        // call, as always.
        c->offset = offset;
        w.pinned.insert(offset);
        w.next = offset + 1;
        c->state = worker_call::phase::ready;
        if (w.ready.empty() && clock::now() >= w.suspended_until) {
            if (auto to = free_instance(w)) {
                deliver(w, *c, to, fx);
                continue;
            }
        }
        w.ready.push_back(c->id);
        save(*c, queued_state);
        p_.wake(w.name);  // elsewhere, or when a slot frees
    }
    cursor_moved(w);
}

bool call_queue::forget(const std::string& id) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return false;  // finished meanwhile (cancelled, worker gone): its answer was given
    auto& c = *it->second;
    by_request_.erase(request_key(c.ticket.origin, c.ticket.request_id));
    if (auto* w = p_.workers.find(c.worker); w && c.offset) w->pinned.erase(*c.offset);
    calls_.erase(it);
    return true;
}

std::optional<std::string> call_queue::adopt(const call_origin& from, const json& request_id, const call_origin& to,
                                             const json& new_request_id, std::shared_ptr<call> live) {
    auto k = by_request_.find(request_key(from, request_id));
    if (k == by_request_.end()) return std::nullopt;
    auto* c = find(k->second);
    if (!c) return std::nullopt;
    by_request_.erase(k);
    c->ticket.origin = to;
    c->ticket.request_id = new_request_id;
    if (live) c->ticket.live = std::move(live);
    by_request_[request_key(to, new_request_id)] = c->id;
    // Not counted yet: queued() has not written its state; it will write this one.
    const bool moved = from.key() != to.key() || request_id != new_request_id;
    if (c->counted && moved) save(*c, "that it now serves " + to.key());
    return c->worker;
}

void call_queue::cancel(const call_origin& origin, const json& request_id, effects& fx) {
    auto k = by_request_.find(request_key(origin, request_id));
    if (k == by_request_.end()) return;
    auto* c = find(k->second);
    if (!c) return;
    send_cancel(*c, "the client cancelled the request");
    complete(*c, std::nullopt, fx);
}

// ---- finishing a call --------------------------------------------------------

void call_queue::fail(worker_call& c, const std::string& message, effects& fx) {
    json response = c.ticket.method == "tools/call"
                        ? make_result(c.ticket.request_id,
                                      json{{"content", json::array({{{"type", "text"}, {"text", message}}})},
                                           {"isError", true}})
                        : make_error(c.ticket.request_id, rpc_code::internal_error, message);
    complete(c, std::move(response), fx);
}

void call_queue::fail_all(const std::string& worker, const std::string& message, effects& fx) {
    std::vector<worker_call*> mine;
    for (auto& [id, c] : calls_)
        if (c->worker == worker) mine.push_back(c.get());
    for (auto* c : mine) fail(*c, message, fx);
}

void call_queue::complete(worker_call& c, std::optional<json> response, effects& fx) {
    release_slot(c);
    if (auto* w = p_.workers.find(c.worker)) {
        if (c.offset) w->pinned.erase(*c.offset);
        if (c.counted && w->open > 0) w->open--;
        cursor_moved(*w);
        // A slot is free: the hub delivers what waits for one. With nothing
        // ready, everything read was delivered, and an append wakes the hub
        // itself.
        if (!w->ready.empty()) p_.wake(w->name);
    }
    by_request_.erase(request_key(c.ticket.origin, c.ticket.request_id));
    if (auto r = p_.st.kv_delete(std::string(call_prefix) + c.id); !r)
        spdlog::error("workers: cannot delete the record of call {}: {}", c.id, r.error().message);
    if (recently_done_.insert(c.id).second) done_order_.push_back(c.id);
    if (done_order_.size() > recently_done_max) {
        recently_done_.erase(done_order_.front());
        done_order_.pop_front();
    }
    fx.push_back([&sink = p_.sink, t = std::move(c.ticket), r = std::move(response)]() mutable {
        sink.finish(t, std::move(r));
    });
    const std::string id = c.id;
    calls_.erase(id);  // c is gone from here on
}

// ---- timers ------------------------------------------------------------------

void call_queue::on_timer(const hub_timer& t, effects& fx) {
    auto* c = find(t.call);
    if (!c) return;
    switch (t.what) {
        case hub_timer::kind::invisibility:
            if (c->state != worker_call::phase::delivered || c->generation != t.generation) return;
            if (clock::now() < c->invisible_until) {  // extended since
                p_.schedule(c->invisible_until, t);
                return;
            }
            retry_or_dead_letter(*c, "no answer within the invisibility timeout", std::nullopt, fx);
            return;
        case hub_timer::kind::retry:
            if (c->state != worker_call::phase::waiting || c->generation != t.generation) return;
            c->state = worker_call::phase::ready;
            if (auto* w = p_.workers.find(c->worker)) {
                w->ready.push_back(c->id);
                pump(*w, fx);
            }
            return;
        case hub_timer::kind::deadline: {
            auto* w = p_.workers.find(c->worker);
            const auto limit = w ? w->call_timeout.count() : 0;
            send_cancel(*c, "the call timed out");
            fail(*c, "timed out: worker '" + c->worker + "' did not answer within " + std::to_string(limit) + " ms", fx);
            return;
        }
        default:
            return;
    }
}

std::size_t call_queue::in_flight(const std::string& worker) const {
    std::size_t delivered = 0;
    for (auto& [id, c] : calls_)
        if (c->worker == worker && c->state == worker_call::phase::delivered) ++delivered;
    return delivered;
}

}  // namespace litemcp::server
