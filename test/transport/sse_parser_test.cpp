// Reading text/event-stream: line endings, fields, split points and the bound.
#include <doctest/doctest.h>

#include <vector>

#include "transport/beast/wire_format.h"
#include "transport/sse_parser.h"

using namespace litemcp::transport;
using namespace std::chrono_literals;

namespace {

std::vector<sse_event_in> parse_all(std::string_view text, std::size_t max = 16u << 20) {
    sse_parser p(max);
    std::vector<sse_event_in> out;
    CHECK(p.feed(text, [&](sse_event_in&& e) { out.push_back(std::move(e)); }));
    return out;
}

// The same stream fed in pieces cut at every position (two cuts), compared
// with the events of one feed.
void check_every_split(std::string_view text) {
    const auto whole = parse_all(text);
    for (std::size_t i = 0; i <= text.size(); ++i)
        for (std::size_t j = i; j <= text.size(); ++j) {
            sse_parser p;
            std::vector<sse_event_in> got;
            auto sink = [&](sse_event_in&& e) { got.push_back(std::move(e)); };
            REQUIRE(p.feed(text.substr(0, i), sink));
            REQUIRE(p.feed(text.substr(i, j - i), sink));
            REQUIRE(p.feed(text.substr(j), sink));
            REQUIRE(got.size() == whole.size());
            for (std::size_t k = 0; k < got.size(); ++k) {
                CHECK(got[k].id == whole[k].id);
                CHECK(got[k].has_id == whole[k].has_id);
                CHECK(got[k].event == whole[k].event);
                CHECK(got[k].data == whole[k].data);
                CHECK(got[k].retry == whole[k].retry);
            }
        }
}

}  // namespace

TEST_CASE("an event is its data lines joined with newlines, dispatched on a blank line") {
    auto ev = parse_all("data: a\ndata: b\n\ndata: c\n\n");
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].data == "a\nb");
    CHECK(ev[1].data == "c");
    CHECK(ev[0].event.empty());
    CHECK(!ev[0].has_id);
    CHECK(!ev[0].retry);
}

TEST_CASE("an event without its blank line is not dispatched yet") {
    sse_parser p;
    int n = 0;
    CHECK(p.feed("data: x\n", [&](sse_event_in&&) { ++n; }));
    CHECK(n == 0);
    CHECK(p.feed("\n", [&](sse_event_in&&) { ++n; }));
    CHECK(n == 1);
}

TEST_CASE("lines may end with CRLF, LF or CR, mixed") {
    for (std::string_view text : {"data: a\r\ndata: b\r\n\r\n", "data: a\ndata: b\n\n", "data: a\rdata: b\r\r",
                                  "data: a\r\ndata: b\r\r", "data: a\rdata: b\n\r\n"}) {
        auto ev = parse_all(text);
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].data == "a\nb");
    }
    // CR LF is one line end, LF CR is two (a blank line after the data).
    CHECK(parse_all("data: a\r\n").empty());
    CHECK(parse_all("data: a\n\r").size() == 1);
}

TEST_CASE("a CRLF split between two feeds ends one line") {
    sse_parser p;
    std::vector<sse_event_in> ev;
    auto sink = [&](sse_event_in&& e) { ev.push_back(std::move(e)); };
    CHECK(p.feed("data: a\r", sink));
    CHECK(p.feed("\ndata: b\r", sink));
    CHECK(p.feed("", sink));  // an empty feed keeps the pending CR
    CHECK(p.feed("\n\r", sink));
    CHECK(p.feed("\n", sink));
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].data == "a\nb");
}

TEST_CASE("every split of a stream gives the events of one feed") {
    check_every_split("id: 1\r\nevent: note\r\ndata: {\"a\":1}\r\ndata:two\r\n\r\n: ping\r\rretry: 250\nid\n\ndata: z\r\n\r\n");
    check_every_split("\xEF\xBB\xBF" "data: bom\r\n\r\n");
}

TEST_CASE("one leading space is dropped after the colon, no more") {
    auto ev = parse_all("data:x\n\ndata: x\n\ndata:  x\n\n");
    REQUIRE(ev.size() == 3);
    CHECK(ev[0].data == "x");
    CHECK(ev[1].data == "x");
    CHECK(ev[2].data == " x");
}

TEST_CASE("a field without a colon has an empty value") {
    auto ev = parse_all("data\ndata\n\n");
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].data == "\n");
    auto empty = parse_all("data:\n\n");  // one empty data line: an event with empty data
    REQUIRE(empty.size() == 1);
    CHECK(empty[0].data.empty());
}

TEST_CASE("comment lines and unknown fields are ignored") {
    auto ev = parse_all(":\n\n: keep-alive\ndata: a\n:data: b\nfoo: bar\nData: c\n\n");
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].data == "a");
    CHECK(parse_all(":\n\n:\n\n").empty());  // the server's keep-alives report nothing
}

TEST_CASE("event names the type; a block with only an event line is dropped") {
    auto ev = parse_all("event: progress\ndata: 1\n\nevent: lonely\n\ndata: 2\n\n");
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].event == "progress");
    CHECK(ev[1].event.empty());  // the type does not carry over
    CHECK(ev[1].data == "2");
}

TEST_CASE("an event with an id and no data is reported: a priming event") {
    auto ev = parse_all(frame_priming("p-0", 1500ms));
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].id == "p-0");
    CHECK(ev[0].has_id);
    CHECK(ev[0].data.empty());
    CHECK(ev[0].retry == 1500ms);

    auto bare = parse_all("id: 7\n\n");
    REQUIRE(bare.size() == 1);
    CHECK(bare[0].id == "7");
    CHECK(bare[0].has_id);
}

TEST_CASE("the last event id carries over to events without an id; an empty id resets it") {
    auto ev = parse_all("id: 5\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\n");
    REQUIRE(ev.size() == 4);
    CHECK(ev[0].id == "5");
    CHECK(ev[0].has_id);
    CHECK(ev[1].id == "5");
    CHECK(!ev[1].has_id);
    CHECK(ev[2].id.empty());
    CHECK(ev[2].has_id);
    CHECK(ev[3].id.empty());
    CHECK(!ev[3].has_id);
}

TEST_CASE("an id containing NUL is ignored") {
    using namespace std::string_view_literals;
    auto ev = parse_all("id: 1\n\nid: a\0b\ndata: x\n\n"sv);
    REQUIRE(ev.size() == 2);
    CHECK(ev[1].id == "1");
    CHECK(!ev[1].has_id);
}

TEST_CASE("retry takes ASCII digits only; a retry alone is reported") {
    auto ev = parse_all("retry: 3000\n\nretry: 12a\ndata: x\n\nretry: -5\ndata: y\n\nretry:\ndata: z\n\n"
                        "retry: 99999999999999999999999\ndata: w\n\n");
    REQUIRE(ev.size() == 5);
    CHECK(ev[0].retry == 3000ms);
    CHECK(ev[0].data.empty());
    CHECK(!ev[0].has_id);
    for (std::size_t i = 1; i < ev.size(); ++i) CHECK(!ev[i].retry);
}

TEST_CASE("what the server writes reads back as written") {
    std::string stream;
    append_event(stream, "41", R"({"jsonrpc":"2.0","method":"notifications/progress"})");
    append_event(stream, "", "line one\nline two");
    auto ev = parse_all(stream);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].id == "41");
    CHECK(ev[0].data == R"({"jsonrpc":"2.0","method":"notifications/progress"})");
    CHECK(ev[1].data == "line one\nline two");
}

TEST_CASE("a leading byte order mark is dropped, only at the start of the stream") {
    auto ev = parse_all("\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n");
    REQUIRE(ev.size() == 1);  // the second BOM makes the field name unknown
    CHECK(ev[0].data == "a");
}

TEST_CASE("an event past the bound fails the parser for good") {
    sse_parser p(64);
    int n = 0;
    auto sink = [&](sse_event_in&&) { ++n; };
    CHECK(p.feed("data: " + std::string(40, 'a') + "\n\n", sink));
    CHECK(n == 1);  // events are counted one at a time
    CHECK(p.feed("data: " + std::string(40, 'a') + "\n", sink));
    CHECK(!p.feed("data: " + std::string(40, 'b') + "\n", sink));  // the pending event exceeds it
    CHECK(p.failed());
    CHECK(!p.feed("\n", sink));
    CHECK(n == 1);

    sse_parser line(64);
    CHECK(line.feed(std::string(60, 'x'), sink));  // a line that never ends
    CHECK(!line.feed(std::string(10, 'x'), sink));
    sse_parser whole(64);
    CHECK(!whole.feed("data: " + std::string(100, 'c') + "\n\n", sink));  // in one feed too
    CHECK(n == 1);
}
