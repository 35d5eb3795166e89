// The worker hub: its parts, start and stop, its thread and its timers,
// and a worker going online or offline (see worker_hub.h; what the worker
// API and the MCP side ask in worker_hub_requests.cpp).
#include "server/workers/worker_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include <pthread.h>

#include "server/workers/call_queue.h"
#include "server/workers/hub_peers.h"
#include "server/workers/registrations.h"
#include "server/workers/worker_hub_state.h"
#include "server/util/counted.h"

namespace litemcp::server {

worker_hub::worker_hub(store::store& st, registry& reg, call_sink& sink, worker_options o)
    : store_(st), sink_(sink), opts_(o),
      peers_(std::make_shared<hub_peers>(hub_peers::parts{
          st, [this](clock::time_point at, std::uint64_t q) { schedule(at, {hub_timer::kind::reply, {}, {}, q}); }})),
      regs_(std::make_unique<registrations>(registrations::parts{
          st, reg, opts_, mu_, peers_->node(), [this](const std::string& name) { wake(name); },
          [this](const std::string& name, std::uint64_t presence) {
              schedule(clock::now() + opts_.offline_grace, {hub_timer::kind::offline, name, {}, presence});
          }})),
      calls_(std::make_unique<call_queue>(call_queue::parts{
          st, sink, opts_, *regs_, *peers_, [this](const std::string& name) { wake(name); },
          [this](clock::time_point at, hub_timer t) { schedule(at, std::move(t)); }})) {}

worker_hub::~worker_hub() { stop(); }

// ---- start and stop ----------------------------------------------------------

store::result<void> worker_hub::start() {
    std::vector<std::string> restored;  // call ids
    effects fx;
    {
        std::lock_guard lock(mu_);
        if (auto r = regs_->load(); !r) return r;
        // On a shared store: the calls of servers that stopped (kill -9)
        // and no other took yet.
        auto orphaned = [this](const std::string& node) { return !peers_->alive(node, std::chrono::milliseconds(500)); };
        if (auto r = calls_->load(restored, orphaned); !r) return r;
        const auto now = clock::now();
        for (auto& [name, w] : regs_->all()) {
            auto sub = topic_subscription::open(store_, w->consumer, [this, n = name] { wake(n); });
            if (sub) {
                w->subscription = std::move(*sub);
                (void)w->subscription->bind(w->topic);
            } else {
                spdlog::error("workers: {}: its queue wakes nobody: {}", name, sub.error().message);
            }
            schedule(now + opts_.offline_grace, {hub_timer::kind::offline, name, {}, w->presence});
            regs_->publish(*w, fx);
        }
        spdlog::info("workers: {} registered, {} open", counted(regs_->all().size(), "worker"),
                     counted(calls_->size(), "call"));
    }
    for (auto& f : fx) f();
    restore(restored);
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "worker-hub");
        run();
    });
    std::vector<std::string> names;
    {
        std::lock_guard lock(mu_);
        for (auto& [name, w] : regs_->all()) names.push_back(name);
    }
    for (auto& name : names) wake(name);
    if (peers_->shared()) schedule(clock::now(), {hub_timer::kind::beat, {}, {}, beat_generation_});
    return {};
}

void worker_hub::restore(const std::vector<std::string>& ids) {
    // Each restored call gets the object its answer goes through (made
    // outside the lock: the sink looks up sessions and tasks).
    for (auto& id : ids) {
        call_ticket t;
        {
            std::lock_guard lock(mu_);
            if (auto* c = calls_->find(id)) t = c->ticket;
        }
        auto live = sink_.restored(t);
        std::lock_guard lock(mu_);
        if (auto* c = calls_->find(id)) c->ticket.live = std::move(live);
    }
}

void worker_hub::stop() {
    {
        std::lock_guard lock(wake_mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    for (auto& [name, w] : regs_->all()) {
        w->subscription.reset();
        calls_->save_cursor(*w);
        if (w->status_pending || w->save_in_flight || w->has_unsaved()) regs_->save_status(*w);
    }
}

// ---- the hub's thread ------------------------------------------------------------

void worker_hub::wake(const std::string& worker_name) {
    {
        std::lock_guard lock(wake_mu_);
        dirty_.insert(worker_name);
    }
    wake_cv_.notify_one();
}

void worker_hub::schedule(clock::time_point at, hub_timer t) {
    std::lock_guard lock(wake_mu_);
    const bool earliest = timers_.empty() || at < timers_.begin()->first;
    timers_.emplace(at, std::move(t));
    if (earliest) {
        timers_changed_ = true;
        wake_cv_.notify_one();
    }
}

void worker_hub::run() {
    for (;;) {
        std::set<std::string> dirty;
        std::vector<hub_timer> due;
        std::vector<std::function<void(effects&)>> jobs;
        bool sweep = false;
        {
            std::unique_lock lock(wake_mu_);
            auto ready = [&] { return stopping_ || !dirty_.empty() || !jobs_.empty() || timers_changed_ ||
                                      (!timers_.empty() && timers_.begin()->first <= clock::now()); };
            if (timers_.empty()) wake_cv_.wait(lock, ready);
            else wake_cv_.wait_until(lock, timers_.begin()->first, ready);
            if (stopping_) return;
            timers_changed_ = false;
            dirty.swap(dirty_);
            jobs.swap(jobs_);
            const auto now = clock::now();
            while (!timers_.empty() && timers_.begin()->first <= now) {
                due.push_back(std::move(timers_.begin()->second));
                timers_.erase(timers_.begin());
            }
            sweep = timers_.size() >= sweep_timers_at_;  // checked here, where the lock is held anyway
        }
        effects fx;
        {
            std::lock_guard lock(mu_);
            for (auto& job : jobs) job(fx);
            for (auto& t : due) on_timer(t, fx);
            for (auto& name : dirty)
                if (auto* w = regs_->find(name)) calls_->pump(*w, fx);
            if (sweep) sweep_timers();
        }
        for (auto& f : fx) f();
    }
}

std::size_t worker_hub::timers_pending() {
    std::lock_guard lock(wake_mu_);
    return timers_.size();
}

// A call that ends leaves its deadline, invisibility and retry timers
// behind, which would only wake the hub for nothing when due: at 3,000
// calls/s the deadlines (5 min) alone held a million entries. One pass drops
// them each time the timers have doubled since the last: O(1) a timer,
// amortized.
void worker_hub::sweep_timers() {
    std::lock_guard lock(wake_mu_);
    if (timers_.size() < sweep_timers_at_) return;
    std::erase_if(timers_, [&](const auto& entry) {
        const auto k = entry.second.what;
        return (k == hub_timer::kind::deadline || k == hub_timer::kind::invisibility || k == hub_timer::kind::retry) &&
               !calls_->find(entry.second.call);
    });
    sweep_timers_at_ = std::max(min_sweep, 2 * timers_.size());
}

void worker_hub::on_timer(const hub_timer& t, effects& fx) {
    switch (t.what) {
        case hub_timer::kind::resume:
            if (auto* w = regs_->find(t.worker)) calls_->pump(*w, fx);
            return;
        case hub_timer::kind::status:
            if (auto* w = regs_->find(t.worker); w && w->status_pending) regs_->save_status(*w);
            return;
        case hub_timer::kind::reread:
            if (auto* w = regs_->find(t.worker)) {
                w->reread_pending = false;
                calls_->pump(*w, fx);
            }
            return;
        case hub_timer::kind::cursor:
            if (auto* w = regs_->find(t.worker); w && w->cursor_pending) calls_->save_cursor(*w);
            return;
        case hub_timer::kind::expiry:
            if (auto* w = regs_->find(t.worker); w && w->presence == t.generation && !w->online) {
                fx.push_back([this, name = t.worker, presence = t.generation] {
                    (void)drop(name,
                               "worker '" + name + "' was removed after being offline for " +
                                   std::to_string(opts_.offline_expiry.count()) + " ms (--worker-offline-expiry-ms)",
                               presence);
                });
            }
            return;
        case hub_timer::kind::offline:
            if (auto* w = regs_->find(t.worker); w && w->presence == t.generation && w->instances.empty()) {
                // Instances elsewhere keep it online; look again, as they may stop.
                if (present(*w)) schedule(clock::now() + opts_.offline_grace, t);
                else set_online(*w, false, fx);
            }
            return;
        case hub_timer::kind::reply:
            peers_->expired(t.generation, fx);
            return;
        case hub_timer::kind::beat:
            if (t.generation != beat_generation_) return;  // an earlier beat was sent since
            beat();
            schedule(clock::now() + hub_peers::beat_interval, t);
            if (auto stopped = peers_->silent(); !stopped.empty()) {
                peers_->abandon(stopped, fx);  // their replies will not come
                fx.push_back([this, stopped] { take_over(stopped); });
            }
            return;
        case hub_timer::kind::peer_slot:
            calls_->peer_slot_expired(t);
            return;
        default:
            calls_->on_timer(t, fx);
    }
}

void worker_hub::set_online(hub_worker& w, bool online, effects& fx) {
    if (online && w.offline_since_ms) {  // back (a worker restored offline is online for the grace period)
        w.offline_since_ms = 0;
        regs_->save_status(w);
    }
    if (w.online == online) return;
    w.online = online;
    spdlog::info("workers: {}: {}", w.name, online ? "online" : "offline");
    regs_->publish(w, fx);
    if (!online) {
        if (!w.offline_since_ms) {  // else: offline since before a restart
            w.offline_since_ms = worker_hub_detail::wall_ms();
            regs_->save_status(w);
        }
        if (opts_.offline_expiry.count() > 0) {
            const auto due = w.offline_since_ms + static_cast<std::uint64_t>(opts_.offline_expiry.count());
            const auto now = worker_hub_detail::wall_ms();
            schedule(clock::now() + std::chrono::milliseconds(due > now ? due - now : 0),
                     {hub_timer::kind::expiry, w.name, {}, w.presence});
        }
    }
    if (online || w.queue_while_offline) return;
    calls_->fail_all(w.name, "worker '" + w.name + "' is offline (no instance is connected)", fx);
}

}  // namespace litemcp::server
