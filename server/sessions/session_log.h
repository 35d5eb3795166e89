// The layout of records in a session's lite topic mcp.session/<id>.
//
// payload = <stream tag> '\n' <JSON-RPC message>
//   tag "g"        the standalone GET stream
//   tag "<n>"      the POST stream of the client request recorded at offset n
//   tag "^<k>"     the POST stream of the client request recorded k records
//                  before this one: a request answered at once is recorded
//                  with its messages and response in one group, before its
//                  own offset is known
// flags say what a record is; only plain records and finals are sent to a
// stream, everything else is kept for the session's history and routing.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace litemcp::server::session_log {

inline constexpr std::uint32_t flag_client_request = 1;  // a request the client POSTed (opens stream n)
inline constexpr std::uint32_t flag_final = 2;           // the last record of a POST stream
inline constexpr std::uint32_t flag_client_answer = 4;   // the client's answer to a server request
inline constexpr std::uint32_t flag_silent = 8;          // with final: nothing to send (request cancelled)

inline constexpr std::string_view get_stream = "g";

inline std::string relative_tag(std::uint64_t k) { return "^" + std::to_string(k); }

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

// The absolute tag of a record's stream ("g", "<n>", or "" for a client
// record), with a relative tag resolved against the record's offset.
inline std::string stream_of(std::string_view tag, std::uint64_t offset) {
    if (!tag.starts_with('^')) return std::string(tag);
    std::uint64_t k = 0;
    auto [p, ec] = std::from_chars(tag.data() + 1, tag.data() + tag.size(), k);
    if (ec != std::errc() || p != tag.data() + tag.size() || k == 0 || k > offset) return std::string(tag);
    return std::to_string(offset - k);
}

// Whether the record at offset with this tag belongs to the stream `stream`
// (an absolute tag), without building strings on the replay path.
inline bool on_stream(std::string_view tag, std::uint64_t offset, std::string_view stream) {
    if (!tag.starts_with('^')) return tag == stream;
    std::uint64_t k = 0, n = 0;
    auto [p, ec] = std::from_chars(tag.data() + 1, tag.data() + tag.size(), k);
    if (ec != std::errc() || p != tag.data() + tag.size() || k == 0 || k > offset) return false;
    auto [q, ec2] = std::from_chars(stream.data(), stream.data() + stream.size(), n);
    return ec2 == std::errc() && q == stream.data() + stream.size() && n == offset - k;
}

}  // namespace litemcp::server::session_log
