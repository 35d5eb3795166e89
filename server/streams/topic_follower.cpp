#include "server/streams/topic_follower.h"

#include <spdlog/spdlog.h>

#include "server/util/ids.h"

namespace litemcp::server {

topic_follower::~topic_follower() { stop(); }

topic_follower::topic_follower(store::store& st, work_pool& pool, std::string what, std::function<void()> on_ready)
    : store_(st), pool_(pool), what_(std::move(what)), on_ready_(std::move(on_ready)) {}

std::shared_ptr<topic_follower> topic_follower::start(store::store& st, work_pool& pool, std::string_view prefix,
                                                      const std::vector<std::string>& topics, std::string what,
                                                      std::function<void()> on_ready) {
    std::shared_ptr<topic_follower> f(new topic_follower(st, pool, std::move(what), std::move(on_ready)));
    std::weak_ptr<topic_follower> weak = f;
    auto sub = topic_subscription::open(st, std::string(prefix) + random_id(), [weak] {
        if (auto self = weak.lock()) self->wake();
    });
    if (sub) {
        f->subscription_ = std::move(*sub);
        for (auto& t : topics) (void)f->subscription_->bind(t);
    } else {  // read once; no wake-ups
        spdlog::error("{}: cannot follow its topics: {}", f->what_, sub.error().message);
    }
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
    if (subscription_) subscription_->take_ready();
    on_ready_();
}

follow_outcome topic_follower::read(std::string_view topic, std::uint64_t& pos,
                                    const std::function<bool(const store::record&)>& each) {
    return read_topic(store_, topic, pos, each, what_);
}

void topic_follower::stop() {
    if (stopped_.exchange(true)) return;
    if (subscription_) subscription_->close();
}

}  // namespace litemcp::server
