// How many legacy sessions are on record, in all and per principal: what
// --max-sessions, the per-principal cap, litemcp_sessions and the admin API's
// totals read.
//
// On the embedded store one server has every session: the records are
// counted once at start, and the count moves with each create and end.
//
// On a store shared by several servers the counts are a base plus changes:
// * each server's changes, `count/sessions/s/<server>` ({"epoch", "n", "by":
//   {principal: n}, "at"}: sessions it made minus sessions it ended; a
//   session made on A and ended on B is +1 in A's and -1 in B's), written by
//   that server only, after each change;
// * the base, `count/sessions/base` ({"epoch", "n", "by", "at", "from":
//   {server: changes}}), a count of the session records made again every
//   `recount_every` by one server (compare-and-set on the base it replaces)
//   under a new epoch. `from` holds each server's changes as the recount
//   read them before it read the records: those are in the count. A server
//   seeing a new epoch takes them out of its changes, keeping the ones made
//   since; until then the others take them out for it.
// Each server reads the base and the others' changes every refresh() (once
// a second): a limit is checked against the others' changes as they were at
// most a second ago. Whatever skews the changes (a server killed between
// storing a record and writing its changes, a change made while a recount
// was reading the records) lasts until the next recount, which starts over
// from the records: nothing accumulates.
//
// A session is counted out by the caller that took its record
// (store::kv_take), so a DELETE and an idle expiry that every server notices
// count it out once.
//
// Threading: thread-safe. admit() and ended() write this server's changes
// (one store round trip on a shared store, skipped when another thread is
// writing them: it writes theirs too); refresh() reads (one scan) and
// sometimes recounts (a scan of every session record). Lifetime: owned by
// session_table, within the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "store/store.h"

namespace litemcp::server {

class session_counts {
public:
    // recount_every: how often the records are counted again on a shared store.
    session_counts(store::store& st, std::chrono::milliseconds recount_every);

    // Counts the records (embedded store), or reads the base and the changes
    // (a shared store; a first server on it counts the records).
    void start();

    // Counts in one session for principal (empty: nobody) unless that would
    // pass max (all sessions) or max_per (the principal's; 0: no bound).
    // nullopt when counted in; otherwise why not, for the client.
    struct refusal {
        bool principal_full;
        std::string message;
    };
    std::optional<refusal> admit(const std::string& principal, std::uint64_t max, std::uint64_t max_per);
    // Counts one out: the session ended (its record taken here), or its
    // creation failed after admit().
    void ended(const std::string& principal);

    // Shared store: writes this server's changes if a write is pending, reads
    // the base and the others' changes, recounts when the base is due.
    void refresh();

    std::uint64_t total() const;
    std::uint64_t of(const std::string& principal) const;
    // The epoch of the count in use (0 before the first; the embedded store: 0).
    std::uint64_t epoch() const;

    // Sessions in all and per principal (changes may be negative).
    struct tally {
        std::int64_t n = 0;
        std::map<std::string, std::int64_t> by;
        void add(const tally& o, std::int64_t sign = 1);
        std::int64_t of(const std::string& principal) const;
    };

private:
    // The records counted (a scan of `session/`); nullopt when the store failed.
    std::optional<tally> count_records() const;
    // Writes mine_ while it has changes not written; returns at once when
    // another thread is writing (it picks this change up).
    void write_mine();
    // Replaces the base (read as base_text; nullopt: none) with a new count
    // of the records, `from` the servers' changes read just before; true when
    // this server's count is the one stored.
    bool recount(const std::optional<std::string>& base_text, std::uint64_t epoch,
                 const std::map<std::string, tally>& from);
    std::uint64_t total_locked() const;

    store::store& st_;
    const bool shared_;
    const std::chrono::milliseconds recount_every_;
    const std::string key_;  // count/sessions/s/<server>
    mutable std::mutex mu_;  // guards the tallies, epoch_ and dirty_
    tally base_, mine_, others_;
    std::uint64_t epoch_ = 0;  // the base's; mine_ holds the changes since it
    bool dirty_ = false;       // mine_ changed since it was last written
    std::mutex write_mu_;      // held by the thread writing mine_
    // When this server last counted the records (refresh()'s thread only):
    // it tries at most once a period, whatever the base says.
    std::chrono::steady_clock::time_point last_recount_{};
};

}  // namespace litemcp::server
