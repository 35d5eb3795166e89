// The bytes the transport writes itself: SSE events and priming events,
// response heads, chunked framing and its own error bodies.
#include <doctest/doctest.h>

#include "transport/beast/wire_format.h"

using namespace litemcp::transport;

TEST_CASE("an SSE event is an id line, one data line per line of the payload, and a blank line") {
    CHECK(frame_event("7", R"({"a":1})") == "id: 7\ndata: {\"a\":1}\n\n");
    CHECK(frame_event("", "x") == "data: x\n\n");  // no id: no id line
    CHECK(frame_event("", "") == "data: \n\n");
    // A newline in the payload cannot end the event or inject a field.
    CHECK(frame_event("1", "a\nid: 9\n\nb") == "id: 1\ndata: a\ndata: id: 9\ndata: \ndata: b\n\n");
    CHECK(frame_event("1", "end\n") == "id: 1\ndata: end\ndata: \n\n");
}

TEST_CASE("events append to what is already buffered") {
    std::string out = "x";
    append_event(out, "1", "a");
    append_event(out, "2", "b");
    CHECK(out == "xid: 1\ndata: a\n\nid: 2\ndata: b\n\n");
}

TEST_CASE("a priming event carries the id and the retry delay, with empty data") {
    CHECK(frame_priming("0", std::chrono::milliseconds(1500)) == "id: 0\nretry: 1500\ndata: \n\n");
}

TEST_CASE("a CR or LF in a header value becomes a space and cannot start a header") {
    std::string out;
    append_header(out, "X-Note", "a\r\nSet-Cookie: b");
    CHECK(out == "X-Note: a  Set-Cookie: b\r\n");
}

TEST_CASE("an SSE head: status, event-stream type, no caching, extra headers, chunked") {
    header_list extra;
    extra.set("Mcp-Session-Id", "abc");
    std::string keep;
    append_sse_head(keep, extra, true);
    CHECK(keep.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
    CHECK(keep.find("Cache-Control: no-cache, no-transform\r\n") != std::string::npos);
    CHECK(keep.find("Mcp-Session-Id: abc\r\n") != std::string::npos);
    CHECK(keep.find("Connection: close") == std::string::npos);
    CHECK(keep.ends_with("Transfer-Encoding: chunked\r\n\r\n"));

    std::string closing;
    append_sse_head(closing, {}, false);
    CHECK(closing.find("Connection: close\r\n") != std::string::npos);
    CHECK(closing.ends_with("\r\n\r\n"));
}

TEST_CASE("a chunk is its size in hex, CRLF, the bytes, CRLF; an empty one writes nothing") {
    std::string out;
    append_chunk(out, "");
    CHECK(out.empty());  // an empty chunk would end the body
    append_chunk(out, "abc");
    CHECK(out == "3\r\nabc\r\n");
    out.clear();
    append_chunk(out, std::string(255, 'z'));
    CHECK(out.starts_with("ff\r\nzz"));
    CHECK(out.size() == 2 + 2 + 255 + 2);
    out.clear();
    append_chunk_size(out, 0x10000);
    CHECK(out == "10000\r\n");
}

TEST_CASE("the transport's own errors are plain text with a final newline") {
    auto r = default_error(413, "body too large");
    CHECK(r.status == 413);
    CHECK(r.headers.get("content-type") == "text/plain; charset=utf-8");
    CHECK(r.body == "body too large\n");
}
