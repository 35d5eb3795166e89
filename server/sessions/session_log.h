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
#include <optional>
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

// Where an SSE event of a session is, which its id says and Last-Event-ID
// brings back:
//   "<n>-<o>"    the POST stream of the client request recorded at offset n,
//                at the record at offset o >= n (n itself: before any record,
//                the priming event)
//   "g-<s>-<c>"  the standalone GET stream, having read the session topic up
//                to s and the change topic up to c
// Numbers are decimal without leading zeros, and only that form is read
// back: a stream's tag is matched as text, so "002" taken for 2 would resume
// a stream that matches no record.
struct event_position {
    bool get_stream = false;
    std::uint64_t first = 0;   // n, or s
    std::uint64_t second = 0;  // o, or c

    bool operator==(const event_position&) const = default;
};

inline std::string event_id(const event_position& p) {
    std::string n = std::to_string(p.first) + "-" + std::to_string(p.second);
    return p.get_stream ? std::string(get_stream) + "-" + n : n;
}

namespace detail {
inline std::optional<std::uint64_t> canonical_number(std::string_view s) {
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}
}  // namespace detail

// nullopt for anything event_id() does not write.
inline std::optional<event_position> parse_event_id(std::string_view v) {
    event_position p;
    if (v.starts_with(get_stream) && v.size() > get_stream.size() && v[get_stream.size()] == '-') {
        p.get_stream = true;
        v.remove_prefix(get_stream.size() + 1);
    }
    const auto dash = v.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto a = detail::canonical_number(v.substr(0, dash)), b = detail::canonical_number(v.substr(dash + 1));
    if (!a || !b || (!p.get_stream && *b < *a)) return std::nullopt;
    p.first = *a;
    p.second = *b;
    return p;
}

}  // namespace litemcp::server::session_log
