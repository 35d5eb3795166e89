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
// registration), pings it while idle, and when it stops answering detaches
// the instance -- the hub then takes the worker offline after its grace
// period, as for a worker whose instances left -- and tries again with
// backoff until it answers.
//
// Threading: the public methods may be called from any thread and never
// block; the work runs on one thread of its own, which is the only one to
// touch the links and the only one to call the hub. Lifetime: owned by the
// server, after the hub it uses and destroyed before it; stop() ends the
// connections.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

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
    // The longest silence of an upstream answering one request, unless its
    // registration says otherwise (--upstream-request-timeout-ms). Default: 60 s.
    std::chrono::milliseconds request_timeout{60'000};
    // An upstream is pinged this often; one that does not answer loses its
    // instance here (--upstream-ping-ms). Default: 15 s.
    std::chrono::milliseconds ping_interval{15'000};
    // The longest wait between two tries to reach an upstream that does not
    // answer (the first is 1 s, doubling). Default: 30 s.
    std::chrono::milliseconds retry_max{30'000};
    // Calls forwarded at once to one upstream by each litemcp server, unless
    // the registration's concurrency says otherwise. Default: 16.
    unsigned concurrency = 16;
    // The largest message an upstream may send: one JSON answer or one event
    // (--upstream-max-message-bytes). Default: 8 MiB.
    std::size_t max_message_bytes = 8 * 1024 * 1024;
};

class upstreams {
public:
    upstreams(worker_hub& hub, upstream_options o);
    ~upstreams();
    upstreams(const upstreams&) = delete;
    upstreams& operator=(const upstreams&) = delete;

    // Connects to every upstream registered (after the hub has started).
    void start();
    void stop();

    // POST /workers with an "upstream" block (checked against its schema):
    // reaches the server, lists what it serves, registers the worker.
    // done runs once, on this class's thread.
    void register_upstream(json body, std::optional<std::string> credential, std::string owner,
                           std::function<void(worker_answer)> done);

    // Per upstream connected here, for /metrics and the admin API.
    struct link_state {
        std::string name;
        bool connected = false;
        std::string protocol_version;
        std::string last_error;
        std::size_t in_flight = 0;
    };
    std::vector<link_state> states() const;

private:
    struct link;
    // Runs f on this class's thread.
    void post(std::function<void()> f);
    // A registration changed (the hub's observer): start, change or end its link.
    void reconcile(const std::string& name);
    void connect(link& l);
    void connected(const std::string& name, std::uint64_t generation, std::shared_ptr<mcp_client> client, json lists);
    void went_down(const std::string& name, std::uint64_t generation, const std::string& why);
    void ping(const std::string& name, std::uint64_t generation, std::uint64_t chain);
    // Every third of the worker's invisibility: the calls the server is
    // still answering stay invisible, so the hub does not deliver them again.
    void keep_invisible(const std::string& name, std::uint64_t generation);
    void after(std::chrono::milliseconds delay, std::function<void()> f);
    std::shared_ptr<mcp_client> make_client(const upstream_definition& d);
    // Lists what the server serves (tools, and resources and prompts when
    // its capabilities say so) after initialize.
    void discover(std::shared_ptr<mcp_client> client, json init,
                  std::function<void(std::expected<json, upstream_failure>)> done);

    worker_hub& hub_;
    const upstream_options opts_;
    work_pool serial_{"upstreams", 1, 1'000'000};
    timer_queue timers_;
    std::unique_ptr<transport::http_client> http_;
    mutable std::mutex states_mu_;        // guards states_ (read by /metrics)
    std::map<std::string, link_state> states_;
    std::map<std::string, std::unique_ptr<link>> links_;  // this class's thread only
    std::map<std::string, std::pair<std::shared_ptr<mcp_client>, json>> fresh_;  // clients just registered: reused once
    std::atomic<bool> stopping_{false};
};

}  // namespace litemcp::server
