// Who waits for a call's answer, in a form that outlives the process: a
// worker call records it, so that after a restart the answer still reaches
// the session stream or the task it belongs to (call.h, worker_hub.h).
//
// Threading: a value type.
#pragma once

#include <string>

#include "server/json/json.h"

namespace litemcp::server {

class json_members;

struct call_origin {
    enum class kind {
        session,  // a legacy session's request: id is the session's, stream the request's stream tag
        task,     // a task's run: id is the task's
        direct,   // a 2026-07-28 request: id is unique in this process; after a restart nobody waits
    };
    kind of = kind::direct;
    std::string id;
    std::string stream;

    // Kind and id in one string, unique among origins ("session/<id>").
    std::string key() const;
    // Its fields in a stored record ("session" and "stream", or "task";
    // nothing for a direct call), and back.
    void write_to(json& record) const;
    // The same fields, for a record written member by member.
    void write_to(json_members& record) const;
    static call_origin read_from(const json& record);
};

}  // namespace litemcp::server
