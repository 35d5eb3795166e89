#include "server/workers/call_origin.h"

namespace litemcp::server {

std::string call_origin::key() const {
    switch (of) {
    case kind::session: return "session/" + id;
    case kind::task: return "task/" + id;
    case kind::direct: break;
    }
    return "direct/" + id;
}

void call_origin::write_to(json& record) const {
    if (of == kind::session) {
        record["session"] = id;
        record["stream"] = stream;
    } else if (of == kind::task) {
        record["task"] = id;
    }
}

call_origin call_origin::read_from(const json& record) {
    if (const auto t = record.find("task"); t != record.end() && t->is_string()) return {kind::task, t->get<std::string>(), {}};
    const auto s = record.find("session");
    if (s == record.end() || !s->is_string()) return {};
    const auto& id = s->get_ref<const std::string&>();
    // Records written before origins were typed named a task "task/<id>"
    // and a 2026-07-28 request "req/<n>" in the session field.
    if (id.starts_with("task/")) return {kind::task, id.substr(5), {}};
    if (id.starts_with("req/")) return {};
    return {kind::session, id, record.value("stream", "")};
}

}  // namespace litemcp::server
