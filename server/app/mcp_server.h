// The MCP server: the /mcp endpoint (legacy, session-based revisions
// 2025-03-26, 2025-06-18, 2025-11-25) on top of the HTTP transport and the
// lite-topic store.
//
// Threading: HTTP requests arrive on I/O threads and are handed at once to
// the handler pool, where everything that may block (store appends, handler
// code, waiting for a client's answer) runs. Stream delivery runs on a small
// delivery pool, woken by the store's ready set. Lifetime: start() opens the
// store (recovering it) and starts listening; stop() stops accepting, closes
// streams, waits for running requests (bounded), then closes the store.
#pragma once

#include <memory>

#include "server/config/config.h"
#include "server/rpc/provider.h"
#include "transport/errc.h"

namespace litemcp::server {

struct mcp_stats {
    std::uint64_t sessions = 0;         // session records
    std::uint64_t loaded_sessions = 0;  // in memory
    std::uint64_t connections = 0;
    std::uint64_t streams = 0;
    std::uint64_t requests = 0;
};

class mcp_server {
public:
    // Opens the store and starts listening. providers registers the tools,
    // resources and prompts before the first request is served.
    static std::expected<std::unique_ptr<mcp_server>, std::string> start(
        server_config config, const std::function<void(registry&)>& providers);
    ~mcp_server();

    std::uint16_t port() const;
    registry& tools();
    void stop();
    mcp_stats stats() const;

    class impl;

private:
    explicit mcp_server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

// The parent topics litemcp uses and their policies.
std::vector<store::parent_topic> builtin_parents(const mcp_options& o);

}  // namespace litemcp::server
