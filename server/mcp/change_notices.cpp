#include "server/mcp/change_notices.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/mcp/task_runner.h"
#include "server/sessions/session_log.h"
#include "server/streams/change_log.h"

namespace litemcp::server {

void change_notices::list_changed(list_kind k) {
    const char* method = k == list_kind::tools       ? "notifications/tools/list_changed"
                         : k == list_kind::resources ? "notifications/resources/list_changed"
                                                     : "notifications/prompts/list_changed";
    // One append; every GET stream reads it from the shared change log.
    if (auto r = p_.st.append(changes_topic, to_json(make_notification(method, nullptr))); !r)
        spdlog::error("litemcp: cannot record {}: {}", method, r.error().message);
}

void change_notices::resource_updated(const std::string& uri) {
    const auto msg = make_notification("notifications/resources/updated", json{{"uri", uri}});
    // 2026-07-28 listeners read it from the change log, each for its URIs
    // (with a shared store, listeners on other servers too).
    if (p_.st.shared() || p_.listeners.listening())
        if (auto r = p_.st.append(changes_topic, to_json(msg), changes_flag_listen_only); !r)
            spdlog::error("litemcp: cannot record the update of {}: {}", uri, r.error().message);
    // Legacy sessions subscribed with resources/subscribe get it on their GET stream.
    const std::string prefix = "sub/" + uri + "\n";
    auto subs = p_.st.kv_scan(prefix, {}, 100'000);
    if (!subs) return;
    const auto text = to_json(msg);
    for (auto& [key, value] : *subs) {
        auto found = p_.sessions.find(key.substr(prefix.size()));
        if (!found) continue;  // the store did not answer: not a reason to unsubscribe it
        auto s = *found;
        if (!s) {
            (void)p_.st.kv_delete(key);
            continue;
        }
        (void)p_.st.append(s->topic, session_log::encode(session_log::get_stream, text));
    }
}

void change_notices::task_changed(const task_record& r) {
    if (!r.session.empty()) {
        auto s = p_.sessions.find(r.session).value_or(nullptr);
        if (!s || s->ended) return;
        const auto msg = make_notification("notifications/tasks/status", task_view(r, false));
        p_.st.append_async(s->topic, session_log::encode(session_log::get_stream, to_json(msg)), 0, nullptr);
        return;
    }
    // Nobody can be listening for it (here; with a shared store, listeners
    // on other servers follow the same topic).
    if (!p_.st.shared() && !p_.listeners.listening()) return;
    const auto msg = make_notification("notifications/tasks", task_detail(r));
    p_.st.append_async(changes_topic, to_json(msg), changes_flag_listen_only, nullptr);
}

}  // namespace litemcp::server
