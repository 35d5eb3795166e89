// What the servers sharing a store (store::shared(), the JetStream engine)
// tell each other about legacy sessions, through store::signal: a client's
// cancellation or answer that reached another server than the one running
// the request, a newer standalone GET stream elsewhere, the end of a
// session and a changed session record (session_table sends those two).
// Each server first does what it can itself; a signal tells the others. On
// the embedded engine nothing is sent: there are no others.
//
//   s-cancel   {"s": id, "r": requestId}   cancel it where it runs
//   s-answer   {"s": id, "m": response}    hand it to the waiting handler
//   s-get      {"s": id, "at": ms}         end GET streams older than at
//   s-live     {"s": id, "r": offset}      a question: "1" from the server
//                                          still running that request
//   s-end      id                          the session ended (session_table)
//   s-changed  id                          its record changed (session_table)
//
// Threading: handle() runs on the store's signal thread and never blocks:
// what reads the store goes to the handler pool. Lifetime: owned by
// mcp_server, handed to the store at start and taken back before it stops.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/rpc/json_rpc.h"
#include "server/sessions/session.h"
#include "server/util/timer_queue.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"

namespace litemcp::server {

class session_signals {
public:
    struct parts {
        store::store& st;
        session_table& sessions;
        worker_hub& workers;
        work_pool& handlers;
        timer_queue& timers;
        const std::atomic<bool>& stopping;  // the server's: no timer is armed once set
    };
    // How long a resumed stream waits for another server to say it still runs
    // the request, and how often it asks again while one does (should that
    // server die, the next question finds nobody and the request is answered
    // as interrupted).
    static constexpr std::chrono::milliseconds live_wait{250};
    static constexpr std::chrono::seconds live_recheck{5};
    explicit session_signals(parts p) : p_(p) {}

    // A signal from another server; what it returns answers a question.
    std::optional<std::string> handle(std::string_view channel, std::string_view payload);

    void cancelled(const session_state& s, const json& request_id);
    void answered(const session_state& s, const json& answer);
    void took_get(const session_state& s, std::uint64_t since_ms);
    // Whether another server runs request r (its record's offset) of a
    // session; done runs on a store thread.
    void ask_live(const std::string& session, std::uint64_t r, std::function<void(bool)> done);
    // Runs fn after live_recheck, on the timer thread.
    void later(std::function<void()> fn);

private:
    void send(std::string_view channel, const json& payload);
    parts p_;
};

}  // namespace litemcp::server
