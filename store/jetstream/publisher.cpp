#include "store/jetstream/publisher.h"

#include <charconv>

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
    : link_(link),
      replies_(link, max_pending,
               "JetStream did not acknowledge the append within " + std::to_string(link.timeout().count()) +
                   " ms (it may or may not be stored)") {}

void publisher::publish(const std::string& subject, const headers& hdrs, std::string_view payload, done_fn done) {
    auto reply = replies_.expect(link_.timeout(), [this, done = std::move(done)](result<msg_ptr> r,
                                                                              pending_replies::clock::duration waited) {
        result<std::uint64_t> seq = r ? parse_ack(r->get()) : std::unexpected(r.error());
        count(seq.has_value(), waited);
        if (done) done(std::move(seq));
    });
    if (!reply) return;
    {
        std::lock_guard lock(mu_);
        ++stats_.published;
    }
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), reply->c_str(), payload.data(), static_cast<int>(payload.size()));
    for (auto& [key, value] : hdrs)
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, key, value.c_str());
    if (s == NATS_OK) s = natsConnection_PublishMsg(link_.connection(), msg);
    natsMsg_Destroy(msg);
    if (s != NATS_OK) replies_.fail(*reply, nats_error("publishing to " + subject, s));
}

void publisher::count(bool ok, pending_replies::clock::duration waited) {
    const auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(waited).count());
    std::lock_guard lock(mu_);
    if (!ok) {
        ++stats_.failed;
        return;
    }
    ++stats_.acked;
    stats_.ack_micros += us;
    std::size_t b = 0;
    while (b < publish_bucket_micros.size() && us > publish_bucket_micros[b]) ++b;
    ++stats_.ack_buckets[b];
}

publisher_stats publisher::stats() const {
    std::lock_guard lock(mu_);
    auto s = stats_;
    s.pending = replies_.outstanding();
    return s;
}

}  // namespace litemcp::store::jetstream
