// The 2026-07-28 form of a result: resultType, serverInfo and, for lists
// and reads, ttlMs and cacheScope; an input_required result (with a sealed
// requestState) for a handler that stopped for input; and the error codes
// that changed (-32002 is gone: a resource that is not there is invalid
// params).
//
// Threading: const and thread-safe. Lifetime: the server's; it refers to
// the options and the codec it was made with.
#pragma once

#include <string>
#include <string_view>

#include "server/mcp/call.h"
#include "server/config/config.h"
#include "server/rpc/request_state.h"

namespace litemcp::server {

class stateless_results {
public:
    // private_cache: what a principal may see can differ (authentication
    // on), so cached results are private.
    stateless_results(const mcp_options& o, const request_state_codec& states, bool private_cache)
        : options_(o), states_(states), private_cache_(private_cache) {}

    // resultType, serverInfo and the cache hints of `method`'s result.
    json decorate(std::string_view method, json result) const;
    // The response message of call c, made by `principal`, for its outcome.
    json response(const call& c, const std::string& principal, rpc_result outcome) const;

private:
    const mcp_options& options_;
    const request_state_codec& states_;
    bool private_cache_;
};

}  // namespace litemcp::server
