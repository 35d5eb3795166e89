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
//   w-ask      {n, q, to, w, c, m, p}      an instance here asks call c's client (sampling,
//                                          elicitation, roots): the owner asks and replies
//                                          {result} or {error}
//   w-round    {n, q, to, w, t}            a client's next round t answers a request parked
//                                          on `to`: it resumes the round there and replies
//                                          with the round's outcome, sending the messages
//                                          for the client's call before as w-emit
//   w-emit     {to, q, m}                  message m for the call of request q of `to`
//   w-cancel   {to, o, id}                 the client of round o (its "via"), request id,
//                                          went: cancel its worker call
//   w-reply    {to, q, r}                  the reply to request q of server `to`
//   w-node     node                        a question: "1" from that server, if it runs
//
// Each message but w-node goes to the hub's thread (worker_hub::on_signal),
// which is where replies and their timeouts run too. Signals are at most
// once: a lost w-deliver or reply is a timeout, a lost w-release frees the
// slot at the call's deadline, a lost beat is made up by the next. A
// request to a server whose beats stop ends at once, without a reply.
//
// Threading: request(), replied(), emitted(), expired(), heard(), knows(),
// abandon() and silent() are called with the hub's mutex held, on the hub's
// thread or the worker API's; send(), reply(), emit(), alive() and node()
// anywhere. Lifetime: shared by the hub and the replies still to be sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
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
    // A w-emit for a request still waiting; runs with the hub's mutex held.
    using message_fn = std::function<void(json message, effects& fx)>;

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
    // names q; done runs exactly once. on_message, if given, gets each
    // w-emit for q before. An error (done never runs) when it could not be
    // sent: no other server can share the store, or the store refused it
    // (larger than the NATS servers' max_payload).
    std::expected<void, std::string> request(std::string_view channel, json payload, std::chrono::milliseconds wait,
                                             reply_fn done, message_fn on_message = {});
    // Replies to a request received from another server (an answer the
    // store refuses, too large, is replaced by a JSON-RPC error,
    // {"error": ...}, saying so).
    void reply(const json& request, json answer);
    // Sends a w-emit for a request received from another server.
    void emit(const json& request, json message);
    // A w-reply / w-emit arrived (on the hub's thread).
    void replied(const json& msg, effects& fx);
    void emitted(const json& msg, effects& fx);
    // A request's wait is over.
    void expired(std::uint64_t q, effects& fx);
    // Whether server `node` runs (the w-node question; blocking up to wait).
    bool alive(const std::string& node, std::chrono::milliseconds wait) const;
    // The same question without blocking: done(runs) on an engine thread,
    // or at once.
    void probe(const std::string& node, std::chrono::milliseconds wait, std::function<void(bool runs)> done) const;
    // A beat came from that server (every running server beats).
    void heard(const std::string& node) { heard_[node] = clock::now(); }
    // Whether that server beat within beat_expiry.
    bool knows(const std::string& node) const;
    // The servers heard before but not for beat_expiry: stopped (or cut
    // off). Each is reported once.
    std::set<std::string> silent();
    // Ends the requests waiting for these servers' replies (silent()'s).
    void abandon(const std::set<std::string>& nodes, effects& fx);

private:
    struct pending {
        std::string to;  // the server addressed (empty: any)
        reply_fn done;
        message_fn on_message;
    };
    parts p_;
    std::string node_;
    std::uint64_t next_q_ = 1;
    std::map<std::uint64_t, pending> waiting_;
    std::map<std::string, clock::time_point> heard_;  // server -> its last beat
};

}  // namespace litemcp::server
