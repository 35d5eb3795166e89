// Workers: tool servers that register over HTTP and receive calls through
// their own lite topic mcp.worker/<name> (docs/workers.md).
//
// A call to something a worker serves (tools/call, resources/read,
// prompts/get) is written twice: its state under the key "wcall/<id>" (what
// it asks, which session stream it answers, how often it was delivered) and a
// record on the worker's topic, which is the queue. The hub reads each
// worker's topic from its broker-held cursor and pushes every call to one
// bound instance (an SSE stream), round the least busy. The cursor never
// passes a call that is still open, so after a restart every open call is
// delivered again: at-least-once.
//
// A delivered call is invisible to other instances for its invisibility
// timeout; progress or an explicit extension pushes that out. Without an
// answer it is delivered again (to any instance), after a backoff when the
// worker reported a failure; after maxAttempts it is appended to the
// dead-letter topic mcp.dlq/<name> and the client gets a tool error. A
// worker that has had no instance for the offline grace period is offline:
// its tools, resources and prompts leave the lists, and its calls fail at
// once unless it registered with queueWhileOffline.
//
// The hub holds two parts -- the registrations (registrations.h) and the
// open calls (call_queue.h) -- and owns what they share: the mutex, the
// thread and the timers.
//
// Threading: the public methods are thread-safe (one mutex). Deliveries and
// timers run on the hub's own thread, woken by the store's ready set, by
// answers and by its next deadline -- nothing polls. Store callbacks only
// post to that thread. Lifetime: owned by the server; registrations, queues
// and open calls live in the store and survive restarts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/workers/call_origin.h"
#include "server/rpc/json_rpc.h"
#include "server/rpc/provider.h"
#include "store/store.h"
#include "server/workers/instance_channel.h"

namespace litemcp::server {

struct call;  // call.h
struct hub_worker;  // worker_hub_state.h
struct hub_timer;
class registrations;  // registrations.h
class call_queue;  // call_queue.h
class hub_peers;  // hub_peers.h

struct worker_options {
    std::chrono::milliseconds invisibility{30'000};  // per worker: invisibilityMs. Default: 30 s
    unsigned max_attempts = 3;                       // per worker: maxAttempts. Default: 3
    std::chrono::milliseconds retry_backoff{1'000};  // delay before the 2nd delivery after a failure, doubling. Default: 1 s
    std::chrono::milliseconds call_timeout{300'000}; // per worker: callTimeoutMs. Default: 5 min
    std::chrono::milliseconds offline_grace{10'000}; // no instance for this long: offline. Default: 10 s
    // Offline for this long (wall clock, across restarts): removed, as by
    // the admin API, so a lost credential cannot hold a name for ever.
    // 0: never. Default: 7 days.
    std::chrono::milliseconds offline_expiry{std::chrono::hours(24 * 7)};
    std::size_t max_workers = 1'000;                 // registrations. Default: 1,000
    std::size_t max_instances = 64;                  // bound instances per worker. Default: 64
    std::size_t max_open_calls = 10'000;             // queued + delivered calls per worker. Default: 10,000
    // A server's request to a calling client (sampling, elicitation, roots)
    // holds a thread while the client answers: this many wait at once
    // (--relay-threads; default 16), at most relay_per_client of them for
    // one client -- its principal, or its session without authentication
    // (--relay-per-client; default 4). Beyond, the server gets a JSON-RPC error.
    unsigned relay_threads = 16;
    std::size_t relay_per_client = 4;
    // Such requests to clients that answer in rounds (2026-07-28, tasks)
    // wait for the client's next round without a thread: this many at
    // once (--max-parked-inputs; default 10,000).
    std::size_t max_parked_inputs = 10'000;
};

// The MCP side of a worker call: who waits for it and where its messages go.
struct call_ticket {
    call_origin origin;
    json request_id;
    std::optional<json> progress_token;
    std::string method;  // tools/call, resources/read or prompts/get
    // The call its messages and answer go through: the request's own while
    // this process runs it, the one restored() made after a restart; null
    // when nobody waits (a requeued dead letter, a 2026-07-28 request
    // after a restart).
    std::shared_ptr<call> live;
};

// Implemented by the server: how the hub reaches the calls' clients.
class call_sink {
public:
    virtual ~call_sink() = default;
    // A notification for the call's stream (progress, a log message at a level).
    virtual void notify(const call_ticket& t, json notification, std::optional<log_level> level) = 0;
    // The call's response (a JSON-RPC result or error); nullopt: cancelled, no response.
    virtual void finish(const call_ticket& t, std::optional<json> response) = 0;
    // A request to the call's client on the worker's behalf (sampling,
    // elicitation, roots: an upstream's). done gets {"result": ...} or
    // {"error": {code, message}}, once, on any thread; never blocks the caller.
    // By default nobody can be asked.
    virtual void ask(const call_ticket&, std::string method, json, std::function<void(json answer)> done) {
        done(json{{"error", {{"code", rpc_code::method_not_found}, {"message", "no client can be asked " + method}}}});
    }
    // After a restart: the call that stands for the one the origin waits
    // for (its stream is open again until finish()); null when nobody waits.
    virtual std::shared_ptr<call> restored(const call_ticket& t) = 0;
    // A client's next round that reached another server and names a
    // request parked here (worker_hub::relay_round): resume it here. emit
    // takes each message for the client's call, finish its outcome (once,
    // on any thread). By default no request is parked anywhere.
    virtual void resume_round(json round, std::function<void(json message)> emit,
                              std::function<void(json outcome)> finish) {
        (void)round;
        (void)emit;
        json error{{"code", rpc_code::invalid_params}, {"message", "no request of a tool server waits for this round"}};
        finish(json{{"response", json{{"error", std::move(error)}}}});
    }
};

// A worker's figures, for /metrics.
struct worker_stats {
    std::string name;
    bool online = false;
    std::size_t instances = 0, open_calls = 0, in_flight = 0;
    std::uint64_t delivered = 0, redelivered = 0, answered = 0, dead_lettered = 0;
};

// What became of a request of the worker API, in the hub's words; the HTTP
// API (worker_api.cpp) turns each into a status.
enum class worker_outcome {
    done,                // the request did what it asked
    registered,          // a new worker was registered (its credential is in the body)
    unknown_worker,      // no worker of that name
    no_credential,       // the worker's credential is needed and was not given
    wrong_credential,    // a credential that is not the worker's
    invalid,             // the request's content cannot be used (a duplicate tool name, a bad schema)
    conflict,            // it clashes with what is: a name or tool of another owner, a call not delivered now
    unknown_call,        // no such call open on the worker
    too_many_instances,  // the worker's instance limit is reached
    full,                // the worker limit is reached
    store_unavailable,   // the store could not record it (retry later)
    internal,            // a fault of litemcp's
    // (new values go last: the number travels between servers, see hub_peers.h)
    upstream_failed,     // an upstream MCP server could not be reached or answered what cannot be used
};

// The hub's answer: the outcome and its JSON body (what was done, or
// {"error": "<what is wrong>"}).
struct worker_answer {
    worker_outcome outcome = worker_outcome::done;
    json body = json::object();
};

class worker_hub {
public:
    worker_hub(store::store& st, registry& reg, call_sink& sink, worker_options o);
    ~worker_hub();
    worker_hub(const worker_hub&) = delete;
    worker_hub& operator=(const worker_hub&) = delete;

    // Loads the registrations and open calls from the store and starts the
    // hub's thread. Registered workers start online for the grace period, so
    // instances reconnecting after a restart do not make their tools flap.
    store::result<void> start();
    void stop();

    // ---- the worker API (credential: the bearer token, if any) ----
    // owner: the authenticated principal registering (empty without
    // authentication); it may register its worker again without the credential.
    worker_answer register_worker(const json& body, std::optional<std::string> credential, const std::string& owner = {});
    worker_answer deregister(const std::string& name, std::optional<std::string> credential);
    // Deregisters without the credential (the admin API): why goes into the
    // tool error of each open call.
    worker_answer remove(const std::string& name, const std::string& why);
    worker_answer describe(const std::string& name, std::optional<std::string> credential);
    // Whether an instance may attach; the answer is an error, or nullopt
    // when attach() may bind its channel (the caller then starts its stream).
    std::optional<worker_answer> check_attach(const std::string& name, std::optional<std::string> credential);
    // The answer refusing this credential for the worker; nullopt when it is the worker's.
    std::optional<worker_answer> check_credential(const std::string& name, std::optional<std::string> credential);
    void attach(const std::string& name, std::string instance, std::shared_ptr<instance_channel> channel);
    // action: progress, log, result, error, failure, suspend, extend, from
    // the instance's message (worker_messages::report_of), body already
    // checked against schemas/worker-<action>.json.
    worker_answer answer(const std::string& name, std::optional<std::string> credential, const std::string& call_id,
                      const std::string& action, const json& body);

    // ---- the hub's own instances (an upstream's MCP client, server/upstreams/) ----
    // answer() for an instance inside this process: no credential.
    worker_answer answer_as_instance(const std::string& name, const std::string& call_id, const std::string& action,
                                     const json& body);
    // Asks the client of one of the worker's calls (see call_sink::ask):
    // of a call open here, or, on a shared store, through the server that
    // owns it (w-ask). done gets an error when no server has it open.
    void ask_client(const std::string& name, const std::string& call_id, std::string method, json params,
                    std::function<void(json answer)> done);
    // Why a registration under this name by this credential or owner would
    // be refused (taken by another, the worker limit); nullopt when it may
    // go ahead. Registering still checks, this only avoids work before it.
    std::optional<worker_answer> may_register(const std::string& name, const std::optional<std::string>& credential,
                                              const std::string& owner);
    // Of these resource URIs, the ones something other than worker `name`
    // serves (an upstream's are renamed instead of refused).
    std::set<std::string> resources_served_elsewhere(const std::string& name, const std::vector<std::string>& uris) const;
    // Registers a worker again with new lists, as its owner would (an
    // upstream that changed its tools).
    worker_answer reregister(const json& body);
    // The registration body of every worker, or of one; nullopt: none by that name.
    std::optional<json> definition(const std::string& name) const;
    std::vector<std::string> names() const;
    const worker_options& options() const { return opts_; }
    // Whether the store is shared with other servers: then an instance's
    // answer may be forwarded to the call's owner, a network round trip.
    bool shared_store() const { return store_.shared(); }
    // f(name) runs, after the hub's mutex is released, whenever a worker is
    // registered, registered again (here or on another server), goes online
    // or offline, or is removed. Set before start().
    void on_registration(std::function<void(const std::string& name)> f);

    // cluster_totals (the admin API): on a shared store, the counters of
    // every server (a store read per worker); otherwise, and for /metrics,
    // on a shared store this server's own counts since it started.
    std::vector<worker_stats> stats(bool cluster_totals = false) const;
    // Queues a dead-lettered call (a record of mcp.dlq/<name>) again, detached
    // from any client -- the client got the failure when it was dead-lettered:
    // for a worker that has been fixed. Returns the new call's id.
    std::expected<std::string, std::string> requeue(const std::string& worker, const json& letter);
    // describe() for the admin API, without the worker's credential.
    std::optional<json> inspect(const std::string& name) const;
    // How many timers the hub holds (for tests: ended calls' are dropped).
    std::size_t timers_pending();

    // ---- the MCP side ----
    // The worker that serves this tool / resource / prompt, if any.
    std::optional<std::string> owner(list_kind kind, const std::string& key) const;
    std::shared_ptr<const tool> worker_tool(const std::string& name) const;
    // Queues a call; an error message when it cannot be queued (offline,
    // queue full): the caller turns it into a tool error.
    std::expected<std::string, std::string> submit(const std::string& worker, call_ticket t, json params);
    // notifications/cancelled: the worker is told so (notifications/cancelled), the client gets no response.
    void cancel(const call_origin& origin, const json& request_id);
    // Files an open call again under another origin (a 2026-07-28 call that
    // became a task: the task, request id the task id), in memory and in
    // its durable state, so that after a restart its answer settles the
    // task. live, when given, is the call its messages and answer go
    // through from now on (a client's next round, parked_inputs.h).
    // Returns the worker serving it, or nullopt when the call is no longer
    // open.
    std::optional<std::string> adopt(const call_origin& from, const json& request_id, const call_origin& to,
                                     const json& new_request_id, std::shared_ptr<call> live = nullptr);

    // ---- the other servers sharing the store (hub_peers.h) ----
    // This server's name among them.
    const std::string& node() const;
    // A client's round (request request_id of origin) for a call of worker
    // `name` that names a request parked on server `node` (w-round): sent
    // there, which resumes it (call_sink::resume_round, the round's "via"
    // naming its origin there); emit gets each message for the client's
    // call, done the outcome, or nullopt when none came within the worker's
    // call timeout (or that server stopped). Both run on the hub's thread,
    // without its mutex. Until done, cancel(origin, request_id) of a
    // 2026-07-28 round cancels it there (w-cancel). Refused (neither runs)
    // when it could not be sent: that server does not run, or the round is
    // too large to pass.
    struct relay_refusal {
        bool holder_gone = false;  // the server holding the request does not run
        std::string why;
    };
    std::expected<void, relay_refusal> relay_round(const std::string& name, const std::string& node,
                                                   const call_origin& origin, const json& request_id, json round,
                                                   std::function<void(json)> emit,
                                                   std::function<void(std::optional<json> outcome)> done);
    // A signal whose channel starts with "w-"; never blocks: what it asks
    // runs on the hub's thread. What it returns answers a question.
    std::optional<std::string> on_signal(std::string_view channel, std::string_view payload);

private:
    using clock = std::chrono::steady_clock;
    using effects = std::vector<std::function<void()>>;  // run after the lock is released

    void run();
    void on_timer(const hub_timer& t, effects& fx);
    void set_online(hub_worker& w, bool online, effects& fx);
    // Removes a worker; with offline_presence, only when it is still
    // offline since that presence (its expiry).
    worker_answer drop(const std::string& name, const std::string& why, std::optional<std::uint64_t> offline_presence);
    void schedule(clock::time_point at, hub_timer t);
    // Drops the timers of calls that have ended, once the timers have
    // doubled since the last pass (with mu_ held).
    void sweep_timers();
    void wake(const std::string& worker_name);
    // Runs fn on the hub's thread with mu_ held.
    void post(std::function<void(effects&)> fn);
    // A message from another server's hub, on the hub's thread.
    void from_peer(const std::string& channel, json msg, effects& fx);
    // w-ask: an instance on another server asks the client of a call owned here.
    void asked_by_peer(json msg, effects& fx);
    // Whether server `node` runs: heard within beat_expiry, or answering
    // the w-node question within 500 ms (without mu_).
    bool reachable(const std::string& node) const;
    // Tells the others which instances this server has (the beat); beat_soon
    // does it at once (with mu_ held), after an instance came or went.
    void beat();
    void beat_soon();
    // Whether w has an instance here or on another server.
    bool present(hub_worker& w) const;
    // Gives each restored call (ids) the object its answer goes through.
    void restore(const std::vector<std::string>& ids);
    // Takes the open calls of servers whose beats stopped (on the hub's
    // thread, without mu_).
    void take_over(const std::set<std::string>& nodes);
    // A worker whose registration another server changed: read it again.
    void reload(const std::string& name, effects& fx);
    // An answer for a call this hub does not hold: to the server that does.
    worker_answer forward_answer(const std::string& name, const std::string& call_id, const std::string& action,
                                 const json& body);

    store::store& store_;
    call_sink& sink_;
    worker_options opts_;

    mutable std::mutex mu_;  // guards the registrations and the calls
    std::shared_ptr<hub_peers> peers_;  // shared with replies still to be sent (w-ask)
    std::unique_ptr<registrations> regs_;
    std::unique_ptr<call_queue> calls_;
    std::uint64_t beat_generation_ = 0;  // bumps when a beat is sent early: the periodic one follows it
    // Rounds resumed on another server (relay_round), until their outcome
    // comes: origin key + '\n' + request id -> {that server, the round's origin id there}.
    std::map<std::string, std::pair<std::string, std::string>> relayed_;

    std::mutex wake_mu_;  // taken under mu_, never the other way: the store's threads take it
    std::condition_variable wake_cv_;
    std::multimap<clock::time_point, hub_timer> timers_;
    std::set<std::string> dirty_;
    std::vector<std::function<void(effects&)>> jobs_;
    bool timers_changed_ = false;
    std::size_t sweep_timers_at_ = min_sweep;
    static constexpr std::size_t min_sweep = 4096;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace litemcp::server
