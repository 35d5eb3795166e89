// litemcp-connect: puts an MCP server that speaks stdio behind litemcp
// (docs/workers.md, "stdio servers: litemcp-connect"). It runs the server
// as its child, is its MCP client over stdio, and attaches it to litemcp
// through the worker API's dial-out channel: it registers the server's
// tools, resources and prompts (tools and prompts named with the prefix),
// takes calls from the worker's stream (each an MCP request), forwards each
// to the child under its own id, and posts what comes back -- progress,
// log messages, the response -- to the call in litemcp. The child's
// sampling, elicitation and roots requests during a call go the same way
// to the calling client, and its answer back; a tool the child runs only as
// a task is called as one and followed with tasks/result. Every call is
// durable in litemcp before it reaches the connector, so a connector (or
// child) that dies mid-call gets it again once it is back, and litemcp's
// restarts are ridden out: it registers and attaches again.
//
// Threading: run() blocks the calling thread until the child exits or
// stop(); the HTTP client's thread and the child's reader thread report to
// it under one mutex. Lifetime: one per process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/connect/stdio_peer.h"
#include "server/json/json.h"
#include "transport/http_client.h"

namespace litemcp::server {

struct connector_options {
    std::string url = "http://127.0.0.1:8080";  // litemcp. Default: http://127.0.0.1:8080
    std::string name;                            // the worker's name (required)
    std::optional<std::string> prefix;           // before every tool and prompt name. Default: "<name>__"
    std::string credential_file;                 // where the worker's credential is kept. Default: <name>.credential
    std::string token;                           // an access token to register with (authentication on)
    unsigned concurrency = 1;                    // calls sent to the child at once. Default: 1
    bool queue_while_offline = true;             // calls wait while the connector is away. Default: true
    std::vector<std::string> command;            // the stdio server and its arguments
    std::chrono::milliseconds request_timeout{60'000};  // the child's answer to initialize and lists. Default: 60 s
};

class connector {
public:
    explicit connector(connector_options o);
    ~connector();
    // Starts the child and serves until it exits: its exit status, or an
    // error message when it could not start or register.
    std::expected<int, std::string> run();

private:
    // ---- the child (MCP over stdio) ----
    using reply_fn = std::function<void(json response)>;
    void request_child(const std::string& method, json params, json id, reply_fn reply);
    std::expected<json, std::string> request_child_and_wait(const std::string& method, json params);
    void from_child(json message);
    // The child's response to call_id's request rpc: the call's answer, or
    // a task's handle, whose result is then asked for (tasks/result).
    void child_answered(const std::string& call_id, const std::string& rpc, json r);
    // ---- litemcp (the worker API) ----
    std::expected<json, std::string> lists();
    std::expected<void, std::string> register_worker();
    void attach();
    void on_event(const json& event);
    // Posts one JSON-RPC message about a call to litemcp; answered, when
    // given, gets the JSON-RPC response litemcp answers a request with (null
    // when none came).
    // The messages of one call reach litemcp in the order they were posted
    // (a progress notification must not arrive after the call's response,
    // which ends the call): one POST of a call is in flight at a time. A
    // request, whose answer may take minutes, lets the next go once sent.
    void post(const std::string& call_id, json message, std::function<void(const json& answer)> answered = {});
    struct queued_post {
        json message;
        std::function<void(const json& answer)> answered;
    };
    struct call_outbox {
        bool sending = false;
        std::deque<queued_post> waiting;
    };
    // Notifications waiting behind a call's POST in flight; more are dropped
    // (a response or request never is).
    static constexpr std::size_t max_waiting_posts = 1024;
    void send_in_order(const std::string& call_id, queued_post p);
    void send_post(const std::string& call_id, queued_post p);
    bool next_post(const std::string& call_id, queued_post& p);

    transport::header_list auth_headers(bool credential) const;

    connector_options o_;
    std::string prefix_;
    std::mutex http_mu_;  // http_ is reset at destruction while the child's reader may post
    std::unique_ptr<transport::http_client> http_;
    std::mutex out_mu_;
    std::map<std::string, call_outbox> outboxes_;  // by call id, while a POST of the call is in flight
    std::unique_ptr<stdio_peer> child_;
    json init_;  // the child's InitializeResult

    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, reply_fn> waiting_;        // the child's answers by our request id
    std::map<std::string, std::string> calls_;       // call id -> our request id to the child
    std::map<std::string, std::string> tasks_;       // call id -> the task the child made of it
    std::set<std::string> task_tools_;               // the child's tools it runs only as tasks
    std::string credential_;
    std::shared_ptr<transport::client_exchange> stream_;
    std::optional<int> exited_;
    bool relist_ = false;  // the child said list_changed
    bool reattach_ = false;  // the SSE stream ended
    std::uint64_t next_id_ = 1;
};

}  // namespace litemcp::server
