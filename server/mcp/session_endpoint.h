// The stateful eras of /mcp (2024-11-05 to 2025-11-25): a session made by
// initialize and named by Mcp-Session-Id, whose requests, messages and
// answers are records of its topic mcp.session/<id> (session_log.h).
//
//   POST    a request (recorded, run, answered through its session_channel,
//           or an at_once_channel on the I/O thread), a notification, the
//           client's answer to a server request, a 2025-03-26 batch
//   GET     the standalone stream from the broker-held cursor, or the
//           resumption of a stream after Last-Event-ID (session_get.cpp)
//   DELETE  ends the session
//
// What both eras check first (Origin/Host, authentication, Accept and
// Content-Type, parsing, which era) is endpoint.h's.
//
// Threading: post() runs on the I/O thread and hands what blocks to the
// handler pool; get() and del() read the store and run on the handler pool.
// Lifetime: the server's; the parts it refers to outlive it.
#pragma once

#include <chrono>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/config/config.h"
#include "server/mcp/at_once.h"
#include "server/mcp/dispatcher.h"
#include "server/mcp/session_channel.h"
#include "server/mcp/session_signals.h"
#include "server/sessions/session.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"
#include "store/store.h"
#include "transport/http_server.h"

namespace litemcp::server {

class session_endpoint {
public:
    struct parts {
        const mcp_options& options;
        store::store& st;
        session_table& sessions;
        dispatcher& calls;
        work_pool& handlers;
        work_pool& delivery;  // the stream feeders' reads
        worker_hub& workers;  // notifications/cancelled reaches calls waiting on a worker
        call_meter& meter;
        commit_bursts& bursts;
        session_signals& signals;  // other servers sharing the store
        bool authenticated;  // a session is its principal's alone
    };
    explicit session_endpoint(parts p) : p_(p) {}

    // A POST whose body parsed and is not a 2026-07-28 request; req's
    // principal is filled in. Each is called on an I/O thread; what would
    // wait for a shared store there moves to the handler pool first (a
    // session not in memory, a GET, a DELETE: each a round trip to NATS).
    void post(transport::http_request&& req, json body, std::shared_ptr<transport::responder> res);
    void get(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void del(const transport::http_request& req, std::shared_ptr<transport::responder> res);

    // The parts of a session call's reply channel (restored calls too).
    session_channel::parts channel_parts() { return {p_.st, p_.options, p_.meter}; }

private:
    void post_now(transport::http_request&& req, json body, std::shared_ptr<transport::responder> res);
    void get_now(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    void del_now(const transport::http_request& req, std::shared_ptr<transport::responder> res);
    // On a shared store: whether the session req names is not in memory,
    // so that finding it waits for the store.
    bool lookup_waits(const transport::http_request& req) const;
    // The session Mcp-Session-Id names, after the MCP-Protocol-Version check;
    // or the answer that refuses the request.
    std::expected<std::shared_ptr<session_state>, transport::http_response> session_for(
        const transport::http_request& req, const json& id);
    void initialize(json msg, std::string principal, std::shared_ptr<transport::responder> res);
    // initialize requests of one principal in the last minute (a rate limit).
    bool initialize_allowed(const std::string& principal, std::chrono::seconds& retry_after);
    // A request runs in three steps: its record is appended (async), its
    // handler runs (on the pool), its response is appended and then written
    // -- the last two through its session_channel. An execution::io request
    // goes through an at_once_channel: handler first, then one group of
    // records. msg is one that classify() found a request.
    void request(std::shared_ptr<session_state> s, json msg, std::string raw, std::shared_ptr<transport::responder> res);
    void batch(std::shared_ptr<session_state> s, json batch, std::shared_ptr<transport::responder> res);
    void notification(const std::shared_ptr<session_state>& s, const json& msg);
    // Records a client's answer to a server request, wakes its waiter, then
    // runs done (on the thread committing the store's batch).
    void client_answer(const std::shared_ptr<session_state>& s, json msg, std::function<void()> done);
    // Runs work on the handler pool, or answers 503 when its queue is full.
    void on_pool(const std::shared_ptr<transport::responder>& res, std::function<void()> work);

    parts p_;
    std::mutex rate_mu_;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> initializations_;  // by principal
};

}  // namespace litemcp::server
