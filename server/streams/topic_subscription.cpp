#include "server/streams/topic_subscription.h"

namespace litemcp::server {

store::result<std::unique_ptr<topic_subscription>> topic_subscription::open(store::store& st, std::string consumer,
                                                                            std::function<void()> wake) {
    std::unique_ptr<topic_subscription> s(new topic_subscription(st, std::move(consumer)));
    if (auto r = st.add_consumer(s->consumer_, std::move(wake)); !r) return std::unexpected(r.error());
    return s;
}

topic_subscription::~topic_subscription() { close(); }

store::result<void> topic_subscription::bind(std::string_view topic) { return store_.bind(consumer_, topic); }

void topic_subscription::take_ready() {
    if (!closed_) (void)store_.take_ready(consumer_);
}

void topic_subscription::suspend(std::string_view topic, std::chrono::milliseconds duration) {
    if (!closed_) store_.suspend(consumer_, topic, duration);
}

void topic_subscription::close() {
    if (closed_.exchange(true)) return;
    store_.remove_consumer(consumer_);
}

}  // namespace litemcp::server
