// Every setting of the litemcp server, with its default. main() fills it
// from the command line (litemcp --help lists them).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/auth/auth.h"
#include "server/telemetry/logging.h"
#include "server/rpc/request_state.h"
#include "server/upstreams/upstreams.h"
#include "server/workers/worker_hub.h"
#include "store/options.h"
#include "transport/http_server.h"

namespace litemcp::server {

// This build's release (meson.build's project version): --version, and
// the serverInfo version unless configured.
std::string_view litemcp_version();

struct mcp_options {
    std::string endpoint = "/mcp";  // Default: /mcp
    // Legacy revisions served through initialize, newest first. Default: the three below.
    std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26"};
    // Answer requests with one application/json body instead of an SSE stream. Default: false.
    bool json_response = false;
    // Priming event (id + empty data) on new streams for clients at 2025-11-25+. Default: true.
    bool priming = true;
    // SEP-1699 polling: close a POST stream right after its priming event
    // (with retry:) so the client resumes through GET. Default: false.
    bool close_post_streams = false;
    std::chrono::milliseconds retry{1000};  // the retry: value of priming events and server-side closes. Default: 1 s
    // Reject a request whose MCP-Protocol-Version header is supported but is not
    // the session's negotiated version. The spec requires 400 only for invalid
    // or unsupported values, and the official conformance suite sends another
    // supported version on purpose, so this is off by default. Default: false.
    bool strict_protocol_version = false;
    std::chrono::milliseconds session_ttl{std::chrono::minutes(30)};  // idle session expiry. Default: 30 min
    std::uint64_t max_sessions = 100'000;  // beyond: 503 on initialize. Default: 100,000
    // On a store shared by several servers, how often one of them counts the
    // session records again; what skews the counts between two counts (a
    // server killed mid-change) lasts until the next. Default: 1 min.
    std::chrono::milliseconds session_recount{std::chrono::minutes(1)};
    std::uint64_t session_retention_records = 10'000;  // events kept per session. Default: 10,000
    std::uint64_t session_retention_bytes = 16ull << 20;  // Default: 16 MiB
    unsigned handler_threads = 64;  // requests executing at once. Default: 64
    std::size_t handler_queue = 10'000;  // requests waiting for a handler thread. Default: 10,000
    std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};  // server->client request wait. Default: 5 min
    // Origins allowed besides loopback ones ("*" allows any). Default: none.
    std::vector<std::string> allowed_origins;
    // Host names allowed besides loopback names ("*" allows any). Default: none.
    std::vector<std::string> allowed_hosts;
    std::string server_name = "litemcp";
    std::string server_version = std::string(litemcp_version());  // Default: this build's release
    std::string instructions;  // returned by initialize when set. Default: none
    // ttlMs of 2026-07-28 list, read and discover results: how long a client
    // may cache them. Default: 60 s.
    std::chrono::milliseconds cache_ttl{60'000};
    // Open 2026-07-28 subscriptions/listen streams (503 beyond). Default: 1,024.
    std::size_t max_listen_streams = 1'024;
    // Lets clients other than loopback ones use /admin/ with
    // "Authorization: Bearer <token>". A secret: prefer LITEMCP_ADMIN_TOKEN.
    // Default: none (the admin API answers loopback clients only).
    std::string admin_token;
    // Loopback clients need a credential for /admin/ too (the admin token, or
    // an access token with the mcp:admin scope), e.g. on a shared host.
    // Default: unset, which means on when authentication is on (a principal
    // must not read another's sessions through the admin API) and off
    // otherwise (loopback clients are trusted).
    std::optional<bool> admin_credential_on_loopback;
    // Sessions one authenticated principal may hold at once (429 on initialize
    // beyond). 0: no bound. Default: 1,000.
    std::uint64_t max_sessions_per_principal = 1'000;
    // initialize requests one authenticated principal may make per minute
    // (429 with Retry-After beyond). 0: no bound. Default: 600.
    std::uint64_t initialize_per_minute = 600;
    // Sealing of 2026-07-28 requestState (key, lifetime). Default: a key
    // generated into the data folder, states valid for 10 min.
    request_state_options request_state;
    // Tasks (the 2026-07-28 Tasks extension and 2025-11-25 tasks).
    // The lifetime of a task when the request names none. Default: 1 h.
    std::chrono::milliseconds task_ttl{std::chrono::hours(1)};
    // The longest lifetime a request may ask for (longer ones are cut to it). Default: 24 h.
    std::chrono::milliseconds task_max_ttl{std::chrono::hours(24)};
    // A 2026-07-28 call of a tool that may run as a task (taskSupport
    // "optional"), from a client that declared the Tasks extension, becomes
    // a task when it has not finished within this. Default: 250 ms.
    std::chrono::milliseconds task_promote{250};
    // pollIntervalMs suggested to clients. Default: 500 ms.
    std::chrono::milliseconds task_poll_interval{500};
    // Tasks that are not terminal at once (beyond: the request runs without a task). Default: 10,000.
    std::uint64_t max_active_tasks = 10'000;
};

struct server_config {
    transport::server_options http;
    store::store_options store;
    mcp_options mcp;
    worker_options workers;
    upstream_options upstreams;
    auth_options auth;
    log_options log;
};

}  // namespace litemcp::server
