// A server-sent-events response being written to one client connection.
//
// Threading: every method may be called from any thread; the writes happen
// on the connection's strand, with one write in flight and a bounded queue.
// Lifetime: shared by the connection and whoever feeds it; it outlives the
// socket harmlessly (sends after the end return false). on_closed runs once,
// on an I/O thread, when the stream ends for any reason.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

namespace litemcp::transport {

class sse_stream {
public:
    virtual ~sse_stream() = default;

    // Queues one event ("id:" when id is non-empty, then "data:" lines).
    // Returns false when the stream has ended, or when the queue would exceed
    // its byte bound -- then the stream is aborted: a client that does not
    // read loses its connection, never the server its memory.
    virtual bool send(std::string_view id, std::string_view data) = 0;
    // The priming event of SEP-1699: an id, a retry hint and empty data, so a
    // client can resume from here even before the first real event.
    virtual bool send_priming(std::string_view id, std::chrono::milliseconds retry) = 0;
    // Queues "retry: <ms>" (how long the client waits before reconnecting).
    virtual bool send_retry(std::chrono::milliseconds delay) = 0;
    // Ends the stream after everything queued is written; the connection stays
    // usable for the next request (keep-alive).
    virtual void close() = 0;
    // send(), then close(): a stream's last event, written together with
    // the stream's end where the stream can (one write, not two).
    virtual bool send_last(std::string_view id, std::string_view data) {
        if (!send(id, data)) return false;
        close();
        return true;
    }
    // Drops the connection now (a newer stream took over, or shutdown).
    virtual void abort() = 0;
    virtual bool is_open() const = 0;
    virtual void on_closed(std::function<void()> f) = 0;
};

}  // namespace litemcp::transport
