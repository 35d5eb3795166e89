#include "server/streams/topic_follower.h"

#include <spdlog/spdlog.h>

#include "server/util/ids.h"

namespace litemcp::server {

topic_follower::~topic_follower() { stop(); }

topic_follower::topic_follower(store::store& st, work_pool& pool, std::string consumer, std::string what,
                               std::function<void()> on_ready)
    : store_(st), pool_(pool), consumer_(std::move(consumer)), what_(std::move(what)), on_ready_(std::move(on_ready)) {}

std::shared_ptr<topic_follower> topic_follower::start(store::store& st, work_pool& pool, std::string_view prefix,
                                                      const std::vector<std::string>& topics, std::string what,
                                                      std::function<void()> on_ready) {
    std::shared_ptr<topic_follower> f(
        new topic_follower(st, pool, std::string(prefix) + random_id(), std::move(what), std::move(on_ready)));
    std::weak_ptr<topic_follower> weak = f;
    (void)st.add_consumer(f->consumer_, [weak] {
        if (auto self = weak.lock()) self->wake();
    });
    for (auto& t : topics) (void)st.bind(f->consumer_, t);
    f->wake();  // whatever is already there
    return f;
}

void topic_follower::wake() {
    auto self = shared_from_this();
    if (!pool_.post([self] { self->ready(); }))
        spdlog::warn("{}: delivery queue full; its stream waits for the next wake", what_);
}

void topic_follower::ready() {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    store_.take_ready(consumer_);
    on_ready_();
}

follow_outcome topic_follower::read(std::string_view topic, std::uint64_t& pos,
                                    const std::function<bool(const store::record&)>& each) {
    return read_topic(store_, topic, pos, each, what_);
}

void topic_follower::stop() {
    if (stopped_.exchange(true)) return;
    store_.remove_consumer(consumer_);
}

}  // namespace litemcp::server
