// Upstreams: MCP servers registered by URL (docs/workers.md, "Register your
// MCP server"). Each is a worker whose queue is mcp.worker/<name> like any
// other -- calls are durable before they are forwarded, delivered at least
// once, retried with backoff, dead-lettered -- and whose instance, on every
// litemcp server sharing the store, is litemcp's own MCP client of it
// (upstream_instance.h).
//
// Registering one (POST /workers with "upstream") connects, initializes and
// lists the server's tools, resources and prompts before anything is
// recorded, so a wrong URL is refused at once. Afterwards each litemcp
// server keeps one connection per upstream: it attaches an instance once
// the server answers initialize (taking any change of its lists into the
// registration), follows the server's list_changed (and reads the lists
// again with every ping, for the changes a server could not announce), pings it, and when it
// stops answering detaches the instance -- the hub then takes the worker
// offline after its grace period, as for a worker whose instances left --
// and tries again with backoff until it answers. Upstreams declared in the
// configuration (upstream_config.h) are registered at start.
//
// Threading: the public methods may be called from any thread and never
// block. The links live on one thread of this class's; what the instances
// report goes to the hub from a few reporter threads (one per call, so a
// call's messages keep their order), since the hub may wait on the store or
// another server. Callbacks from the hub, the HTTP client and the timers
// reach this object through a gate that stop() closes, so none arrives after
// it. Lifetime: owned by the server, made after the hub it uses; stop()
// before the hub stops.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/json/json.h"
#include "server/upstreams/mcp_client.h"
#include "server/upstreams/upstream_definition.h"
#include "server/upstreams/upstream_instance.h"
#include "server/util/timer_queue.h"
#include "server/util/work_pool.h"
#include "server/workers/worker_hub.h"
#include "transport/http_client.h"

namespace litemcp::server {

struct upstream_options {
    // The longest an upstream may take to answer litemcp's own requests
    // (initialize, lists) and to start answering a call, unless its
    // registration says otherwise (--upstream-request-timeout-ms). A call
    // itself is bounded by its callTimeoutMs. Default: 60 s.
    std::chrono::milliseconds request_timeout{60'000};
    // An upstream is pinged, and its lists read again, this often (the
    // answer is awaited at most as long, and 10 s); one that does not answer
    // loses its instance here (--upstream-ping-ms). Default: 15 s.
    std::chrono::milliseconds ping_interval{15'000};
    // The longest wait between two tries to reach an upstream that does not
    // answer (the first is 1 s, doubling) (--upstream-retry-max-ms). Default: 30 s.
    std::chrono::milliseconds retry_max{30'000};
    // Calls forwarded at once to one upstream by each litemcp server, unless
    // the registration's concurrency says otherwise (--upstream-concurrency). Default: 16.
    unsigned concurrency = 16;
    // The largest message an upstream may send: one JSON answer or one event
    // (--upstream-max-message-bytes). Default: 8 MiB.
    std::size_t max_message_bytes = 8 * 1024 * 1024;
    // Upstreams declared in configuration (upstream_config.h): registered at
    // start, kept as declared, removed when no longer declared. Default: none.
    json declared = json::object();
};

class upstreams {
public:
    upstreams(worker_hub& hub, upstream_options o);
    ~upstreams();
    upstreams(const upstreams&) = delete;
    upstreams& operator=(const upstreams&) = delete;

    // Registers the declared upstreams and connects to every upstream
    // registered (after the hub has started).
    void start();
    // Ends the connections; what the instances reported reaches the hub first.
    void stop();

    // POST /workers with an "upstream" block (checked against its schema):
    // reaches the server, lists what it serves, registers the worker.
    // done runs once, on this class's thread.
    void register_upstream(json body, std::optional<std::string> credential, std::string owner,
                           std::function<void(worker_answer)> done);

private:
    struct link;
    struct gate;
    // Runs f on this class's thread (nothing once stopped).
    void post(std::function<void()> f);
    void after(std::chrono::milliseconds delay, std::function<void()> f);
    // Registers what the configuration declares and removes what it no
    // longer does (at start).
    void apply_declared();
    // A registration changed (the hub's observer): start, change or end its link.
    void reconcile(const std::string& name);
    void connect(link& l);
    void connected(const std::string& name, std::uint64_t generation, std::shared_ptr<mcp_client> client, json init,
                   json lists);
    // Takes the server's lists into the registration when they changed;
    // false (and the link down) when they cannot be registered.
    bool take_lists(link& l, const json& lists);
    // The server's resource URIs that something else serves already: they
    // are listed namespaced (upstream_definition::namespaced_uri).
    std::set<std::string> taken_resources(const std::string& name, const json& lists) const;
    // The server's own stream (its list_changed), opened again a second
    // after it ends, unless the server offers none.
    void listen(const std::string& name, std::uint64_t generation);
    // A notification of the server's outside a call's answer, or inside one.
    void notice(const std::string& name, std::uint64_t generation, const json& message);
    // Reads the server's lists again and registers a change.
    void relist(const std::string& name, std::uint64_t generation);
    void went_down(const std::string& name, std::uint64_t generation, const std::string& why);
    void ping(const std::string& name, std::uint64_t generation, std::uint64_t chain);
    // Every third of the worker's invisibility: the calls the server is
    // still answering stay invisible, so the hub does not deliver them again.
    void keep_invisible(const std::string& name, std::uint64_t generation);
    // The hub takes an instance's report (an invalid answer becomes a JSON-RPC error).
    worker_answer give(const std::string& name, const std::string& call_id, const std::string& action,
                       const json& body);
    // An instance's report, to the hub: at once on the HTTP client's thread,
    // else (and for its retries) from a reporter thread.
    void report(const std::string& name, const std::string& call_id, const std::string& action, json body);
    std::shared_ptr<mcp_client> make_client(const upstream_definition& d);
    // Lists what the server serves (tools, and resources and prompts when
    // its capabilities say so) after initialize.
    static void discover(std::shared_ptr<mcp_client> client, const json& init,
                         std::function<void(std::expected<json, upstream_failure>)> done);

    worker_hub& hub_;
    const upstream_options opts_;
    std::shared_ptr<gate> gate_;
    work_pool serial_{"upstreams", 1, 100'000};
    std::vector<std::unique_ptr<work_pool>> reporters_;
    timer_queue timers_;
    std::shared_ptr<transport::http_client> http_;
    std::map<std::string, std::unique_ptr<link>> links_;  // this class's thread only
    std::map<std::string, std::pair<std::shared_ptr<mcp_client>, json>> fresh_;  // clients just registered: reused once
    std::uint64_t next_generation_ = 0;  // this class's thread only; across links, so no callback mistakes one for another
    std::atomic<bool> stopping_{false};
};

}  // namespace litemcp::server
