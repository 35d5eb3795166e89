#include "server/workers/call_origin.h"

#include "server/json/json_text.h"

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

void call_origin::write_to(json_members& record) const {
    if (of == kind::session) record.string("session", id).string("stream", stream);
    else if (of == kind::task) record.string("task", id);
}

call_origin call_origin::read_from(const json& record) {
    if (const auto t = record.find("task"); t != record.end() && t->is_string()) return {kind::task, t->get<std::string>(), {}};
    const auto s = record.find("session");
    if (s == record.end() || !s->is_string()) return {};
    const auto& id = s->get_ref<const std::string&>();
    // Records written before origins were typed put every origin in the
    // session field as "<form>/<id>": form "task" for a task, "req" for a
    // 2026-07-28 request. A session id is hex, so a slash marks that form.
    if (const auto slash = id.find('/'); slash != std::string::npos) {
        if (std::string_view(id).substr(0, slash) == "task") return {kind::task, id.substr(slash + 1), {}};
        return {};  // a 2026-07-28 request: its client went with the process
    }
    return {kind::session, id, record.value("stream", "")};
}

}  // namespace litemcp::server
