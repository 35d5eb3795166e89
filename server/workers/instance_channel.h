// How the hub reaches one instance of a worker: the messages of
// worker_messages.h, in order. An instance over HTTP is an SSE stream
// (sse_channel); litemcp's own instances (an upstream's MCP client,
// server/upstreams/) take the messages as JSON, with no text between.
//
// Threading: every method may be called from any thread, with the hub's
// mutex held: an implementation never blocks and never calls the hub.
// Lifetime: shared by the hub and whoever feeds the instance; sends after
// the end return false. on_closed callbacks run once, off the caller's
// thread, when the channel ends for any reason.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "server/json/json.h"

namespace litemcp::transport {
class sse_stream;
}

namespace litemcp::server {

class instance_channel {
public:
    virtual ~instance_channel() = default;
    // Queues one message; offset (the call's place in the worker's queue,
    // may be empty) becomes the SSE event's id. False when the channel has
    // ended or the message does not fit its bound (the channel is then
    // aborted: an instance that does not read loses its connection).
    virtual bool send(std::string_view offset, const json& message) = 0;
    // Ends the channel after what is queued; abort() drops it now (another
    // instance took over under the same id, or shutdown).
    virtual void close() = 0;
    virtual void abort() = 0;
    virtual bool is_open() const = 0;
    virtual void on_closed(std::function<void()> f) = 0;
};

// An instance attached over HTTP: each message one SSE event.
std::shared_ptr<instance_channel> sse_channel(std::shared_ptr<transport::sse_stream> stream);

}  // namespace litemcp::server
