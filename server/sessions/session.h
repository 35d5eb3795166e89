// Legacy MCP sessions: the record kept in the store (so a restarted server
// still knows every session) and the in-memory state of sessions in use.
//
// A session S owns the lite topic mcp.session/S: every server-to-client
// message of S, every client request it received and every client answer to
// a server request is a record there (see stream_feeder.h for the layout).
// Expiry is the store's: the topic's idle TTL is the session TTL, a stream
// attached to it is a bound consumer, so a session never expires under an
// open stream; when the store reclaims the topic, the record goes too.
//
// Threading: session_table is thread-safe; a session_state's mutable parts
// are guarded by its own mutex. Lifetime: states are shared_ptrs, loaded on
// demand and dropped from memory when idle (the record stays).
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "server/rpc/json_rpc.h"
#include "server/rpc/provider.h"
#include "server/sessions/session_counts.h"
#include "store/store.h"

namespace litemcp::server {

class stream_feeder;

// A server-to-client request waiting for the client's answer.
struct pending_reply {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<json> answer;  // the client's whole response message

    // Wakes the waiter to re-check its condition (a cancel flag set
    // elsewhere): taking the mutex first means it cannot miss the wake.
    void wake() {
        { std::lock_guard lock(mu); }
        cv.notify_all();
    }
};

struct session_state {
    std::string id;
    std::string topic;    // mcp.session/<id>
    std::string version;  // negotiated protocol version
    json client_capabilities = json::object();
    json client_info = json::object();
    std::uint64_t created_ms = 0;
    std::string principal;  // who created it (authentication on); empty otherwise

    std::mutex mu;
    log_level level = log_level::info;
    std::set<std::string> subscriptions;  // resource URIs
    bool initialized = false;             // notifications/initialized received
    std::atomic<bool> ended{false};  // read without the mutex by waiting handlers
    // Requests (ids, as in running) that a server stop cancelled: they end
    // with an error (interrupted_request.h), not silently as a client's
    // cancellation does.
    std::set<std::string> interrupted;
    // Taken while a resume checks for and records an interrupted request's
    // answer (answer_interrupted); never with mu held.
    std::mutex closing_mu;
    std::set<std::uint64_t> live_streams;                    // request offsets still executing here
    std::map<std::string, std::shared_ptr<std::atomic<bool>>> running;  // request id (dumped) -> cancelled flag
    std::map<std::string, std::shared_ptr<pending_reply>> waiting;      // server request id (dumped)
    std::shared_ptr<stream_feeder> get_stream;               // the standalone GET stream, if attached
    std::uint64_t get_since_ms = 0;                          // when it arrived (wall clock): the newest GET anywhere wins
    // GETs of the standalone stream in arrival order: the newest one is the
    // stream, even when an older GET's handler installs its feeder later.
    std::uint64_t get_arrivals = 0, get_installed = 0;
    std::atomic<std::uint64_t> next_request_id{1};           // for server-to-client requests
    std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();

    bool is_live(std::uint64_t stream) {
        std::lock_guard lock(mu);
        return live_streams.contains(stream);
    }
};

// Cancels the request running here under that id (its JSON text); false
// when none runs here.
bool cancel_running(session_state& s, const std::string& id_key);
// Hands a client's answer (a whole response message) to the handler waiting
// for it here; false when none waits here.
bool deliver_answer(session_state& s, json answer);

enum class lookup_outcome { found, unknown };

// Why create() made no session.
struct create_refusal {
    enum class reason { server_full, principal_full, store_error } why;
    std::string message;
};

class session_table {
public:
    // max_per_principal bounds the sessions of each authenticated principal
    // (0: no bound); sessions without a principal count only toward max_sessions.
    // recount_every: how often a shared store's session records are counted
    // again (session_counts.h).
    session_table(store::store& s, std::uint64_t max_sessions, std::uint64_t max_per_principal = 0,
                  std::chrono::milliseconds recount_every = std::chrono::minutes(1));

    // Creates and persists a session owned by principal (empty: nobody).
    std::expected<std::shared_ptr<session_state>, create_refusal> create(std::string version, json capabilities,
                                                                         json client_info, std::string principal = {});
    // The session, loaded from the store when not in memory; nullptr when it
    // does not exist (never created, ended, or expired); an error when the
    // store could not say (a shared store unreachable for a moment): that is
    // not "no session", and the client should hear the difference.
    store::result<std::shared_ptr<session_state>> find(const std::string& id);
    // Persists what can change (log level, subscriptions).
    void save(session_state& s);
    // Ends a session: the record, its topic and its streams.
    void end(const std::shared_ptr<session_state>& s);
    // The store reclaimed an idle session's topic.
    void expired(std::string_view topic);
    // What another server sharing the store did (store::signal; the store's
    // record and topic are already as it left them): it ended the session,
    // so its streams and requests here end too; or it changed what the
    // record keeps (log level, subscriptions), which is read again.
    void ended_elsewhere(const std::string& id);
    void changed_elsewhere(const std::string& id);
    // The session if it is in memory here (no store read); nullptr otherwise.
    std::shared_ptr<session_state> loaded_state(const std::string& id) const;
    // Cancels every running request (shutdown): handlers waiting for a client
    // answer wake up and finish.
    void cancel_all();
    // Ends every standalone GET stream (shutdown).
    void close_streams();
    // Forgets in-memory states idle for longer than idle (their records stay).
    void trim_memory(std::chrono::seconds idle);

    // A page of session records for the admin API, in id order after `after`.
    // state: "" (all), "active" (a stream open or a request running here) or "idle";
    // principal: only that principal's sessions (empty: everyone's).
    struct page {
        std::vector<json> sessions;
        std::string next;  // pass as `after` for the next page; empty at the end
    };
    page list(const std::string& after, std::size_t limit, const std::string& state, const std::string& principal = {});
    // How many sessions list() pages through with these filters, from the
    // counts kept in memory (no scan of the records).
    std::uint64_t matching(const std::string& state, const std::string& principal = {}) const;
    // One session for the admin API: its record and what runs in it now.
    json describe(session_state& s);

    // Sessions on record (on a shared store: on every server's, session_counts.h).
    std::uint64_t count() const { return counts_.total(); }
    // Reads the other servers' counts and writes this one's when due
    // (a shared store; the maintenance tick, once a second).
    void refresh_counts() { counts_.refresh(); }
    std::uint64_t count_epoch() const { return counts_.epoch(); }
    std::size_t loaded() const;

    static std::string topic_of(std::string_view id) { return "mcp.session/" + std::string(id); }

private:
    std::string record_of(const session_state& s) const;
    // Deletes a session's record; true when this call took it (and so counts
    // the session out), with the principal it named.
    bool take_record(const std::string& id, std::string& principal);
    // Sessions ended lately, here or elsewhere: find() does not load one back
    // from a record that is still being deleted (or whose deletion another
    // server has not finished). Kept ended_memory, at most max_ended. mu_ held.
    void remember_ended(const std::string& id);
    static constexpr std::chrono::seconds ended_memory{60};
    static constexpr std::size_t max_ended = 100'000;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> ended_order_;
    std::unordered_set<std::string> ended_;
    store::store& store_;
    std::uint64_t max_, max_per_principal_;
    session_counts counts_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<session_state>> sessions_;
};

}  // namespace litemcp::server
