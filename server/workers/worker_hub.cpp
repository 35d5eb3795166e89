// The worker hub: construction, start and stop, its thread and its timers
// (see worker_hub.h; delivery in worker_hub_delivery.cpp, the worker API
// side in worker_hub_requests.cpp).
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

worker_hub::worker_hub(store::store& st, registry& reg, call_sink& sink, worker_options o)
    : store_(st), registry_(reg), sink_(sink), opts_(o),
      regs_(std::make_unique<registrations>(registrations::parts{
          st, reg, opts_, mu_, [this](const std::string& name) { wake(name); },
          [this](const std::string& name, std::uint64_t presence) {
              schedule(clock::now() + opts_.offline_grace, {timer::kind::offline, name, {}, presence});
          }})),
      workers_(regs_->all()) {}

worker_hub::~worker_hub() { stop(); }

// ---- start and stop ----------------------------------------------------------

std::expected<std::unique_ptr<worker_hub::open_call>, std::string> worker_hub::read_call(const json& r) {
    auto c = std::make_unique<open_call>();
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

store::result<void> worker_hub::load_calls(std::vector<std::string>& restored) {
    const auto now = clock::now();
    const auto now_ms = wall_ms();
    std::string after;
    for (;;) {
        auto page = store_.kv_scan(call_prefix, after, 500);
        if (!page) return std::unexpected(page.error());
        for (auto& [key, value] : *page) {
            after = key;
            auto c = read_call(parse_json(value).value_or(json()));
            if (!c) spdlog::error("workers: dropping the unreadable call record {}: {}", key, c.error());
            auto w = c ? workers_.find((*c)->worker) : workers_.end();
            if (w == workers_.end()) {  // unreadable, or its worker is gone
                (void)store_.kv_delete(key);
                continue;
            }
            auto& call = **c;
            call.deadline = now + std::chrono::milliseconds(call.deadline_ms > now_ms ? call.deadline_ms - now_ms : 0);
            schedule(call.deadline, {timer::kind::deadline, call.worker, call.id, 0});
            w->second->open++;
            call.counted = true;
            by_request_[request_key(call.ticket.origin, call.ticket.request_id)] = call.id;
            restored.push_back(call.id);
            calls_[call.id] = std::move(*c);
        }
        if (page->size() < 500) return {};
    }
}

store::result<void> worker_hub::start() {
    std::vector<std::string> restored;  // call ids
    effects fx;
    {
        std::lock_guard lock(mu_);
        if (auto r = regs_->load(); !r) return r;
        if (auto r = load_calls(restored); !r) return r;
        const auto now = clock::now();
        for (auto& [name, w] : workers_) {
            std::string n = name;
            if (auto r = store_.add_consumer(w->consumer, [this, n] { wake(n); }); !r)
                spdlog::error("workers: {}: {}", name, r.error().message);
            (void)store_.bind(w->consumer, w->topic);
            schedule(now + opts_.offline_grace, {timer::kind::offline, name, {}, w->presence});
            regs_->publish(*w, fx);
        }
        spdlog::info("workers: {} registered, {} calls open", workers_.size(), calls_.size());
    }
    for (auto& f : fx) f();
    // Each restored call gets the object its answer goes through (made
    // outside the lock: the sink looks up sessions and tasks).
    for (auto& id : restored) {
        call_ticket t;
        {
            std::lock_guard lock(mu_);
            if (auto it = calls_.find(id); it != calls_.end()) t = it->second->ticket;
        }
        auto live = sink_.restored(t);
        std::lock_guard lock(mu_);
        if (auto it = calls_.find(id); it != calls_.end()) it->second->ticket.live = std::move(live);
    }
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "worker-hub");
        run();
    });
    for (auto& [name, w] : workers_) wake(name);
    return {};
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
    for (auto& [name, w] : workers_) store_.remove_consumer(w->consumer);
}

// ---- the hub's thread ------------------------------------------------------------

void worker_hub::wake(const std::string& worker_name) {
    {
        std::lock_guard lock(wake_mu_);
        dirty_.insert(worker_name);
    }
    wake_cv_.notify_one();
}

void worker_hub::schedule(clock::time_point at, timer t) {
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
        std::vector<timer> due;
        {
            std::unique_lock lock(wake_mu_);
            auto ready = [&] { return stopping_ || !dirty_.empty() || timers_changed_ ||
                                      (!timers_.empty() && timers_.begin()->first <= clock::now()); };
            if (timers_.empty()) wake_cv_.wait(lock, ready);
            else wake_cv_.wait_until(lock, timers_.begin()->first, ready);
            if (stopping_) return;
            timers_changed_ = false;
            dirty.swap(dirty_);
            const auto now = clock::now();
            while (!timers_.empty() && timers_.begin()->first <= now) {
                due.push_back(std::move(timers_.begin()->second));
                timers_.erase(timers_.begin());
            }
        }
        effects fx;
        {
            std::lock_guard lock(mu_);
            for (auto& t : due) on_timer(t, fx);
            for (auto& name : dirty)
                if (auto w = workers_.find(name); w != workers_.end()) pump(*w->second, fx);
        }
        for (auto& f : fx) f();
    }
}

void worker_hub::on_timer(const timer& t, effects& fx) {
    const auto now = clock::now();
    if (t.what == timer::kind::resume) {
        if (auto w = workers_.find(t.worker); w != workers_.end()) pump(*w->second, fx);
        return;
    }
    if (t.what == timer::kind::offline) {
        auto w = workers_.find(t.worker);
        if (w != workers_.end() && w->second->presence == t.generation && w->second->instances.empty())
            set_online(*w->second, false, fx);
        return;
    }
    auto it = calls_.find(t.call);
    if (it == calls_.end()) return;
    auto& c = *it->second;
    switch (t.what) {
        case timer::kind::invisibility:
            if (c.state != open_call::phase::delivered || c.generation != t.generation) return;
            if (now < c.invisible_until) {
                schedule(c.invisible_until, t);
                return;
            }
            retry_or_dead_letter(c, "no answer within the invisibility timeout", std::nullopt, fx);
            return;
        case timer::kind::retry:
            if (c.state != open_call::phase::waiting || c.generation != t.generation) return;
            c.state = open_call::phase::ready;
            if (auto w = workers_.find(c.worker); w != workers_.end()) {
                w->second->ready.push_back(c.id);
                pump(*w->second, fx);
            }
            return;
        case timer::kind::deadline: {
            auto w = workers_.find(c.worker);
            const auto limit = w != workers_.end() ? w->second->call_timeout.count() : 0;
            send_cancel(c, "the call timed out");
            fail_call(c, "timed out: worker '" + c.worker + "' did not answer within " + std::to_string(limit) + " ms", fx);
            return;
        }
        default:
            return;
    }
}

// Reads new calls from the worker's topic and hands ready calls to free instances.

}  // namespace litemcp::server
