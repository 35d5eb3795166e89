// What the worker hubs of the servers sharing a store (store::shared(), the
// JetStream engine) say to each other (docs/cluster.md, "Workers across
// servers"), and the request/reply they build on the store's signals.
//
// A call belongs to the hub of the server its client asked (its owner): the
// owner keeps its timers, retries, dead letters and answer. An instance
// belongs to the hub of the server its stream is attached to. So a call
// travels to an instance elsewhere, and a worker's answer that reached
// another server travels to the owner:
//
//   w-changed  name                        the registration changed: read it again
//   w-beat     {n, w: {name: instances}}   every beat_interval from every server: it runs,
//                                          with these instances
//   w-deliver  {n, q, to, w, c, e}         to `to`: write call event e to an instance
//                                          with a free slot; reply "ok", "busy" or "gone"
//   w-release  {to, w, c, cancel?}         to `to`: the call's slot is free (with
//                                          cancel: tell the instance to stop first)
//   w-free     {w}                         a full instance of w has a free slot again
//   w-answer   {n, q, w, c, a, b}          a worker's answer to call c: the owner applies it
//                                          and replies {o: outcome, b: body}
//   w-suspend  {w, ms}                     the worker asked to pause its deliveries
//   w-reply    {to, q, r}                  the reply to request q of server `to`
//   w-node     node                        a question: "1" from that server, if it runs
//
// Each message but w-node goes to the hub's thread (worker_hub::on_signal),
// which is where replies and their timeouts run too. Signals are at most
// once: a lost w-deliver or reply is a timeout, a lost w-release frees the
// slot at the call's deadline, a lost beat is made up by the next.
//
// Threading: request(), replied(), expired(), heard() and silent() are
// called with the hub's mutex held, on the hub's thread or the worker API's;
// send(), alive() and node() anywhere. Lifetime: the hub's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/rpc/json_rpc.h"
#include "store/store.h"

namespace litemcp::server {

class hub_peers {
public:
    using clock = std::chrono::steady_clock;
    using effects = std::vector<std::function<void()>>;
    // A reply (nullopt: none within the wait); runs with the hub's mutex held.
    using reply_fn = std::function<void(std::optional<json> reply, effects& fx)>;

    // How often a server with instances says so, and how long the others
    // count on them after its last word.
    static constexpr std::chrono::milliseconds beat_interval{2'000};
    static constexpr std::chrono::milliseconds beat_expiry{6'500};
    // How long an owner waits for "ok" after w-deliver, and a server
    // forwarding a worker's answer for the owner's reply.
    static constexpr std::chrono::milliseconds deliver_wait{1'000};
    static constexpr std::chrono::milliseconds answer_wait{2'000};

    struct parts {
        store::store& st;
        // Calls expired(q) on the hub's thread at `at`.
        std::function<void(clock::time_point at, std::uint64_t q)> schedule;
    };
    explicit hub_peers(parts p);

    // This server's name among the others (random, one per process).
    const std::string& node() const { return node_; }
    bool shared() const { return p_.st.shared(); }

    void send(std::string_view channel, const json& payload);
    // Sends payload (with "n" and "q" added) and waits for the w-reply that
    // names q; done runs exactly once. False (done never runs) when no other
    // server can share the store.
    bool request(std::string_view channel, json payload, std::chrono::milliseconds wait, reply_fn done);
    // Replies to a request received from another server.
    void reply(const json& request, json answer);
    // A w-reply arrived (on the hub's thread).
    void replied(const json& msg, effects& fx);
    // A request's wait is over.
    void expired(std::uint64_t q, effects& fx);
    // Whether server `node` runs (the w-node question; blocking up to wait).
    bool alive(const std::string& node, std::chrono::milliseconds wait) const;
    // A beat came from that server (every running server beats).
    void heard(const std::string& node) { heard_[node] = clock::now(); }
    // The servers heard before but not for beat_expiry: stopped (or cut
    // off). Each is reported once.
    std::set<std::string> silent();

private:
    parts p_;
    std::string node_;
    std::uint64_t next_q_ = 1;
    std::map<std::uint64_t, reply_fn> waiting_;
    std::map<std::string, clock::time_point> heard_;  // server -> its last beat
};

}  // namespace litemcp::server
