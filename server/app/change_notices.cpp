// Notifications of changes, to whoever asked: list changes (to every
// session's GET stream and the listen streams, through the shared change
// log), resource updates (to subscribed sessions and listeners) and task
// status changes (to the task's session, or to the listen streams).
#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/app/mcp_server_impl.h"

namespace litemcp::server {

void mcp_server::impl::broadcast_list_changed(list_kind k) {
    const char* method = k == list_kind::tools       ? "notifications/tools/list_changed"
                         : k == list_kind::resources ? "notifications/resources/list_changed"
                                                     : "notifications/prompts/list_changed";
    if (!st) return;  // providers registering before the store opens
    // One append; every GET stream reads it from the shared change log.
    if (auto r = st->append(changes_topic, to_json(make_notification(method, nullptr))); !r)
        spdlog::error("litemcp: cannot record {}: {}", method, r.error().message);
}

void mcp_server::impl::resource_updated(const std::string& uri) {
    const auto msg = make_notification("notifications/resources/updated", json{{"uri", uri}});
    // 2026-07-28 listeners read it from the change log, each for its URIs.
    bool listening;
    {
        std::lock_guard lock(listens_mu);
        listening = !listens.empty();
    }
    if (listening)
        if (auto r = st->append(changes_topic, to_json(msg), changes_flag_listen_only); !r)
            spdlog::error("litemcp: cannot record the update of {}: {}", uri, r.error().message);
    // Legacy sessions subscribed with resources/subscribe get it on their GET stream.
    const std::string prefix = "sub/" + uri + "\n";
    auto subs = st->kv_scan(prefix, {}, 100'000);
    if (!subs) return;
    for (auto& [key, value] : *subs) {
        auto s = sessions->find(key.substr(prefix.size()));
        if (!s) {
            (void)st->kv_delete(key);
            continue;
        }
        (void)emit(*s, session_log::get_stream, msg);
    }
}

void mcp_server::impl::task_changed(const task_record& r) {
    if (!r.session.empty()) {
        auto s = sessions->find(r.session);
        if (!s || s->ended) return;
        const auto msg = make_notification("notifications/tasks/status", task_view(r, false));
        st->append_async(s->topic, session_log::encode(session_log::get_stream, to_json(msg)), 0, nullptr);
        return;
    }
    {
        std::lock_guard lock(listens_mu);
        if (listens.empty()) return;  // nobody can be listening for it
    }
    const auto msg = make_notification("notifications/tasks", task_detail(r));
    st->append_async(changes_topic, to_json(msg), changes_flag_listen_only, nullptr);
}

}  // namespace litemcp::server
