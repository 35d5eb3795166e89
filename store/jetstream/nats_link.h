// The JetStream engine's one connection to NATS (the official C client,
// libnats): connecting to the configured servers, reconnecting for ever,
// requests with the configured timeout, and the JetStream API's errors as
// store errors.
//
// Threading: thread-safe (libnats serializes the connection). request() and
// api() block the caller for one round trip at most request_timeout; the
// reconnect callback runs on a libnats thread. Lifetime: owned by
// jetstream_store; close() (or the destructor) closes the connection, after
// which no subscription callback starts.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/errc.h"
#include "store/options.h"

namespace litemcp::store::jetstream {

struct msg_deleter {
    void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using msg_ptr = std::unique_ptr<natsMsg, msg_deleter>;

// A header of a message; nullptr when absent.
const char* header(natsMsg* m, const char* key);
// The status of a JetStream reply without a body ("404"), or 0.
int reply_status(natsMsg* m);

// libnats' status (and its last error text) as a store error.
error nats_error(std::string_view what, natsStatus s);

class nats_link {
public:
    static result<std::unique_ptr<nats_link>> connect(const nats_options& o);
    ~nats_link();
    nats_link(const nats_link&) = delete;
    nats_link& operator=(const nats_link&) = delete;

    natsConnection* connection() { return nc_; }
    jsCtx* js() { return js_; }
    std::chrono::milliseconds timeout() const { return timeout_; }

    // One request, its reply (or io_error: timeout, no responders, closed).
    result<msg_ptr> request(const std::string& subject, std::string_view body) const;
    // A JetStream API request ("$JS.API...."): the reply's JSON text, or the
    // error it carries as errc::io_error (not_found for 404 / 10059 "stream
    // not found").
    result<std::string> api(const std::string& subject, std::string_view body) const;

    bool connected() const;
    std::uint64_t reconnects() const { return reconnects_.load(); }
    std::uint64_t disconnects() const { return disconnects_.load(); }
    // Called after every reconnect (on a libnats thread). Set before use.
    void on_reconnect(std::function<void()> fn) { on_reconnect_ = std::move(fn); }
    // Closes the connection; later calls fail with errc::closed.
    void close();

private:
    nats_link() = default;
    static void disconnected_cb(natsConnection*, void* self);
    static void reconnected_cb(natsConnection*, void* self);
    // libnats' last callback of a connection: after it none uses this link.
    static void closed_cb(natsConnection*, void* self);

    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    std::chrono::milliseconds timeout_{5000};
    std::atomic<std::uint64_t> reconnects_{0}, disconnects_{0};
    std::atomic<bool> closing_{false};
    std::function<void()> on_reconnect_;
    std::once_flag closed_;
    std::mutex closed_mu_;
    std::condition_variable closed_cv_;
    bool closed_cb_ran_ = false;
};

}  // namespace litemcp::store::jetstream
