// Why a request of litemcp's to an upstream MCP server got no JSON-RPC
// response (mcp_client.h, legacy_stream.h).
#pragma once

#include <string>
#include <string_view>

namespace litemcp::server {

struct upstream_failure {
    enum class kind {
        unreachable,  // no connection, a timeout, a broken stream: the request may be sent again
        refused,      // the server answered with an HTTP error that a retry will not mend
        garbage,      // the server's answer is not MCP (not JSON, no response, too large)
        cancelled,    // cancel() was called
    };
    kind what = kind::unreachable;
    std::string message;
};

// The start of a server's answer, on one line, for a failure's message.
inline std::string answer_snippet(std::string_view body) {
    std::string s(body.substr(0, 200));
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace litemcp::server
