#include "store/jetstream/signals.h"

#include <spdlog/spdlog.h>

namespace litemcp::store::jetstream {

bool valid_channel(std::string_view channel) {
    if (channel.empty() || channel.size() > 32) return false;
    for (char c : channel)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

signals::signals(nats_link& link, const names& n)
    : link_(link), names_(n), questions_(link, 4096, "no server answered in time") {}

signals::~signals() { stop(); }

std::string signals::subject(std::string_view channel) const { return names_.prefix() + ".s." + std::string(channel); }

result<void> signals::start() {
    if (auto r = questions_.start(); !r) return r;
    const std::string all = names_.prefix() + ".s.*";
    if (auto s = natsConnection_Subscribe(&sub_, link_.connection(), all.c_str(), &signals::on_message, this); s != NATS_OK)
        return std::unexpected(nats_error("listening for signals", s));
    natsSubscription_SetPendingLimits(sub_, -1, -1);
    return {};
}

void signals::stop() {
    questions_.stop();
    std::lock_guard lock(mu_);
    if (sub_) {
        natsSubscription_Unsubscribe(sub_);
        natsSubscription_Destroy(sub_);
        sub_ = nullptr;
    }
}

void signals::on_signal(store::signal_handler handler) {
    std::lock_guard lock(mu_);
    handler_ = handler ? std::make_shared<const store::signal_handler>(std::move(handler)) : nullptr;
}

void signals::on_engine_signal(store::signal_handler handler) {
    std::lock_guard lock(mu_);
    engine_handler_ = handler ? std::make_shared<const store::signal_handler>(std::move(handler)) : nullptr;
}

void signals::on_message(natsConnection* nc, natsSubscription*, natsMsg* msg, void* self) {
    auto* s = static_cast<signals*>(self);
    msg_ptr owned(msg);
    std::string_view subject = natsMsg_GetSubject(msg);
    const auto channel = subject.substr(subject.rfind('.') + 1);
    std::shared_ptr<const store::signal_handler> handler;
    {
        std::lock_guard lock(s->mu_);
        handler = channel.starts_with("store-") ? s->engine_handler_ : s->handler_;
    }
    if (!handler) return;
    std::string_view payload(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    auto answer = (*handler)(channel, payload);
    const char* reply = natsMsg_GetReply(msg);
    if (answer && reply && *reply)
        natsConnection_Publish(nc, reply, answer->data(), static_cast<int>(answer->size()));
}

result<void> signals::send(std::string_view channel, std::string_view payload) {
    if (!valid_channel(channel)) return make_error(errc::invalid_name, "bad signal channel '" + std::string(channel) + "'");
    const auto to = subject(channel);
    if (auto s = natsConnection_Publish(link_.connection(), to.c_str(), payload.data(), static_cast<int>(payload.size()));
        s != NATS_OK) {
        auto e = nats_error("signalling " + std::string(channel), s);
        if (s == NATS_MAX_PAYLOAD) e.code = errc::record_too_large;  // larger than the servers' max_payload
        return std::unexpected(std::move(e));
    }
    return {};
}

void signals::ask(std::string_view channel, std::string_view payload, std::chrono::milliseconds wait,
                  store::answer_fn done) {
    if (!valid_channel(channel)) {
        if (done) done(std::nullopt);
        return;
    }
    auto reply = questions_.expect(wait, [done](result<msg_ptr> r, pending_replies::clock::duration) {
        if (!done) return;
        // A reply without responders ("503") is no answer.
        if (!r || reply_status(r->get()) >= 400) return done(std::nullopt);
        done(std::string(natsMsg_GetData(r->get()), static_cast<std::size_t>(natsMsg_GetDataLength(r->get()))));
    });
    if (!reply) return;
    const auto to = subject(channel);
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, to.c_str(), reply->c_str(), payload.data(), static_cast<int>(payload.size()));
    if (s == NATS_OK) s = natsConnection_PublishMsg(link_.connection(), msg);
    natsMsg_Destroy(msg);
    if (s != NATS_OK) questions_.fail(*reply, nats_error("asking " + std::string(channel), s));
}

}  // namespace litemcp::store::jetstream
