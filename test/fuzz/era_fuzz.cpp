// The era decision of a POST to /mcp (server/mcp/endpoint.cpp): once the
// body is JSON, stateless_endpoint::claims decides whether it is a
// 2026-07-28 request or goes to the session-based revisions. The first byte
// of the input picks the headers, the rest is the body:
//
//   bit 0     MCP-Protocol-Version is sent (bit 4: its name in lower case),
//   bits 1-2  as 2026-07-28, 2025-11-25, 2026-07-29 or empty,
//   bit 3     Mcp-Session-Id is sent.
//
// For every body: neither claims nor classify throws, and claims says
// exactly what stateless_endpoint.h promises -- the body is an object with
// the 2026-07-28 envelope (params._meta naming a protocol version), or it
// comes with a 2026-07-28 header and no session and is not an initialize (a
// malformed modern request is told so, never served as legacy).
//
// This target links the whole MCP layer (claims lives in it), so the
// libFuzzer smoke run leaves it out; test/fuzz/run.sh runs it on request.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/json/json_text.h"
#include "server/mcp/capabilities.h"
#include "server/mcp/stateless_endpoint.h"
#include "server/rpc/json_rpc.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace litemcp::server;

constexpr std::array<std::string_view, 4> header_versions{modern_version, "2025-11-25", "2026-07-29", ""};

bool has_envelope(const json& body) {
    if (!body.is_object() || !body.contains("params") || !body["params"].is_object()) return false;
    const json& params = body["params"];
    return params.contains("_meta") && params["_meta"].is_object() &&
           params["_meta"].contains("io.modelcontextprotocol/protocolVersion");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    const auto body = parse_json(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    if (!body) return 0;  // a 400 before the era is decided

    litemcp::transport::http_request req;
    req.method = "POST";
    req.path = req.target = "/mcp";
    const std::string_view version = header_versions[(flags >> 1) & 3];
    if (flags & 1) req.headers.add((flags & 16) ? "mcp-protocol-version" : "MCP-Protocol-Version", std::string(version));
    if (flags & 8) req.headers.add("Mcp-Session-Id", "0123456789abcdef0123456789abcdef");
    req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

    (void)classify(*body);
    const bool modern = stateless_endpoint::claims(*body, req);

    const bool initialize = body->is_object() && body->contains("method") && (*body)["method"] == "initialize";
    const bool by_header = body->is_object() && (flags & 1) && version == modern_version && !(flags & 8) && !initialize;
    FUZZ_CHECK(modern == (has_envelope(*body) || by_header));
    return 0;
}
