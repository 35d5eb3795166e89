// The open worker calls (docs/workers.md): each call's durable state under
// "wcall/<id>", the index from the MCP request that waits for it, reading a
// worker's topic (its queue) from the broker-held cursor, delivery to the
// least busy instance, invisibility, retries with backoff, dead letters,
// deadlines, and what a worker's answers do to a call. A finished call goes
// to the call_sink, as an effect run after the hub's mutex is released.
//
// A call is opened in two steps around the append to the worker's topic
// (the append is not made under the hub's mutex): open() files it in
// memory, queued() records its state -- the commit point -- or forget()
// drops it when the append failed.
//
// Threading: not thread-safe by itself: the hub calls it with its mutex
// held; the timers it schedules come back through on_timer() on the hub's
// thread. Lifetime: the hub's; the calls live in the store and survive
// restarts (load()).
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/workers/hub_peers.h"
#include "server/workers/worker_hub.h"
#include "server/workers/worker_hub_state.h"

namespace litemcp::server {

class call_queue {
public:
    using clock = std::chrono::steady_clock;
    using effects = std::vector<std::function<void()>>;  // run after the hub's mutex is released
    struct parts {
        store::store& st;
        call_sink& sink;
        const worker_options& options;
        registrations& workers;
        hub_peers& peers;  // the other servers' hubs (a shared store)
        // A worker's queue has work to do (a slot freed, a call to deliver).
        std::function<void(const std::string& worker)> wake;
        // Calls on_timer(t) on the hub's thread at `at`.
        std::function<void(clock::time_point at, hub_timer t)> schedule;
    };
    explicit call_queue(parts p) : p_(std::move(p)) {}

    // Reads the open calls from the store (at start); restored: their ids.
    // A call whose worker is gone, or whose record is unreadable, is dropped.
    // On a shared store only the calls no running server owns are taken
    // (orphaned(node): true when that server does not answer), each by a
    // compare-and-set, so one server takes it.
    store::result<void> load(std::vector<std::string>& restored,
                             const std::function<bool(const std::string& node)>& orphaned);
    // The records (key, text) of the open calls owned by these servers (a
    // shared store; safe without the hub's mutex: it reads only the store).
    store::result<std::vector<std::pair<std::string, std::string>>> records_of(const std::set<std::string>& nodes) const;
    // Takes one of them: a compare-and-set on its record, then it is this
    // server's, ready to deliver. Its id; nullopt when another server took
    // it first, or its worker is gone.
    std::optional<std::string> take(const std::string& key, const std::string& record);
    std::size_t size() const { return calls_.size(); }
    worker_call* find(const std::string& id);

    // A new call for w, in memory: its id and the text of the record to
    // append to w's topic; an error message when w cannot take it (offline,
    // full).
    std::expected<std::pair<std::string, std::string>, std::string> open(hub_worker& w, call_ticket t, json params);
    // The topic record of call id is written at offset (on the topic of
    // worker's registration `registration`, hub_worker::id): counts the
    // call and records its state. On the embedded store, read to its end,
    // the call is taken without the hub reading it back, in the topic's
    // order (it waits for the calls appended before it), ready at once and
    // delivered at once when nothing waits ahead of it and an instance here
    // has room (one state write, the delivery's).
    void queued(const std::string& worker, const std::string& registration, const std::string& id,
                std::uint64_t offset, effects& fx);
    // The topic record could not be written: the call never was. False when
    // it finished meanwhile (its answer was given).
    bool forget(const std::string& id);

    // Files an open call under another origin (see worker_hub::adopt).
    std::optional<std::string> adopt(const call_origin& from, const json& request_id, const call_origin& to,
                                     const json& new_request_id, std::shared_ptr<call> live);
    // notifications/cancelled: the holder is told so (notifications/cancelled), nobody gets a response.
    void cancel(const call_origin& origin, const json& request_id, effects& fx);

    // Reads new calls from w's topic and hands ready calls to free instances.
    void pump(hub_worker& w, effects& fx);
    // A worker's answer to one of its calls: action is progress, log,
    // result, failure, suspend or extend (see worker_hub::answer).
    worker_answer answer(hub_worker& w, const std::string& call_id, const std::string& action, const json& body,
                         effects& fx);
    // Every open call of the worker ends with a tool error saying why.
    void fail_all(const std::string& worker, const std::string& message, effects& fx);
    // Pauses the worker's deliveries here for ms (a suspend answer, here or
    // on another server).
    void suspend(hub_worker& w, std::chrono::milliseconds ms);
    // An invisibility, retry or deadline timer has come due.
    void on_timer(const hub_timer& t, effects& fx);

    // Saves w's cursor now if it moved (a cursor timer, the hub's stop).
    void save_cursor(hub_worker& w);

    // Calls of the worker delivered now.
    std::size_t in_flight(const std::string& worker) const;

    // ---- another server's hub (hub_peers.h) ----
    // w-deliver: writes a call of another server's to a free instance of w.
    void deliver_for_peer(hub_worker& w, const json& request);
    // w-release: the owner is done with a call an instance here holds.
    void release_for_peer(const std::string& call_id, const std::string& cancel_reason);
    // The slot call_id holds here for another server, if any.
    const held_for_peer* held_for(const std::string& call_id) const {
        auto it = held_.find(call_id);
        return it == held_.end() ? nullptr : &it->second;
    }
    // A held call's deadline came without a w-release.
    void peer_slot_expired(const hub_timer& t);
    // Whether any call here is open under that id (w-answer: this hub owns it).
    bool owns(const std::string& call_id) const { return calls_.contains(call_id); }
    bool recently_done(const std::string& call_id) const { return recently_done_.contains(call_id); }

private:
    static constexpr std::size_t max_ready = 4096;  // calls read ahead of the instances, per worker
    // The instance here to deliver w's next call to: the least busy with
    // room; null when none has.
    static std::shared_ptr<hub_instance> free_instance(const hub_worker& w);
    // Takes the calls of w.arrived that are next in the topic (queued()).
    void take_arrived(hub_worker& w, effects& fx);
    // Where w's consumer cursor may be saved: before the first record not
    // read or whose call is open.
    static std::uint64_t cursor_of(const hub_worker& w);
    void deliver(hub_worker& w, worker_call& c, const std::shared_ptr<hub_instance>& to, effects& fx);
    // Hands a ready call to another server with instances of w (w-deliver);
    // false when none can take one now. A call too large to pass is marked
    // stays_here instead (true: the caller moves on to the next call).
    bool deliver_elsewhere(hub_worker& w, worker_call& c);
    // That server's reply: "ok" (delivered), or the call is ready again.
    void delivered_elsewhere(const std::string& call_id, std::uint64_t generation, const std::string& node,
                             const std::optional<json>& reply, effects& fx);
    // An instance's slot is free: another server may deliver to it again.
    void slot_freed(hub_worker& w, hub_instance& i);
    void retry_or_dead_letter(worker_call& c, const std::string& why, std::optional<std::chrono::milliseconds> after_ms,
                              effects& fx);
    void complete(worker_call& c, std::optional<json> response, effects& fx);
    void fail(worker_call& c, const std::string& message, effects& fx);
    void release_slot(worker_call& c);
    // Tells the instance holding a delivered call to stop working on it.
    void send_cancel(worker_call& c, const std::string& reason);
    // w's cursor may have moved: saved within status_flush, or at once when
    // it moved cursor_batch records (a lagging cursor is safe: the records
    // read again after a restart name calls that are finished or restored).
    void cursor_moved(hub_worker& w);
    // A counter of w changed: its save is scheduled (one per status_flush).
    void counted(hub_worker& w);
    void save(const worker_call& c, std::string_view when);
    static std::expected<std::unique_ptr<worker_call>, std::string> read_call(const json& record);
    // The server a call's record names as its owner.
    static std::string owner_of(const std::string& record);
    // Calls fn for every open call's record in the store, page by page.
    store::result<void> each_record(const std::function<void(const std::string& key, const std::string& record)>& fn) const;
    // Files a call read from the store as open here; its id.
    std::string file(std::unique_ptr<worker_call> c, hub_worker& w);
    // The MCP request that delivers c (worker_messages.h).
    static json request_for(const worker_call& c);

    parts p_;
    std::map<std::string, std::unique_ptr<worker_call>> calls_;
    std::map<std::string, std::string> by_request_;  // origin + '\n' + request id -> call id
    std::set<std::string> recently_done_;             // answered call ids, for idempotent answers
    std::deque<std::string> done_order_;
    std::map<std::string, held_for_peer> held_;  // call id -> its slot here, for another server
    std::uint64_t held_generation_ = 0;
};

}  // namespace litemcp::server
