// Private to the worker hub's files (worker_hub*.cpp, registrations.cpp,
// call_queue*.cpp): its state -- the workers, their instances, open calls
// and timers -- and small helpers. Everything here is guarded by
// worker_hub::mu_ (see worker_hub.h).
#pragma once

#include <deque>
#include <map>
#include <optional>

#include "server/json/json_text.h"
#include "server/streams/topic_subscription.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

namespace worker_hub_detail {

inline constexpr std::string_view worker_prefix = "worker/";
inline constexpr std::string_view call_prefix = "wcall/";
// A worker's status: its counters and since when it is offline.
inline constexpr std::string_view status_prefix = "wstatus/";
// How long a changed counter waits before it is saved: a kill -9 loses at
// most this much of the counts.
inline constexpr std::chrono::seconds status_flush{1};
inline constexpr std::size_t recently_done_max = 10'000;

inline std::uint64_t wall_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

inline worker_answer error(worker_outcome outcome, std::string message) { return {outcome, json{{"error", std::move(message)}}}; }

inline std::string request_key(const call_origin& origin, const json& request_id) {
    return origin.key() + "\n" + to_json(request_id);
}

}  // namespace worker_hub_detail

// ---- state -------------------------------------------------------------------

struct hub_instance {
    std::string id;
    std::shared_ptr<instance_channel> channel;
    unsigned busy = 0;
    bool attached = false;  // told so: calls are delivered to it from then on
};

// Another server's instances of a worker, as its last beat said (hub_peers.h).
struct peer_instances {
    std::size_t count = 0;
    std::chrono::steady_clock::time_point seen;
    bool full = false;  // it answered "busy": no delivery until it says w-free or beats again
};

// A call of another server's delivered to an instance here (w-deliver):
// its slot, until the owner's w-release or the call's deadline.
struct held_for_peer {
    std::string worker;
    std::weak_ptr<hub_instance> instance;
    std::uint64_t generation = 0;  // its expiry timer's
    std::string owner;             // the server that delivered it (w-ask goes there)
    std::uint64_t deadline_ms = 0; // the call's deadline, wall clock
};

struct hub_worker {
    using clock = std::chrono::steady_clock;

    std::string name, id, digest;
    std::string owner;  // the principal that registered it (authentication on)
    json definition;  // the registration body
    std::uint64_t created_ms = 0;
    unsigned concurrency = 1;
    bool queue_while_offline = false;
    std::chrono::milliseconds invisibility{}, call_timeout{};
    unsigned max_attempts = 3;
    std::vector<std::shared_ptr<const tool>> tools;
    std::string topic, consumer, dlq;
    // Wakes the hub when the topic has calls to read (null until the hub
    // starts, or when the store would not take the consumer: logged).
    std::unique_ptr<topic_subscription> subscription;

    std::uint64_t next = 0;          // next topic offset to read
    // The embedded store: every record of the topic is this hub's own
    // (submit), so once the topic was read to its end submit hands its calls
    // over itself (call_queue::queued), and the hub reads again only past a
    // call the ready list had no room for (read_to_end is false again).
    bool read_to_end = false;        // a read reached the topic's end since next was set
    // Calls submit appended past next, by offset, waiting for the calls
    // before them (appends of one batch return in any order): a handful.
    std::map<std::uint64_t, std::string> arrived;
    std::uint64_t saved_cursor = 0;  // the broker-held cursor: never past an open call
    bool cursor_pending = false;     // a save of the cursor is scheduled (call_queue::cursor_moved)
    bool reread_pending = false;     // a failed read of the topic is tried again (call_queue::pump)
    std::set<std::uint64_t> pinned;  // topic offsets of open calls already read
    std::deque<std::string> ready;   // calls waiting for an instance, in order
    std::vector<std::shared_ptr<hub_instance>> instances;
    // Instances on the other servers sharing the store, by server.
    std::map<std::string, peer_instances> elsewhere;
    std::size_t asking = 0;      // w-deliver requests waiting for a reply
    std::size_t next_peer = 0;   // round robin over elsewhere
    std::size_t open = 0;            // open calls (queued, ready, delivered, waiting)
    bool online = true;
    std::uint64_t presence = 0;      // bumps when an instance attaches: stale offline checks do nothing
    clock::time_point suspended_until{};
    std::uint64_t delivered = 0, redelivered = 0, dead_lettered = 0, answered = 0;
    // A shared store: the counters as read at start, and as added to the
    // record since (servers sharing a store each add what they counted).
    std::uint64_t loaded_delivered = 0, loaded_redelivered = 0, loaded_dead_lettered = 0, loaded_answered = 0;
    std::uint64_t saved_delivered = 0, saved_redelivered = 0, saved_dead_lettered = 0, saved_answered = 0;
    // The addition being saved: its number among this server's saves, so
    // one whose answer was lost is not added twice when tried again.
    std::uint64_t save_number = 0;
    std::optional<json> save_in_flight;  // the amounts added, until the store confirms
    bool status_pending = false;  // a counter changed since saved; a save is scheduled
    std::uint64_t offline_since_ms = 0;  // wall clock; 0: online (or never seen offline)

    json status() const {
        return json{{"delivered", delivered}, {"redelivered", redelivered}, {"answered", answered},
                    {"deadLettered", dead_lettered}, {"offlineSinceMs", offline_since_ms}};
    }
    // What this server counted and has not added to the record.
    json unsaved() const {
        return json{{"delivered", delivered - saved_delivered},
                    {"redelivered", redelivered - saved_redelivered},
                    {"answered", answered - saved_answered},
                    {"deadLettered", dead_lettered - saved_dead_lettered}};
    }
    bool has_unsaved() const {
        return delivered != saved_delivered || redelivered != saved_redelivered || answered != saved_answered ||
               dead_lettered != saved_dead_lettered;
    }
    // The amounts d are in the record now.
    void saved(const json& d) {
        saved_delivered += d.value("delivered", std::uint64_t{0});
        saved_redelivered += d.value("redelivered", std::uint64_t{0});
        saved_answered += d.value("answered", std::uint64_t{0});
        saved_dead_lettered += d.value("deadLettered", std::uint64_t{0});
    }
    // A stored status (j) plus what this server counted since its last save.
    json status_on(const json& j) const {
        auto n = [&](const char* key) { return j.is_object() ? j.value(key, std::uint64_t{0}) : std::uint64_t{0}; };
        return json{{"delivered", n("delivered") + (delivered - saved_delivered)},
                    {"redelivered", n("redelivered") + (redelivered - saved_redelivered)},
                    {"answered", n("answered") + (answered - saved_answered)},
                    {"deadLettered", n("deadLettered") + (dead_lettered - saved_dead_lettered)},
                    {"offlineSinceMs", offline_since_ms}};
    }
    // At start: the counters on record.
    void read_status(const json& j) {
        if (!j.is_object()) return;
        loaded_delivered = saved_delivered = delivered = j.value("delivered", std::uint64_t{0});
        loaded_redelivered = saved_redelivered = redelivered = j.value("redelivered", std::uint64_t{0});
        loaded_answered = saved_answered = answered = j.value("answered", std::uint64_t{0});
        loaded_dead_lettered = saved_dead_lettered = dead_lettered = j.value("deadLettered", std::uint64_t{0});
        offline_since_ms = j.value("offlineSinceMs", std::uint64_t{0});
    }

    // A registration made again: the queue, its cursor, the instances and
    // the counters of the one it replaces carry over.
    void take_over(hub_worker& old) {
        subscription = std::move(old.subscription);
        next = old.next;
        read_to_end = old.read_to_end;
        arrived = std::move(old.arrived);
        saved_cursor = old.saved_cursor;
        cursor_pending = old.cursor_pending;
        reread_pending = old.reread_pending;
        pinned = std::move(old.pinned);
        ready = std::move(old.ready);
        instances = std::move(old.instances);
        elsewhere = std::move(old.elsewhere);
        asking = old.asking;
        open = old.open;
        online = old.online;
        presence = old.presence;
        suspended_until = old.suspended_until;
        delivered = old.delivered;
        redelivered = old.redelivered;
        dead_lettered = old.dead_lettered;
        answered = old.answered;
        saved_delivered = old.saved_delivered;
        saved_redelivered = old.saved_redelivered;
        saved_dead_lettered = old.saved_dead_lettered;
        saved_answered = old.saved_answered;
        loaded_delivered = old.loaded_delivered;
        loaded_redelivered = old.loaded_redelivered;
        loaded_dead_lettered = old.loaded_dead_lettered;
        loaded_answered = old.loaded_answered;
        save_number = old.save_number;
        save_in_flight = std::move(old.save_in_flight);
        status_pending = old.status_pending;
        offline_since_ms = old.offline_since_ms;
    }
};

struct worker_call {
    using clock = std::chrono::steady_clock;

    enum class phase { queued, ready, delivered, waiting };
    std::string id, worker;
    call_ticket ticket;
    json params;
    std::uint64_t deadline_ms = 0;  // wall clock, told to the worker
    clock::time_point deadline;
    unsigned attempts = 0;          // deliveries so far
    std::optional<std::uint64_t> offset;  // its record on the worker's topic, once read
    phase state = phase::queued;
    std::weak_ptr<hub_instance> holder;  // delivered to
    std::weak_ptr<hub_instance> prefer;  // deliver to this one when it has room (it held the call for a server that stopped)
    std::string holder_node;             // delivered through another server (w-deliver): its node
    // Too large to hand to another server (the store refused the w-deliver):
    // only an instance of this server's takes it.
    bool stays_here = false;
    std::uint64_t generation = 0;   // bumps at each change of phase: stale timers do nothing
    clock::time_point invisible_until;
    std::string last_error;
    bool counted = false;  // in its worker's open count

    // Its durable state, "wcall/<id>" (call_queue::read_call reads it back);
    // node: the server that owns the call now (hub_peers::node). Written
    // field by field: it is saved with every delivery, and building a JSON
    // value for it copied the parameters once more.
    std::string record_text(const std::string& node) const {
        std::string out;
        json_members r(out);
        r.number("attempts", attempts).number("deadlineMs", deadline_ms).string("id", id);
        r.string("method", ticket.method).string("node", node).value("params", params);
        if (ticket.progress_token) r.value("progressToken", *ticket.progress_token);
        r.value("requestId", ticket.request_id);
        ticket.origin.write_to(r);
        r.string("worker", worker).end();
        return out;
    }
};

struct hub_timer {
    // reply: a hub_peers request's wait (generation: its q); beat: this
    // server's w-beat; peer_slot: a held_for_peer's deadline (call: its id).
    enum class kind { invisibility, retry, deadline, resume, offline, status, cursor, reread, expiry, reply, beat, peer_slot };
    kind what;
    std::string worker, call;
    std::uint64_t generation = 0;
};

}  // namespace litemcp::server
