// What upstreams.cpp (registration) and upstream_links.cpp (each
// upstream's connection) share inside the upstreams class: the gate through
// which other threads' callbacks enter, and one upstream's link.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/upstreams/upstreams.h"

namespace litemcp::server {

// The delay before the first try to reach an upstream again.
inline constexpr std::chrono::milliseconds first_backoff{1'000};

// Where callbacks from other threads enter: closed by stop(), after which
// nothing reaches this object.
struct upstreams::gate {
    std::mutex mu;
    upstreams* self = nullptr;
    // Runs f on the upstreams thread; false once stopped.
    bool post(std::function<void(upstreams&)> f) {
        std::lock_guard lock(mu);
        if (!self) return false;
        return self->serial_.post([s = self, f = std::move(f)] { f(*s); });
    }
    // Without the mutex held while the hub takes the report (it may run
    // inline, see upstreams::report); stop() waits for those under way.
    void report(const std::string& name, const std::string& call_id, const std::string& action, json body) {
        upstreams* s = nullptr;
        {
            std::lock_guard lock(mu);
            if (!self) return;
            s = self;
            ++reporting;
        }
        s->report(name, call_id, action, std::move(body));
        std::lock_guard lock(mu);
        if (--reporting == 0) idle.notify_all();
    }
    // Closes the gate; returns once no report is under way.
    void close() {
        std::unique_lock lock(mu);
        self = nullptr;
        idle.wait(lock, [&] { return reporting == 0; });
    }
    std::size_t reporting = 0;
    std::condition_variable idle;
};

// One upstream as this server reaches it. On this class's thread only.
struct upstreams::link {
    upstream_definition def;
    json block;  // the registration's upstream block, as recorded
    // Set anew (from one counter of all links) with every try to connect
    // and every loss: callbacks of an older one find it changed.
    std::uint64_t generation = 0;
    std::uint64_t ping_chain = 0;  // bumps when a ping is asked for at once: the older chain stops
    std::shared_ptr<mcp_client> client;
    json init;  // the server's InitializeResult: its capabilities say which lists it has
    std::shared_ptr<mcp_client::exchange> listening;  // the server's own stream
    std::shared_ptr<upstream_instance> instance;
    std::chrono::milliseconds backoff{1'000};
    bool up = false;
    bool relisting = false, relist_again = false;  // one relist in flight at a time

    ~link() { stop(); }
    // Ends what this link has open: its stream, its instance, its session.
    void stop() {
        if (listening) listening->cancel();
        listening.reset();
        if (instance) instance->close();
        instance.reset();
        if (client) client->close();
        client.reset();
    }
};

}  // namespace litemcp::server
