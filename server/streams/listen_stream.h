// One 2026-07-28 subscriptions/listen stream: an SSE response that carries
// the change notifications the client opted into, read from the shared
// change log mcp.changes/all -- the same log that feeds legacy GET streams --
// and woken by the store's ready set, never by polling.
//
// Frames: first notifications/subscriptions/acknowledged with the honoured
// filter, then each matching notification; every frame carries
// _meta["io.modelcontextprotocol/subscriptionId"] = the listen request's id.
// A server-side end sends the final result (resultType "complete" with the
// subscription id) and closes.
//
// Threading: a topic_follower wakes it; delivery runs on the delivery pool,
// one at a time. Lifetime: owned by
// its SSE stream's close callback and by the server's list of open listens.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "server/rpc/json_rpc.h"
#include "server/streams/topic_follower.h"
#include "server/util/work_pool.h"
#include "store/store.h"
#include "transport/sse_stream.h"

namespace litemcp::server {

class listen_stream : public std::enable_shared_from_this<listen_stream> {
public:
    // methods: the list-changed notifications the client opted into;
    // uris: the resources whose notifications/resources/updated it wants;
    // tasks: the tasks whose notifications/tasks it wants.
    static std::shared_ptr<listen_stream> start(store::store& st, work_pool& pool,
                                                std::shared_ptr<transport::sse_stream> sse, json request_id,
                                                std::set<std::string> methods, std::set<std::string> uris,
                                                std::set<std::string> tasks, json honoured);
    // Ends the stream from the server's side: the final result, then close.
    void finish();
    bool open() const;

private:
    listen_stream(std::shared_ptr<transport::sse_stream> sse, json id, std::set<std::string> methods,
                  std::set<std::string> uris, std::set<std::string> tasks);
    void deliver();
    json tagged(json message) const;
    void stop();

    std::shared_ptr<transport::sse_stream> sse_;
    json id_;
    std::set<std::string> methods_;
    std::set<std::string> uris_;
    std::set<std::string> tasks_;
    std::shared_ptr<topic_follower> follower_;  // set in start(), under mu_
    mutable std::mutex mu_;
    std::uint64_t pos_ = 0;  // next offset of the change log
    bool done_ = false;
};

}  // namespace litemcp::server
