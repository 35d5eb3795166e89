// Event ids on both sides of an SSE stream. litemcp writes an event's id
// with the payload (transport/beast/wire_format.h) and, as an MCP client of
// upstream servers, reads streams and keeps the last event id to send back
// as Last-Event-ID (transport/sse_parser.h); a session's records carry the
// stream tag its event ids are made of (server/sessions/session_log.h). The
// input is read three ways:
//
//  * as a stream: the parser reads it alike whole and cut into pieces (the
//    header: "split anywhere, also between a CR and its LF"), with a bound
//    small enough to be reached, and fails alike;
//  * as an id and a payload (split at the first NUL): framed as an event and
//    as a priming event, they read back as that id, payload and retry -- for
//    ids without CR, LF or NUL and payloads without CR, which litemcp never
//    frames (its ids are numbers, its payloads JSON text);
//  * as a record's stream tag and an offset: encode/decode round-trip, and
//    stream_of and on_stream, which parse a relative tag each on their own,
//    agree.
//
//  * as a Last-Event-ID value, which the server parses
//    (session_log::parse_event_id): what it accepts is exactly what
//    event_id() writes, so it writes the input back byte for byte; and a
//    position made of the input's bytes is written and read back to itself.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/sessions/session_log.h"
#include "test/fuzz/fuzz_check.h"
#include "transport/beast/wire_format.h"
#include "transport/sse_parser.h"

namespace {

using litemcp::transport::sse_event_in;
using litemcp::transport::sse_parser;

struct stream_read {
    std::vector<sse_event_in> events;
    bool ok = true;
};

bool same_events(const stream_read& a, const stream_read& b) {
    if (a.ok != b.ok || a.events.size() != b.events.size()) return false;
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        const auto &x = a.events[i], &y = b.events[i];
        if (x.id != y.id || x.has_id != y.has_id || x.event != y.event || x.data != y.data || x.retry != y.retry)
            return false;
    }
    return true;
}

// The stream fed in pieces of `piece` bytes (the whole of it when larger).
stream_read read_stream(std::string_view bytes, std::size_t piece, std::size_t bound) {
    sse_parser parser(bound);
    stream_read out;
    const auto sink = [&](sse_event_in&& e) { out.events.push_back(std::move(e)); };
    for (std::size_t at = 0; at < bytes.size() && out.ok; at += piece) out.ok = parser.feed(bytes.substr(at, piece), sink);
    FUZZ_CHECK(out.ok != parser.failed());
    return out;
}

void check_stream(std::string_view bytes) {
    for (const std::size_t bound : {std::size_t(16) << 20, std::size_t(256)}) {
        const auto whole = read_stream(bytes, bytes.size() + 1, bound);
        FUZZ_CHECK(same_events(whole, read_stream(bytes, 1, bound)));
        FUZZ_CHECK(same_events(whole, read_stream(bytes, 5, bound)));
        for (const auto& e : whole.events) FUZZ_CHECK(e.id.find('\0') == std::string::npos);
    }
}

stream_read read_framed(const std::string& framed) { return read_stream(framed, framed.size() + 1, 16u << 20); }

void check_round_trip(std::string_view id, std::string_view payload) {
    if (id.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return;
    if (payload.find('\r') == std::string_view::npos) {
        const auto read = read_framed(litemcp::transport::frame_event(id, payload));
        FUZZ_CHECK(read.ok && read.events.size() == 1);
        FUZZ_CHECK(read.events[0].data == payload && read.events[0].id == id && read.events[0].has_id == !id.empty());
    }
    const std::chrono::milliseconds retry(payload.size() * 97);
    const auto read = read_framed(litemcp::transport::frame_priming(id, retry));
    FUZZ_CHECK(read.ok && read.events.size() == 1);
    FUZZ_CHECK(read.events[0].id == id && read.events[0].has_id && read.events[0].retry == retry);
    FUZZ_CHECK(read.events[0].data.empty());
}

void check_tags(std::string_view input) {
    namespace tags = litemcp::server::session_log;
    const auto nl = input.find('\n');
    const std::string_view tag = input.substr(0, nl);
    const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    const std::string record = tags::encode(tag, body);
    const auto entry = tags::decode(record);  // views into record
    FUZZ_CHECK(entry.tag == tag && entry.body == body);

    std::uint64_t offset = 0;
    if (!body.empty()) std::memcpy(&offset, body.data(), std::min(body.size(), sizeof offset));
    const auto stream = tags::stream_of(tag, offset);
    const bool resolved = !tag.starts_with('^') || stream != tag;
    FUZZ_CHECK(tags::on_stream(tag, offset, stream) == resolved);
    if (offset > 0) {
        const std::uint64_t k = 1 + offset % 1000 % offset;  // 1 <= k <= offset
        FUZZ_CHECK(tags::stream_of(tags::relative_tag(k), offset) == std::to_string(offset - k));
        FUZZ_CHECK(tags::on_stream(tags::relative_tag(k), offset, std::to_string(offset - k)));
    }
}

void check_event_ids(std::string_view input) {
    namespace tags = litemcp::server::session_log;
    if (auto at = tags::parse_event_id(input)) FUZZ_CHECK(tags::event_id(*at) == input);
    tags::event_position p;
    std::uint64_t n[2] = {0, 0};
    std::memcpy(n, input.data(), std::min(input.size(), sizeof n));
    p.get_stream = !input.empty() && (input.back() & 1);
    p.first = n[0] >> (input.size() % 64);  // small numbers too, not only 20-digit ones
    p.second = n[1] >> (input.size() % 61);
    if (!p.get_stream && p.second < p.first) std::swap(p.first, p.second);
    FUZZ_CHECK(tags::parse_event_id(tags::event_id(p)) == p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_stream(input);
    const auto nul = input.find('\0');
    if (nul != std::string_view::npos) check_round_trip(input.substr(0, nul), input.substr(nul + 1));
    else check_round_trip(input.substr(0, std::min<std::size_t>(size, 24)), input.substr(std::min<std::size_t>(size, 24)));
    check_tags(input);
    check_event_ids(input);
    return 0;
}
