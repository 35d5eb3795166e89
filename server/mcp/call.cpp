#include "server/mcp/call.h"

#include "server/telemetry/metrics.h"

namespace litemcp::server {

call_outcome outcome_of(std::optional<json> response) {
    if (!response) return std::nullopt;
    auto& r = *response;
    if (auto result = r.find("result"); result != r.end()) return std::move(*result);
    const json& e = r.contains("error") && r["error"].is_object() ? r["error"] : json::object();
    return fail(e.value("code", rpc_code::internal_error), e.value("message", "error"),
                e.contains("data") ? std::optional<json>(e["data"]) : std::nullopt);
}

void call_meter::answered(const call& c) {
    if (c.arrived)
        metrics_.observe("litemcp_mcp_request_duration_seconds", {{"method", method_label(c.method)}},
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - *c.arrived).count());
    if (!c.deferred) in_flight_--;
}

}  // namespace litemcp::server
