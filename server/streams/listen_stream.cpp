#include "server/streams/listen_stream.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/streams/change_log.h"

namespace litemcp::server {

namespace {
constexpr std::string_view key_subscription = "io.modelcontextprotocol/subscriptionId";
}

listen_stream::listen_stream(std::shared_ptr<transport::sse_stream> sse, json id, std::set<std::string> methods,
                             std::set<std::string> uris, std::set<std::string> tasks)
    : sse_(std::move(sse)), id_(std::move(id)), methods_(std::move(methods)), uris_(std::move(uris)),
      tasks_(std::move(tasks)) {}

std::shared_ptr<listen_stream> listen_stream::start(store::store& st, work_pool& pool,
                                                    std::shared_ptr<transport::sse_stream> sse, json request_id,
                                                    std::set<std::string> methods, std::set<std::string> uris,
                                                    std::set<std::string> tasks, json honoured) {
    std::shared_ptr<listen_stream> l(new listen_stream(std::move(sse), std::move(request_id), std::move(methods),
                                                       std::move(uris), std::move(tasks)));
    // Changes from now on: a listen is live, not a replay.
    auto top = st.topic(changes_topic);
    l->pos_ = top ? top->end_offset : 0;
    // The acknowledgement goes out at once: clients wait for it before they
    // expect anything else.
    l->sse_->send({}, to_json(l->tagged(make_notification("notifications/subscriptions/acknowledged",
                                                          json{{"notifications", std::move(honoured)}}))));
    std::weak_ptr<listen_stream> weak = l;
    {
        std::lock_guard lock(l->mu_);  // a first delivery waits for the follower
        l->follower_ = topic_follower::start(st, pool, "l.", {std::string(changes_topic)}, "listen", [weak] {
            if (auto self = weak.lock()) self->deliver();
        });
    }
    // The stream owns its listener until it ends (the cycle is cut when the
    // stream drops its close callback).
    l->sse_->on_closed([l] { l->stop(); });
    return l;
}

json listen_stream::tagged(json message) const {
    message["params"]["_meta"][std::string(key_subscription)] = id_;
    return message;
}

void listen_stream::deliver() {
    std::lock_guard lock(mu_);
    if (done_) return;
    follower_->read(changes_topic, pos_, [&](const store::record& rec) {
        auto msg = parse_json(rec.payload).value_or(json());
        if (!msg.is_object() || !msg.contains("method") || !msg["method"].is_string()) return true;
        const auto& method = msg["method"].get_ref<const std::string&>();
        const bool wanted = method == "notifications/resources/updated" ? uris_.contains(msg["params"].value("uri", ""))
                            : method == "notifications/tasks" ? tasks_.contains(msg["params"].value("taskId", ""))
                                                              : methods_.contains(method);
        return !wanted || sse_->send({}, to_json(tagged(std::move(msg))));
    });
}

bool listen_stream::open() const {
    std::lock_guard lock(mu_);
    return !done_ && sse_->is_open();
}

void listen_stream::finish() {
    {
        std::lock_guard lock(mu_);
        if (done_) return;
        done_ = true;
    }
    follower_->stop();
    sse_->send_last({}, to_json(make_result(id_, json{{"resultType", "complete"},
                                                      {"_meta", {{std::string(key_subscription), id_}}}})));
}

void listen_stream::stop() {
    {
        std::lock_guard lock(mu_);
        if (done_) return;
        done_ = true;
    }
    follower_->stop();
}

}  // namespace litemcp::server
