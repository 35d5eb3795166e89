// Live views for the admin API's /admin/tail: one store observer fans new
// records out to every open tail whose pattern matches their lite topic.
//
// Threading: fan_out runs on the thread committing the store's batch and
// only queues SSE frames (bounded per stream: a terminal that stops reading
// is dropped).
// add/remove from any thread. Lifetime: owned by the server; a tail leaves
// when its stream closes.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "transport/sse_stream.h"

namespace litemcp::server {

struct admin_tails {
    struct tail {
        std::string pattern;  // '*' matches any run of characters
        std::shared_ptr<transport::sse_stream> sse;
    };
    void add(store::store& st, std::shared_ptr<tail> t);
    void remove(store::store& st, const tail* t);
    void fan_out(std::string_view topic, std::uint64_t offset, std::uint32_t flags, std::string_view payload);

    std::mutex mu;
    std::vector<std::shared_ptr<tail>> tails;
};

}  // namespace litemcp::server
