#include "store/ready_set.h"

#include <algorithm>
#include <pthread.h>

namespace litemcp::store {

ready_set::ready_set()
    : timer_thread_([this] {
          pthread_setname_np(pthread_self(), "ready-timers");
          run_timers();
      }) {}

ready_set::~ready_set() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    timer_cv_.notify_all();
    timer_thread_.join();
}

void ready_set::add_consumer(std::string_view id, wake_fn wake) {
    std::lock_guard lock(mu_);
    auto it = consumers_.find(id);
    if (it != consumers_.end()) {
        it->second->wake = std::move(wake);
        return;
    }
    auto c = std::make_shared<consumer>();
    c->id = std::string(id);
    c->wake = std::move(wake);
    consumers_.emplace(c->id, std::move(c));
}

void ready_set::remove_consumer(std::string_view id) {
    std::shared_ptr<consumer> c;
    {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return;
        c = std::move(it->second);
        consumers_.erase(it);
        for (auto& topic : c->topics) {
            auto b = bindings_.find(topic);
            if (b == bindings_.end()) continue;
            std::erase(b->second, c);
            --binding_count_;
            if (b->second.empty()) bindings_.erase(b);
        }
    }
    // c (and its callback) is destroyed outside the lock.
}

bool ready_set::has_consumer(std::string_view id) const {
    std::lock_guard lock(mu_);
    return consumers_.contains(id);
}

bool ready_set::bind(std::string_view id, std::string_view topic, bool has_unread) {
    std::shared_ptr<consumer> to_wake;
    {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return false;
        auto& c = it->second;
        if (c->topics.emplace(topic).second) {
            auto b = bindings_.find(topic);
            if (b == bindings_.end()) b = bindings_.emplace(std::string(topic), std::vector<std::shared_ptr<consumer>>{}).first;
            b->second.push_back(c);
            ++binding_count_;
        }
        if (has_unread) to_wake = mark_locked(c, topic);
    }
    if (to_wake) to_wake->wake();
    return true;
}

void ready_set::unbind(std::string_view id, std::string_view topic) {
    std::lock_guard lock(mu_);
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return;
    auto& c = it->second;
    auto t = c->topics.find(topic);
    if (t == c->topics.end()) return;
    c->topics.erase(t);
    if (auto r = c->ready.find(topic); r != c->ready.end()) c->ready.erase(r);
    if (auto s = c->suspended.find(topic); s != c->suspended.end()) c->suspended.erase(s);
    auto b = bindings_.find(topic);
    if (b == bindings_.end()) return;
    std::erase(b->second, c);
    --binding_count_;
    if (b->second.empty()) bindings_.erase(b);
}

bool ready_set::has_bindings(std::string_view topic) const {
    std::lock_guard lock(mu_);
    return bindings_.contains(topic);
}

std::vector<std::string> ready_set::bound_consumers(std::string_view topic) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (auto b = bindings_.find(topic); b != bindings_.end())
        for (auto& c : b->second) out.push_back(c->id);
    return out;
}

std::vector<std::string> ready_set::bindings_of(std::string_view id) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (auto c = consumers_.find(id); c != consumers_.end()) out.assign(c->second->topics.begin(), c->second->topics.end());
    return out;
}

std::shared_ptr<ready_set::consumer> ready_set::mark_locked(const std::shared_ptr<consumer>& c,
                                                            std::string_view topic) {
    if (auto s = c->suspended.find(topic); s != c->suspended.end()) {
        s->second.missed = true;
        return nullptr;
    }
    if (!c->ready.contains(topic)) c->ready.emplace(topic);
    if (c->pending) return nullptr;
    c->pending = true;
    ++wakes_;
    return c;
}

void ready_set::notify(const std::vector<std::string_view>& topics) {
    // Small fixed buffer: most appends wake zero or one consumer.
    std::vector<std::shared_ptr<consumer>> to_wake;
    {
        std::lock_guard lock(mu_);
        if (bindings_.empty()) return;
        for (auto topic : topics) {
            auto b = bindings_.find(topic);
            if (b == bindings_.end()) continue;
            for (auto& c : b->second)
                if (auto w = mark_locked(c, topic)) to_wake.push_back(std::move(w));
        }
    }
    for (auto& c : to_wake) c->wake();
}

void ready_set::mark_ready(std::string_view id, std::string_view topic) {
    std::shared_ptr<consumer> to_wake;
    {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end() || !it->second->topics.contains(topic)) return;
        to_wake = mark_locked(it->second, topic);
    }
    if (to_wake) to_wake->wake();
}

std::vector<std::string> ready_set::take_ready(std::string_view id) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return out;
    auto& c = it->second;
    out.reserve(c->ready.size());
    for (auto& t : c->ready) out.push_back(t);
    c->ready.clear();
    c->pending = false;
    return out;
}

void ready_set::suspend(std::string_view id, std::string_view topic, std::chrono::milliseconds duration) {
    std::lock_guard lock(mu_);
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return;
    auto& c = it->second;
    const auto until = clock::now() + duration;
    auto [s, inserted] = c->suspended.try_emplace(std::string(topic), suspension{until, false});
    if (!inserted) s->second.until = until;
    // Records that were waiting for the consumer now wait for the suspension.
    if (auto r = c->ready.find(topic); r != c->ready.end()) {
        c->ready.erase(r);
        s->second.missed = true;
    }
    const bool earliest = timers_.empty() || until < timers_.top().at;
    timers_.push(timer{until, c->id, std::string(topic)});
    if (earliest) timer_cv_.notify_one();
}

void ready_set::resume(std::string_view id, std::string_view topic) {
    std::shared_ptr<consumer> to_wake;
    {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return;
        auto& c = it->second;
        auto s = c->suspended.find(topic);
        if (s == c->suspended.end()) return;
        const bool missed = s->second.missed;
        c->suspended.erase(s);
        if (missed && c->topics.contains(topic)) to_wake = mark_locked(c, topic);
    }
    if (to_wake) to_wake->wake();
}

void ready_set::run_timers() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (timers_.empty()) {
            timer_cv_.wait(lock);
            continue;
        }
        const auto at = timers_.top().at;
        if (clock::now() < at) {
            timer_cv_.wait_until(lock, at);
            continue;
        }
        timer t = timers_.top();
        timers_.pop();
        auto it = consumers_.find(t.consumer);
        if (it == consumers_.end()) continue;
        auto& c = it->second;
        auto s = c->suspended.find(t.topic);
        if (s == c->suspended.end() || s->second.until > clock::now()) continue;  // resumed or extended
        const bool missed = s->second.missed;
        c->suspended.erase(s);
        if (!missed || !c->topics.contains(t.topic)) continue;
        auto w = mark_locked(c, t.topic);
        if (!w) continue;
        lock.unlock();
        w->wake();
        lock.lock();
    }
}

ready_set_stats ready_set::stats() const {
    std::lock_guard lock(mu_);
    return {consumers_.size(), binding_count_, wakes_};
}

}  // namespace litemcp::store
