// An incremental parser of the text/event-stream format: what an MCP client
// reads from an upstream server's SSE answer or GET stream. The reading side
// of what transport/beast/wire_format.h writes.
//
// It follows the WHATWG HTML "server-sent events" parsing rules (section
// 9.2.6, "Interpreting an event stream"): lines end with CRLF, LF or CR; a
// leading UTF-8 byte order mark is dropped; a line starting with ':' is a
// comment; "field:value" drops one space after the colon, and a line without
// a colon is a field with an empty value; data lines are joined with "\n";
// an id containing NUL is ignored; retry takes ASCII digits only; unknown
// fields are ignored; a blank line ends the event.
//
// Which events are reported differs from a browser's EventSource in one way:
// a browser drops an event whose data buffer is empty (it only updates the
// last event ID or the reconnection time). This parser reports it too when
// it carried an id or a retry field, because a client needs the id of a
// priming event (SEP-1699) and the retry a server sends before closing. A
// block with neither data, id nor retry (an event: line alone) is dropped as
// in a browser.
//
// Threading: none; one parser per stream, used by one thread at a time.
// Lifetime: a value; it holds at most one pending event and one partial
// line, bounded by max_event_bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace litemcp::transport {

// One event read from a stream.
struct sse_event_in {
    // The last event ID as a browser keeps it: the value of the latest id
    // field of the stream, in this event or an earlier one (an "id:" with an
    // empty value resets it to empty). This is what a client sends back as
    // Last-Event-ID when it resumes.
    std::string id;
    bool has_id = false;  // this event itself had an id field
    // The event: field; empty means the default type, "message".
    std::string event;
    // The data: lines joined with "\n" (no trailing newline). Empty for an
    // event reported for its id or retry alone, and for "data:" with nothing.
    std::string data;
    // The retry: field of this event, when it had a valid one.
    std::optional<std::chrono::milliseconds> retry;
};

class sse_parser {
public:
    // max_event_bytes bounds what is buffered: the pending event's data,
    // event type and id plus the current partial line. Default: 16 MiB.
    explicit sse_parser(std::size_t max_event_bytes = 16u << 20);

    // Feeds the next bytes of the stream, split anywhere (also between a CR
    // and its LF), and calls on_event for each event they complete, in order.
    // Returns false once an event grows past max_event_bytes; the parser then
    // stays failed (every later feed returns false and reports nothing).
    bool feed(std::string_view bytes, const std::function<void(sse_event_in&&)>& on_event);

    bool failed() const { return failed_; }

private:
    void line(std::string_view l, const std::function<void(sse_event_in&&)>& on_event);
    void dispatch(const std::function<void(sse_event_in&&)>& on_event);
    std::size_t buffered() const { return partial_.size() + data_.size() + event_.size() + last_id_.size(); }

    std::size_t max_;
    std::string partial_;  // an unfinished line
    std::string data_;     // the data buffer: each data line and a "\n"
    std::string event_;
    std::string last_id_;
    std::optional<std::chrono::milliseconds> retry_;
    bool has_id_ = false;
    bool after_cr_ = false;    // the last byte was a CR: an LF next ends nothing
    bool first_line_ = true;   // a byte order mark is dropped from it
    bool failed_ = false;
};

}  // namespace litemcp::transport
