// The layout of records in a session's lite topic mcp.session/<id>.
//
// payload = <stream tag> '\n' <JSON-RPC message>
//   tag "g"        the standalone GET stream
//   tag "<n>"      the POST stream of the client request recorded at offset n
// flags say what a record is; only plain records and finals are sent to a
// stream, everything else is kept for the session's history and routing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace litemcp::server::session_log {

inline constexpr std::uint32_t flag_client_request = 1;  // a request the client POSTed (opens stream n)
inline constexpr std::uint32_t flag_final = 2;           // the last record of a POST stream
inline constexpr std::uint32_t flag_client_answer = 4;   // the client's answer to a server request
inline constexpr std::uint32_t flag_silent = 8;          // with final: nothing to send (request cancelled)

inline constexpr std::string_view get_stream = "g";

inline std::string encode(std::string_view tag, std::string_view body) {
    std::string out;
    out.reserve(tag.size() + 1 + body.size());
    out.append(tag).push_back('\n');
    out.append(body);
    return out;
}

struct entry {
    std::string_view tag;
    std::string_view body;
};

inline entry decode(std::string_view payload) {
    auto nl = payload.find('\n');
    if (nl == std::string_view::npos) return {{}, payload};
    return {payload.substr(0, nl), payload.substr(nl + 1)};
}

}  // namespace litemcp::server::session_log
