// Private to transport/: the bytes on the wire, as pure functions -- the
// transport's own error bodies, SSE events and priming events, response
// heads and chunked framing. Inline: SSE events are framed per message.
// No Beast here: test/transport/wire_format_test.cpp pins these bytes.
#pragma once

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "transport/http_message.h"

namespace litemcp::transport {

using namespace std::string_view_literals;  // literals appended without strlen

inline http_response default_error(unsigned status, std::string message) {
    http_response r;
    r.status = status;
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    r.body = std::move(message) + "\n";
    return r;
}

// SSE framing: a data line per line of the payload (JSON has none, but an
// event must never be split or injected by a newline in the data).
inline void append_event(std::string& out, std::string_view id, std::string_view data) {
    if (!id.empty()) out.append("id: "sv).append(id).append("\n"sv);
    std::size_t start = 0;
    for (;;) {
        auto nl = data.find('\n', start);
        out.append("data: "sv).append(data.substr(start, nl == std::string_view::npos ? nl : nl - start));
        out.append("\n"sv);
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out.append("\n"sv);
}

inline std::string frame_event(std::string_view id, std::string_view data) {
    std::string out;
    out.reserve(id.size() + data.size() + 16);
    append_event(out, id, data);
    return out;
}

inline void append_priming(std::string& out, std::string_view id, std::chrono::milliseconds retry) {
    out.append("id: "sv).append(id).append("\nretry: "sv).append(std::to_string(retry.count()));
    out.append("\ndata: \n\n"sv);
}

inline std::string frame_priming(std::string_view id, std::chrono::milliseconds retry) {
    std::string out;
    append_priming(out, id, retry);
    return out;
}

// A header line; a CR or LF in a value (never meant, but a value may quote a
// client) becomes a space rather than end the line.
inline void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": "sv);
    const auto from = out.size();
    out.append(value);
    for (auto i = from; i < out.size(); ++i)
        if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    out.append("\r\n"sv);
}

// The header of an SSE response (start_sse and respond_events).
inline void append_sse_head(std::string& out, const header_list& extra, bool keep_alive) {
    out.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               "Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n"sv);
    for (auto& [n, v] : extra.all()) append_header(out, n, v);
    if (!keep_alive) out.append("Connection: close\r\n"sv);
    out.append("Transfer-Encoding: chunked\r\n\r\n"sv);
}

// A chunk's size line.
inline void append_chunk_size(std::string& out, std::size_t n) {
    char size[24];
    auto end = std::to_chars(size, size + sizeof size, n, 16).ptr;
    out.append(size, end).append("\r\n"sv);
}

// Appends a chunk of the given bytes (none when empty).
inline void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    append_chunk_size(out, data.size());
    out.append(data).append("\r\n"sv);
}

}  // namespace litemcp::transport
