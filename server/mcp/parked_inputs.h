// A tool server's requests to a client that answers input in rounds (a
// 2026-07-28 request, or a task): parked until the client's next round.
//
// A legacy session's client is asked in the middle of a call, on the call's
// stream (worker_sink::ask). A 2026-07-28 client cannot be: its call is
// answered once. So the server's request (sampling, elicitation, roots) is
// parked here, and the client's call is answered with input_required: the
// request in inputRequests, and a requestState (sealed, stateless_results.h)
// that names the parked request. The worker call goes on meanwhile, filed
// under the parked request (worker_hub::adopt). The client's next round --
// the same tools/call with inputResponses and that requestState, or for a
// task the answers tasks/update or tasks/result bring -- resumes it
// (resume()): the answer goes to the tool server, and from then on the
// worker call's messages and answer go to the new round's call.
//
// One request of a call is asked per round: a second one made while the
// first waits is asked in the round after it. A parked request not answered
// within `wait` gets an error, and a 2026-07-28 call's worker call is
// cancelled; at most `max` wait at once (beyond, the tool server gets an
// error). A worker's answer that comes while its call is parked is kept for
// the next round. Parked requests live in this process: after a restart, a
// task's worker call is delivered again and asks again; a 2026-07-28
// client's next round gets an error saying to call again.
//
// On a shared store the requestState also names this server. A round that
// reaches another server is relayed here (worker_hub::relay_round, then
// serve()): it is resumed as if the client had sent it here, the messages
// for the client's call and its outcome go back to the server the client
// waits on, and the next requestState names this server again. Should this
// server stop, a round reaching another gets an error saying to call again.
//
// Threading: thread-safe (one mutex, never held while calling out).
// Lifetime: the server's; made after the worker hub, which it uses.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/mcp/call.h"
#include "server/util/timer_queue.h"
#include "server/workers/worker_hub.h"

namespace litemcp::server {

class parked_inputs {
public:
    // Where a round's answers carry the parked request's token (a sealed
    // requestState, or a task's recorded answers).
    static constexpr std::string_view answers_key = "io.litemcp/parkedInput";
    // Beside it on a shared store: the server the request is parked on.
    static constexpr std::string_view server_key = "io.litemcp/parkedOn";

    struct parts {
        worker_hub& workers;
        timer_queue& timers;
        // How long a parked request waits for the client's next round
        // (--request-state-ttl-ms: the requestState lives as long).
        std::chrono::milliseconds wait{std::chrono::minutes(10)};
        // Parked requests at once (--max-parked-inputs). Default: 10,000.
        std::size_t max = 10'000;
    };
    explicit parked_inputs(parts p) : p_(p) {}

    // call_sink::ask for a call whose client answers in rounds (t.live is
    // a 2026-07-28 request's call or a task's run). done gets the client's
    // answer in a later round, or an error.
    void park(const call_ticket& t, std::string method, json params, std::function<void(json answer)> done);

    // c's answers name a parked request: its outcome now (input_required
    // again, an error, the worker's answer kept meanwhile, or, with
    // c->deferred set, nothing yet: the worker answers c later, its call
    // filed under `origin`, c's origin when it was handed here). nullopt
    // when they name none, or a task's whose call is no longer open: c
    // runs as usual. worker: the worker serving c's tool; a request parked
    // on another server is resumed there, and c answered with what it
    // says (empty: not relayed).
    std::optional<rpc_result> resume(const std::shared_ptr<call>& c, const call_origin& origin,
                                     const std::string& worker = {});

    // A round relayed by another server (call_sink::resume_round): round
    // is what relay() sent. emit gets the messages for the client's call,
    // finish its outcome: {"response": {"result"|"error": ...}} or
    // {"cancelled": true}, with the call's "answers" and "inputRequests"
    // when it asks for input again. later, when given, takes what the
    // worker call reports once the outcome went back (a task's answer that
    // came while the task waited for input: it settles the task here).
    void serve(json round, std::function<void(json)> emit, std::function<void(json)> finish,
               std::function<void(const std::shared_ptr<call>&, call_outcome)> later = {});

    // The server stops: every parked request gets an error, and nothing is
    // held any more (before the worker hub and the HTTP server stop).
    void stop();

private:
    struct ask {
        std::string method;
        json params;
        std::function<void(json)> done;
    };
    struct round {
        std::string token, key;  // key: the request's in inputRequests
        ask asked;
        std::vector<ask> later;  // asked while this one waits, in order
        call_origin origin;      // where the worker call is filed meanwhile
        json request_id;
        std::string principal;
        bool task = false;  // a task's round: the worker call stays filed under the task
        // The calls the worker call's messages may name this round by: the
        // one answered with input_required (not held: once answered, its
        // connection may go), and the stand-in.
        std::vector<const call*> calls;
        std::shared_ptr<call> holder;          // 2026-07-28: the stand-in the worker call reports to meanwhile
        std::optional<call_outcome> answered;  // the worker's answer, come meanwhile
        std::shared_ptr<call> redirect;        // resumed while that answer was on its way: it goes here
    };
    class holding_channel;
    class relay_channel;

    // Opens a round asking `first` (live: the call the worker call reports
    // to, filed under from/request_id), or joins the round live waits in.
    // The outcome to answer live with now (input_required); nullopt when
    // it joined, or when first.done got an error.
    std::optional<rpc_result> open(const std::shared_ptr<call>& live, const call_origin& from, const json& request_id,
                                   ask first, std::vector<ask> later);
    // The round a call names (with mu_ held); nullptr when none.
    round* round_of(const call* c);
    // The next round names a request no longer parked.
    std::optional<rpc_result> gone(const std::shared_ptr<call>& c, const call_origin& origin);
    // The next round names a request parked on another server: sent there
    // (c is answered when it replies), or an error saying why it cannot be.
    // A task's whose holder stopped waits for its call, which another
    // server takes over and delivers again. nullopt when it names no other
    // server.
    std::optional<rpc_result> relay(const std::shared_ptr<call>& c, const call_origin& origin, const std::string& worker);
    // The outcome that asks c's client for one input (sets c's answers and
    // input requests).
    rpc_result asking(call& c, const std::string& token, const std::string& key, const std::string& method,
                      const json& params) const;
    void held_finished(const call* holder, call_outcome outcome);
    void expire(const std::string& token);
    void arm(const std::string& token);
    // Removes a round (with mu_ held). By value: callers name it by its
    // own token, which goes with it.
    std::optional<round> take(std::string token);
    static void refuse(const std::function<void(json)>& done, int code, std::string message);
    static void refuse_all(round& r, const std::string& message);

    parts p_;
    mutable std::mutex mu_;
    std::map<std::string, round> rounds_;           // by token
    // round::calls -> the token, and the call itself: an address is the
    // round's only while that call lives (another may take it after).
    struct named_by {
        std::string token;
        std::weak_ptr<call> c;
    };
    std::map<const call*, named_by> by_call_;
    bool stopped_ = false;
};

}  // namespace litemcp::server
