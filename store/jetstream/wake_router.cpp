#include "store/jetstream/wake_router.h"

#include <vector>

#include "store/jetstream/message_codec.h"

namespace litemcp::store::jetstream {

wake_router::wake_router(nats_link& link, const names& n, ready_set& ready) : link_(link), names_(n), ready_(ready) {}

wake_router::~wake_router() { stop(); }

void wake_router::stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [topic, w] : watches_) {
        natsSubscription_Unsubscribe(w.sub);
        natsSubscription_Destroy(w.sub);
    }
    watches_.clear();
    if (observer_sub_) {
        natsSubscription_Unsubscribe(observer_sub_);
        natsSubscription_Destroy(observer_sub_);
        observer_sub_ = nullptr;
    }
}

result<void> wake_router::sync(std::string_view topic) {
    std::lock_guard lock(mu_);
    if (stopped_) return make_error(errc::closed, "the store is closing");
    const bool wanted = ready_.has_bindings(topic);
    auto it = watches_.find(topic);
    if (wanted && it == watches_.end()) {
        natsSubscription* sub = nullptr;
        const auto subject = names_.of(topic).wake_subject;
        if (auto s = natsConnection_Subscribe(&sub, link_.connection(), subject.c_str(), &wake_router::on_wake, this);
            s != NATS_OK)
            return std::unexpected(nats_error("listening for appends to " + std::string(topic), s));
        natsSubscription_SetPendingLimits(sub, -1, -1);
        watches_.emplace(std::string(topic), watch{sub, 0});
    } else if (!wanted && it != watches_.end()) {
        natsSubscription_Unsubscribe(it->second.sub);
        natsSubscription_Destroy(it->second.sub);
        watches_.erase(it);
    }
    return {};
}

void wake_router::on_wake(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    auto* r = static_cast<wake_router*>(self);
    auto topic = r->names_.topic_of_wake(natsMsg_GetSubject(msg));
    const auto seq = header_number(header(msg, "Nats-Sequence"));
    const auto last = header_number(header(msg, "Nats-Last-Sequence"));
    natsMsg_Destroy(msg);
    if (!topic || !seq) return;
    {
        std::lock_guard lock(r->mu_);
        auto it = r->watches_.find(*topic);
        if (it == r->watches_.end()) return;
        auto& w = it->second;
        if (w.last_seen != 0 && last && *last > w.last_seen) r->gaps_.fetch_add(1);
        if (*seq > w.last_seen) w.last_seen = *seq;
    }
    r->wakes_.fetch_add(1);
    r->ready_.notify({std::string_view(*topic)});
}

void wake_router::catch_up() {
    std::vector<std::string> topics;
    {
        std::lock_guard lock(mu_);
        topics.reserve(watches_.size());
        for (auto& [topic, w] : watches_) topics.push_back(topic);
    }
    std::vector<std::string_view> views(topics.begin(), topics.end());
    if (!views.empty()) ready_.notify(views);
}

std::uint64_t wake_router::known_end(std::string_view topic) const {
    std::lock_guard lock(mu_);
    auto it = watches_.find(topic);
    return it == watches_.end() ? 0 : it->second.last_seen;
}

void wake_router::note_end(std::string_view topic, std::uint64_t seq) {
    std::lock_guard lock(mu_);
    if (auto it = watches_.find(topic); it != watches_.end() && seq > it->second.last_seen) it->second.last_seen = seq;
}

std::size_t wake_router::watched() const {
    std::lock_guard lock(mu_);
    return watches_.size();
}

void wake_router::observe(store::append_observer observer) {
    std::lock_guard lock(mu_);
    observer_ = observer ? std::make_shared<const store::append_observer>(std::move(observer)) : nullptr;
    if (observer_ && !observer_sub_ && !stopped_) {
        const auto subject = names_.all_wakes();
        if (natsConnection_Subscribe(&observer_sub_, link_.connection(), subject.c_str(), &wake_router::on_any, this) ==
            NATS_OK)
            natsSubscription_SetPendingLimits(observer_sub_, -1, -1);
        else
            observer_sub_ = nullptr;
    } else if (!observer_ && observer_sub_) {
        natsSubscription_Unsubscribe(observer_sub_);
        natsSubscription_Destroy(observer_sub_);
        observer_sub_ = nullptr;
    }
}

void wake_router::on_any(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    auto* r = static_cast<wake_router*>(self);
    std::shared_ptr<const store::append_observer> observer;
    {
        std::lock_guard lock(r->mu_);
        observer = r->observer_;
    }
    auto topic = r->names_.topic_of_wake(natsMsg_GetSubject(msg));
    const auto seq = header_number(header(msg, "Nats-Sequence"));
    if (observer && topic && seq) {
        std::string_view payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        if (auto records = decode_message(payload, header(msg, header_group), header(msg, header_flags)))
            for (std::size_t i = 0; i < records->size(); ++i)
                (*observer)(*topic, offset_of(*seq, i), (*records)[i].flags, (*records)[i].payload);
    }
    natsMsg_Destroy(msg);
}

}  // namespace litemcp::store::jetstream
