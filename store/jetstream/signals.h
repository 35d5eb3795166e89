// Signals between the servers sharing a JetStream store (store.h, "Signals
// between the servers"): core-NATS messages on "<prefix>.s.<channel>", which
// every server subscribes to. The connection does not echo its own
// publishes (nats_link.h), so a server never hears itself. A question is a
// publish with a reply subject (pending_replies.h); the first answer wins.
//
// Threading: thread-safe; the handler runs on a libnats delivery thread.
// Lifetime: owned by jetstream_store; stop() before the link closes.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/jetstream/names.h"
#include "store/jetstream/nats_link.h"
#include "store/jetstream/pending_replies.h"
#include "store/store.h"

namespace litemcp::store::jetstream {

class signals {
public:
    signals(nats_link& link, const names& n);
    ~signals();

    result<void> start();
    void stop();

    // The server's handler. Channels starting with "store-" are the
    // engine's own: they go to the engine's handler, never the server's.
    void on_signal(store::signal_handler handler);
    void on_engine_signal(store::signal_handler handler);
    result<void> send(std::string_view channel, std::string_view payload);
    void ask(std::string_view channel, std::string_view payload, std::chrono::milliseconds wait, store::answer_fn done);

private:
    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* self);
    std::string subject(std::string_view channel) const;

    nats_link& link_;
    const names& names_;
    pending_replies questions_;
    natsSubscription* sub_ = nullptr;
    std::mutex mu_;
    std::shared_ptr<const store::signal_handler> handler_, engine_handler_;
};

// Checks a channel name: [a-z0-9_-]{1,32}.
bool valid_channel(std::string_view channel);

}  // namespace litemcp::store::jetstream
