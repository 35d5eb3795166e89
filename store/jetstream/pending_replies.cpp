#include "store/jetstream/pending_replies.h"

#include <charconv>
#include <cstring>
#include <vector>

namespace litemcp::store::jetstream {

pending_replies::pending_replies(nats_link& link, std::size_t max_pending, std::string timeout_message)
    : link_(link), max_pending_(max_pending ? max_pending : 1), timeout_message_(std::move(timeout_message)) {}

pending_replies::~pending_replies() { stop(); }

result<void> pending_replies::start() {
    natsInbox* inbox = nullptr;
    if (auto s = natsInbox_Create(&inbox); s != NATS_OK) return std::unexpected(nats_error("inbox", s));
    inbox_ = inbox;
    natsInbox_Destroy(inbox);
    const std::string filter = inbox_ + ".*";
    if (auto s = natsConnection_Subscribe(&sub_, link_.connection(), filter.c_str(), &pending_replies::on_reply, this);
        s != NATS_OK)
        return std::unexpected(nats_error("subscribing to replies", s));
    natsSubscription_SetPendingLimits(sub_, -1, -1);
    deadline_thread_ = std::thread([this] { run_deadlines(); });
    return {};
}

void pending_replies::stop() {
    std::map<std::uint64_t, entry> failed;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        failed.swap(pending_);
        deadlines_.clear();
    }
    room_cv_.notify_all();
    deadline_cv_.notify_all();
    if (deadline_thread_.joinable()) deadline_thread_.join();
    if (sub_) {
        natsSubscription_Unsubscribe(sub_);
        natsSubscription_Destroy(sub_);
        sub_ = nullptr;
    }
    const auto now = clock::now();
    for (auto& [id, e] : failed)
        if (e.done) e.done(make_error(errc::closed, "the store is closing"), now - e.sent);
}

std::optional<std::string> pending_replies::expect(std::chrono::milliseconds wait, reply_fn done) {
    std::uint64_t id = 0;
    {
        std::unique_lock lock(mu_);
        room_cv_.wait(lock, [&] { return stopping_ || pending_.size() < max_pending_; });
        if (!stopping_) {
            id = next_id_++;
            const auto now = clock::now();
            pending_.emplace(id, entry{std::move(done), now, now + wait});
            const bool earliest = deadlines_.empty() || now + wait < deadlines_.begin()->first;
            deadlines_.emplace(now + wait, id);
            if (earliest) deadline_cv_.notify_one();
        }
    }
    if (id == 0) {
        if (done) done(make_error(errc::closed, "the store is closing"), clock::duration{});
        return std::nullopt;
    }
    return inbox_ + "." + std::to_string(id);
}

void pending_replies::fail(const std::string& reply_subject, error e) {
    std::uint64_t id = 0;
    const auto dot = reply_subject.rfind('.');
    if (dot != std::string::npos) std::from_chars(reply_subject.data() + dot + 1, reply_subject.data() + reply_subject.size(), id);
    if (id) complete(id, std::unexpected(std::move(e)));
}

void pending_replies::on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    auto* p = static_cast<pending_replies*>(self);
    const char* subject = natsMsg_GetSubject(msg);
    const char* dot = std::strrchr(subject, '.');
    std::uint64_t id = 0;
    if (dot) std::from_chars(dot + 1, subject + std::strlen(subject), id);
    msg_ptr owned(msg);
    if (id) p->complete(id, std::move(owned));
}

void pending_replies::complete(std::uint64_t id, result<msg_ptr> r) {
    entry e;
    {
        std::lock_guard lock(mu_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;  // answered or expired already
        e = std::move(it->second);
        deadlines_.erase({e.deadline, id});
        pending_.erase(it);
    }
    room_cv_.notify_one();
    if (e.done) e.done(std::move(r), clock::now() - e.sent);
}

void pending_replies::run_deadlines() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (deadlines_.empty()) {
            deadline_cv_.wait(lock);
            continue;
        }
        const auto due = deadlines_.begin()->first;
        if (clock::now() < due) {
            deadline_cv_.wait_until(lock, due);
            continue;
        }
        std::vector<entry> expired;
        const auto now = clock::now();
        while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
            const auto id = deadlines_.begin()->second;
            deadlines_.erase(deadlines_.begin());
            if (auto it = pending_.find(id); it != pending_.end()) {
                expired.push_back(std::move(it->second));
                pending_.erase(it);
            }
        }
        lock.unlock();
        room_cv_.notify_all();
        for (auto& e : expired)
            if (e.done) e.done(make_error(errc::io_error, timeout_message_), now - e.sent);
        lock.lock();
    }
}

std::size_t pending_replies::outstanding() const {
    std::lock_guard lock(mu_);
    return pending_.size();
}

}  // namespace litemcp::store::jetstream
