#include "store/jetstream/publisher.h"

#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

namespace litemcp::store::jetstream {

namespace {

// The sequence of a JetStream acknowledgement ({"stream":"S","seq":N}), or
// the error it carries.
result<std::uint64_t> parse_ack(natsMsg* msg) {
    if (int st = reply_status(msg); st >= 400) {
        if (st == 503) return make_error(errc::io_error, "JetStream is not available (no stream answered)");
        return make_error(errc::io_error, "JetStream answered status " + std::to_string(st));
    }
    std::string_view text(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    // The common answer, read without a JSON parser.
    if (auto at = text.find("\"seq\":"); at != std::string_view::npos && text.find("\"error\"") == std::string_view::npos) {
        at += 6;
        while (at < text.size() && text[at] == ' ') ++at;
        std::uint64_t seq = 0;
        auto [p, ec] = std::from_chars(text.data() + at, text.data() + text.size(), seq);
        if (ec == std::errc() && seq > 0) return seq;
    }
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_discarded())
        if (auto e = doc.find("error"); e != doc.end() && e->is_object())
            return make_error(errc::io_error, "JetStream refused the append: " + e->value("description", std::string("error")));
    return make_error(errc::io_error, "unreadable JetStream acknowledgement: " + std::string(text.substr(0, 200)));
}

}  // namespace

publisher::publisher(nats_link& link, std::size_t max_pending)
    : link_(link), max_pending_(max_pending ? max_pending : 1) {}

publisher::~publisher() { stop(); }

result<void> publisher::start() {
    natsInbox* inbox = nullptr;
    if (auto s = natsInbox_Create(&inbox); s != NATS_OK) return std::unexpected(nats_error("inbox", s));
    inbox_ = inbox;
    natsInbox_Destroy(inbox);
    const std::string filter = inbox_ + ".*";
    if (auto s = natsConnection_Subscribe(&sub_, link_.connection(), filter.c_str(), &publisher::on_ack, this);
        s != NATS_OK)
        return std::unexpected(nats_error("subscribing to acknowledgements", s));
    natsSubscription_SetPendingLimits(sub_, -1, -1);
    timer_ = std::thread([this] { run_timeouts(); });
    return {};
}

void publisher::stop() {
    std::map<std::uint64_t, pending> failed;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        failed.swap(pending_);
    }
    room_cv_.notify_all();
    timer_cv_.notify_all();
    if (timer_.joinable()) timer_.join();
    if (sub_) {
        natsSubscription_Unsubscribe(sub_);
        natsSubscription_Destroy(sub_);
        sub_ = nullptr;
    }
    for (auto& [id, p] : failed)
        if (p.done) p.done(make_error(errc::closed, "the store is closing"));
}

void publisher::publish(const std::string& subject, const headers& hdrs, std::string_view payload, done_fn done) {
    std::uint64_t id = 0;
    {
        std::unique_lock lock(mu_);
        room_cv_.wait(lock, [&] { return stopping_ || pending_.size() < max_pending_; });
        if (stopping_) {
            lock.unlock();
            if (done) done(make_error(errc::closed, "the store is closing"));
            return;
        }
        id = next_id_++;
        pending_.emplace(id, pending{std::move(done), std::chrono::steady_clock::now()});
        ++stats_.published;
    }
    const std::string reply = inbox_ + "." + std::to_string(id);
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), reply.c_str(), payload.data(), static_cast<int>(payload.size()));
    for (auto& [key, value] : hdrs)
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, key, value.c_str());
    if (s == NATS_OK) s = natsConnection_PublishMsg(link_.connection(), msg);
    natsMsg_Destroy(msg);
    if (s != NATS_OK) acknowledged(id, std::unexpected(nats_error("publishing to " + subject, s)));
    else timer_cv_.notify_one();
}

void publisher::on_ack(natsConnection*, natsSubscription*, natsMsg* msg, void* self) {
    auto* p = static_cast<publisher*>(self);
    const char* subject = natsMsg_GetSubject(msg);
    const char* dot = std::strrchr(subject, '.');
    std::uint64_t id = 0;
    if (dot) std::from_chars(dot + 1, subject + std::strlen(subject), id);
    auto r = parse_ack(msg);
    natsMsg_Destroy(msg);
    if (id) p->acknowledged(id, std::move(r));
}

void publisher::acknowledged(std::uint64_t id, result<std::uint64_t> r) {
    done_fn done;
    {
        std::lock_guard lock(mu_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;  // timed out already
        done = std::move(it->second.done);
        record_latency(std::chrono::steady_clock::now() - it->second.sent);
        pending_.erase(it);
        if (r) ++stats_.acked;
        else ++stats_.failed;
    }
    room_cv_.notify_one();
    if (done) done(std::move(r));
}

void publisher::record_latency(std::chrono::steady_clock::duration d) {
    const auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    stats_.ack_micros += us;
    std::size_t b = 0;
    while (b < publish_bucket_micros.size() && us > publish_bucket_micros[b]) ++b;
    ++stats_.ack_buckets[b];
}

void publisher::run_timeouts() {
    const auto limit = link_.timeout();
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (pending_.empty()) {
            timer_cv_.wait(lock);
            continue;
        }
        const auto due = pending_.begin()->second.sent + limit;
        if (std::chrono::steady_clock::now() < due) {
            timer_cv_.wait_until(lock, due);
            continue;
        }
        // Ids grow with time and share one timeout: the expired ones are first.
        std::vector<done_fn> expired;
        const auto now = std::chrono::steady_clock::now();
        while (!pending_.empty() && pending_.begin()->second.sent + limit <= now) {
            expired.push_back(std::move(pending_.begin()->second.done));
            pending_.erase(pending_.begin());
            ++stats_.timed_out;
            ++stats_.failed;
        }
        lock.unlock();
        room_cv_.notify_all();
        for (auto& done : expired)
            if (done)
                done(make_error(errc::io_error, "JetStream did not acknowledge the append within " +
                                                    std::to_string(limit.count()) + " ms (it may or may not be stored)"));
        lock.lock();
    }
}

publisher_stats publisher::stats() const {
    std::lock_guard lock(mu_);
    auto s = stats_;
    s.pending = pending_.size();
    return s;
}

}  // namespace litemcp::store::jetstream
