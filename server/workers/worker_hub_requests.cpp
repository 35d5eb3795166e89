// The worker hub: what the worker API asks -- register, deregister,
// describe, attach, answer --, the figures the admin API reads, and the MCP
// side: submit, adopt, cancel.
#include "server/workers/worker_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/json/json_text.h"
#include "server/util/ids.h"
#include "server/workers/call_queue.h"
#include "server/workers/hub_peers.h"
#include "server/workers/registrations.h"
#include "server/workers/worker_hub_state.h"
#include "server/workers/worker_messages.h"

namespace litemcp::server {

using namespace worker_hub_detail;

namespace {

// On a shared store, the counters every server saved (read before the hub's
// mutex is taken); nullopt on the embedded store, whose hub counts them all.
std::optional<json> saved_counters(store::store& st, const std::string& name) {
    if (!st.shared()) return std::nullopt;
    auto r = st.kv_get(std::string(status_prefix) + name);
    if (!r || !*r) return std::nullopt;
    return parse_json(**r).value_or(json());
}

// A description with the cluster's counters: the saved ones plus what this
// server counted since it last saved.
json with_counters(json d, const hub_worker& w, const std::optional<json>& saved) {
    if (!saved) return d;
    auto sum = w.status_on(*saved);
    for (const char* k : {"delivered", "redelivered", "answered", "deadLettered"}) d[k] = sum[k];
    return d;
}

}  // namespace

worker_answer worker_hub::register_worker(const json& body, std::optional<std::string> credential, const std::string& owner) {
    effects fx;
    worker_answer out;
    {
        std::lock_guard lock(mu_);
        out = regs_->add(body, credential, owner, fx);
    }
    for (auto& f : fx) f();
    if (out.outcome == worker_outcome::done || out.outcome == worker_outcome::registered)
        peers_->send("w-changed", json{{"w", body.at("name")}});
    return out;
}

worker_answer worker_hub::deregister(const std::string& name, std::optional<std::string> credential) {
    {
        std::lock_guard lock(mu_);
        worker_answer denied;
        if (!regs_->authorized(name, credential, denied)) return denied;
    }
    return drop(name, "worker '" + name + "' was deregistered", std::nullopt);
}

worker_answer worker_hub::remove(const std::string& name, const std::string& why) {
    return drop(name, why, std::nullopt);
}

worker_answer worker_hub::drop(const std::string& name, const std::string& why,
                               std::optional<std::uint64_t> offline_presence) {
    effects fx;
    std::vector<std::shared_ptr<hub_instance>> instances;
    std::unique_ptr<topic_subscription> subscription;
    std::string topic;
    {
        std::lock_guard lock(mu_);
        auto* w = regs_->find(name);
        if (!w) return error(worker_outcome::unknown_worker, "no worker named '" + name + "' is registered");
        if (offline_presence && (w->presence != *offline_presence || w->online || !w->instances.empty()))
            return {worker_outcome::conflict, json{{"error", "worker '" + name + "' came back"}}};
        calls_->fail_all(name, why, fx);
        instances = std::move(w->instances);
        w->online = false;
        regs_->publish(*w, fx);
        topic = w->topic;
        subscription = std::move(w->subscription);
        regs_->remove(name);
    }
    for (auto& f : fx) f();
    subscription.reset();  // out of the ready set before its topic goes
    if (auto r = store_.remove_topic(topic); !r && r.error().code != store::errc::not_found)
        spdlog::error("workers: {}: cannot remove the queue: {}", name, r.error().message);
    for (auto& i : instances) i->channel->close();
    peers_->send("w-changed", json{{"w", name}});
    spdlog::info("workers: {}: removed: {}", name, why);
    return {worker_outcome::done, json{{"name", name}, {"deregistered", true}}};
}

worker_answer worker_hub::describe(const std::string& name, std::optional<std::string> credential) {
    const auto saved = saved_counters(store_, name);
    std::lock_guard lock(mu_);
    worker_answer denied;
    auto* w = regs_->authorized(name, credential, denied);
    if (!w) return denied;
    return {worker_outcome::done, with_counters(regs_->describe(*w, calls_->in_flight(name)), *w, saved)};
}

std::set<std::string> worker_hub::resources_served_elsewhere(const std::string& name,
                                                             const std::vector<std::string>& uris) const {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (auto& uri : uris)
        if (!regs_->resource_holder(name, uri).empty()) out.insert(uri);
    return out;
}

std::optional<worker_answer> worker_hub::check_credential(const std::string& name, std::optional<std::string> credential) {
    std::lock_guard lock(mu_);
    worker_answer denied;
    if (!regs_->authorized(name, credential, denied)) return denied;
    return std::nullopt;
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

void worker_hub::attach(const std::string& name, std::string instance_id, std::shared_ptr<instance_channel> channel) {
    effects fx;
    auto mine = std::make_shared<hub_instance>();
    mine->id = instance_id;
    mine->channel = channel;
    {
        std::lock_guard lock(mu_);
        auto* found = regs_->find(name);
        if (!found) {
            channel->close();
            return;
        }
        auto& w = *found;
        // An instance reconnecting under its id takes over from its old
        // stream, which may not have noticed it is gone (like a GET takeover).
        for (auto& old : w.instances)
            if (old->id == instance_id) old->channel->abort();
        std::erase_if(w.instances, [&](auto& old) { return old->id == instance_id; });
        w.instances.push_back(mine);
        w.presence++;
        set_online(w, true, fx);
    }
    // A worker coming back online is listed again before its instance hears
    // io.litemcp/attached, so a client the worker tells at once finds its tools; and
    // the instance gets no call before that event.
    for (auto& f : fx) f();
    {
        std::lock_guard lock(mu_);
        auto* found = regs_->find(name);
        if (!found) return;  // deregistered meanwhile: its instances were closed
        auto& w = *found;
        if (std::find(w.instances.begin(), w.instances.end(), mine) == w.instances.end()) return;  // replaced
        channel->send({}, worker_messages::attached(name, instance_id));
        mine->attached = true;
        spdlog::info("workers: {}: instance {} attached ({} now)", name, instance_id, w.instances.size());
        beat_soon();
    }
    // Runs on an I/O thread when the stream ends for any reason. Calls the
    // instance held stay delivered until their invisibility timeout.
    channel->on_closed([this, name, instance_id, weak = std::weak_ptr<hub_instance>(mine)] {
        std::lock_guard lock(mu_);
        auto* found = regs_->find(name);
        if (!found) return;
        auto& w = *found;
        auto me = weak.lock();
        if (!me || std::find(w.instances.begin(), w.instances.end(), me) == w.instances.end()) return;  // replaced
        std::erase(w.instances, me);
        spdlog::info("workers: {}: instance {} left ({} now)", name, instance_id, w.instances.size());
        if (w.instances.empty()) schedule(clock::now() + opts_.offline_grace, {hub_timer::kind::offline, name, {}, w.presence});
        beat_soon();
    });
    wake(name);
}

worker_answer worker_hub::answer(const std::string& name, std::optional<std::string> credential,
                                 const std::string& call_id, const std::string& action, const json& body) {
    effects fx;
    worker_answer out;
    bool forward = false;
    {
        std::lock_guard lock(mu_);
        auto* w = regs_->authorized(name, credential, out);
        if (!w) return out;
        // Another server's call (its client asked there): that server applies it.
        if (peers_->shared() && !calls_->owns(call_id) && !calls_->recently_done(call_id)) forward = true;
        else out = calls_->answer(*w, call_id, action, body, fx);
    }
    for (auto& f : fx) f();
    if (forward) return forward_answer(name, call_id, action, body);
    return out;
}

worker_answer worker_hub::answer_as_instance(const std::string& name, const std::string& call_id,
                                             const std::string& action, const json& body) {
    effects fx;
    worker_answer out;
    bool forward = false;
    {
        std::lock_guard lock(mu_);
        auto* w = regs_->find(name);
        if (!w) return error(worker_outcome::unknown_worker, "no worker named '" + name + "' is registered");
        if (peers_->shared() && !calls_->owns(call_id) && !calls_->recently_done(call_id)) forward = true;
        else out = calls_->answer(*w, call_id, action, body, fx);
    }
    for (auto& f : fx) f();
    if (forward) return forward_answer(name, call_id, action, body);
    return out;
}

void worker_hub::ask_client(const std::string& name, const std::string& call_id, std::string method, json params,
                            std::function<void(json answer)> done) {
    auto refuse = [&done](std::string message) {
        done(json{{"error", {{"code", rpc_code::internal_error}, {"message", std::move(message)}}}});
    };
    std::optional<call_ticket> ticket;
    std::string owner;  // the server to ask through: the call's owner
    std::uint64_t deadline_ms = 0;
    {
        std::lock_guard lock(mu_);
        if (auto* c = calls_->find(call_id); c && c->worker == name) ticket = c->ticket;
        else if (auto* held = calls_->held_for(call_id); held && held->worker == name && peers_->knows(held->owner)) {
            owner = held->owner;
            deadline_ms = held->deadline_ms;
        }
    }
    if (ticket) return sink_.ask(*ticket, std::move(method), std::move(params), std::move(done));
    // Posted here by a worker whose call another server owns, or held here
    // for a server that stopped since: the call's record names its owner.
    if (owner.empty() && peers_->shared())
        if (auto record = store_.kv_get(std::string(call_prefix) + call_id); record && *record)
            if (auto doc = parse_json(**record); doc && doc->is_object() && doc->value("worker", "") == name) {
                owner = doc->value("node", "");
                deadline_ms = doc->value("deadlineMs", std::uint64_t{0});
            }
    if (owner.empty() || owner == peers_->node())
        return refuse("the call is not open on any litemcp server; its client cannot be asked");
    // The owner asks and replies when the client answers: at the latest by
    // the call's deadline (the client's answer is of no use after it).
    const auto now_ms = wall_ms();
    const auto left = std::chrono::milliseconds(deadline_ms > now_ms ? deadline_ms - now_ms : 0);
    const auto wait = std::min<std::chrono::milliseconds>(left, std::chrono::hours(1)) + std::chrono::seconds(5);
    json request{{"to", owner}, {"w", name}, {"c", call_id}, {"m", method}, {"p", std::move(params)}};
    // Sent on the hub's thread, once the owner is known to run: this may be
    // the upstreams' thread, which must not wait for the w-node question.
    auto send = [this, request = std::move(request), wait, done](effects&) mutable {
        auto sent = peers_->request("w-ask", std::move(request), wait, [done](std::optional<json> r, effects& fx) {
            fx.push_back([done, r = std::move(r)] {
                if (r && r->is_object() && (r->contains("result") || r->contains("error"))) return done(*r);
                done(json{{"error", {{"code", rpc_code::internal_error},
                                     {"message", "the litemcp server that owns the call did not answer (it stopped, "
                                                 "or the client did not answer before the call's deadline)"}}}});
            });
        });
        if (!sent)
            done(json{{"error", {{"code", rpc_code::internal_error},
                                 {"message", "the request cannot be passed to the litemcp server that owns the call: " +
                                                 sent.error()}}}});
    };
    bool known;
    {
        std::lock_guard lock(mu_);
        known = peers_->knows(owner);
    }
    if (known) return post(std::move(send));
    peers_->probe(owner, std::chrono::milliseconds(500), [this, send = std::move(send), done](bool runs) mutable {
        if (runs) return post(std::move(send));
        done(json{{"error", {{"code", rpc_code::internal_error},
                             {"message", "the litemcp server that owns the call is not running; its client cannot be "
                                         "asked now"}}}});
    });
}

bool worker_hub::reachable(const std::string& node) const {
    {
        std::lock_guard lock(mu_);
        if (peers_->knows(node)) return true;
    }
    // Not heard from: stopped, or this server started too recently to
    // have heard its beat. It is asked (a short wait).
    return peers_->alive(node, std::chrono::milliseconds(500));
}

std::optional<worker_answer> worker_hub::may_register(const std::string& name, const std::optional<std::string>& credential,
                                                      const std::string& owner) {
    std::lock_guard lock(mu_);
    auto* w = regs_->find(name);
    if (!w) {
        if (regs_->all().size() >= opts_.max_workers)
            return error(worker_outcome::full, "the worker limit (" + std::to_string(opts_.max_workers) + ") is reached");
        return std::nullopt;
    }
    if (!owner.empty() && w->owner == owner) return std::nullopt;
    worker_answer denied;
    if (!regs_->authorized(name, credential, denied))
        return error(worker_outcome::conflict, "a worker named '" + name +
                                                   "' is registered; registering it again needs its credential "
                                                   "(Authorization: Bearer <credential>)");
    return std::nullopt;
}

worker_answer worker_hub::reregister(const json& body) {
    effects fx;
    worker_answer out;
    {
        std::lock_guard lock(mu_);
        out = regs_->add(body, std::nullopt, {}, fx, true);
    }
    for (auto& f : fx) f();
    if (out.outcome == worker_outcome::done || out.outcome == worker_outcome::registered)
        peers_->send("w-changed", json{{"w", body.at("name")}});
    return out;
}

std::optional<json> worker_hub::definition(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = regs_->all().find(name);
    if (it == regs_->all().end()) return std::nullopt;
    return it->second->definition;
}

std::vector<std::string> worker_hub::names() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [name, w] : regs_->all()) out.push_back(name);
    return out;
}

void worker_hub::on_registration(std::function<void(const std::string& name)> f) {
    std::lock_guard lock(mu_);
    regs_->on_change(std::move(f));
}

void worker_hub::beat_soon() {
    if (!peers_->shared()) return;
    schedule(clock::now(), {hub_timer::kind::beat, {}, {}, ++beat_generation_});
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
    const auto saved = saved_counters(store_, name);
    std::lock_guard lock(mu_);
    auto* w = regs_->find(name);
    if (!w) return std::nullopt;
    return with_counters(regs_->describe(*w, calls_->in_flight(name)), *w, saved);
}

std::vector<worker_stats> worker_hub::stats(bool cluster_totals) const {
    // The cluster's counters are read before the hub's mutex is taken.
    std::map<std::string, json> saved;
    if (cluster_totals && store_.shared()) {
        std::vector<std::string> names;
        {
            std::lock_guard lock(mu_);
            for (auto& [name, w] : regs_->all()) names.push_back(name);
        }
        for (auto& name : names)
            if (auto counters = saved_counters(store_, name)) saved[name] = std::move(*counters);
    }
    std::lock_guard lock(mu_);
    std::vector<worker_stats> out;
    for (auto& [name, w] : regs_->all()) {
        worker_stats s{name, w->online, w->instances.size(), w->open, 0, w->delivered, w->redelivered, w->answered,
                       w->dead_lettered};
        if (auto it = saved.find(name); it != saved.end()) {  // every server's counts
            const auto sum = w->status_on(it->second);
            s.delivered = sum["delivered"];
            s.redelivered = sum["redelivered"];
            s.answered = sum["answered"];
            s.dead_lettered = sum["deadLettered"];
        } else if (store_.shared()) {  // this server's own counts since it started: summed across the servers
            s.delivered = w->delivered - w->loaded_delivered;
            s.redelivered = w->redelivered - w->loaded_redelivered;
            s.answered = w->answered - w->loaded_answered;
            s.dead_lettered = w->dead_lettered - w->loaded_dead_lettered;
        }
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

std::expected<std::string, std::string> worker_hub::submit(const std::string& worker_name, call_ticket t, json params) {
    std::string topic, registration, id, record;
    {
        std::lock_guard lock(mu_);
        auto* w = regs_->find(worker_name);
        if (!w) return std::unexpected("worker '" + worker_name + "' is not registered");
        auto opened = calls_->open(*w, std::move(t), std::move(params));
        if (!opened) return std::unexpected(opened.error());
        std::tie(id, record) = std::move(*opened);
        topic = w->topic;
        registration = w->id;
    }
    // The topic record first, the call's state second: the state is the
    // commit point. A crash between the two leaves a record that names no
    // open call, which the hub skips -- the request was still in flight.
    auto appended = store_.append(topic, record);
    effects fx;
    {
        std::lock_guard lock(mu_);
        if (!appended) {
            if (!calls_->forget(id)) return id;  // finished meanwhile: its answer was given
            return std::unexpected("the call could not be queued: " + appended.error().message);
        }
        calls_->queued(worker_name, registration, id, appended->offset, fx);
    }
    for (auto& f : fx) f();
    return id;
}

std::optional<std::string> worker_hub::adopt(const call_origin& from, const json& request_id, const call_origin& to,
                                             const json& new_request_id, std::shared_ptr<call> live) {
    std::lock_guard lock(mu_);
    return calls_->adopt(from, request_id, to, new_request_id, std::move(live));
}

void worker_hub::cancel(const call_origin& origin, const json& request_id) {
    effects fx;
    {
        std::lock_guard lock(mu_);
        calls_->cancel(origin, request_id, fx);
        // A round resumed on another server: cancelled there.
        if (auto it = relayed_.find(origin.key() + '\n' + to_json(request_id)); it != relayed_.end()) {
            peers_->send("w-cancel", json{{"to", it->second.first}, {"o", it->second.second}, {"id", request_id}});
            relayed_.erase(it);
        }
    }
    for (auto& f : fx) f();
}

}  // namespace litemcp::server
