#include "server/sessions/interrupted_request.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/sessions/session_log.h"

namespace litemcp::server {

rpc_failure interrupted_failure() {
    return {rpc_code::request_interrupted,
            "the server stopped while this request ran, before it was answered; send it again",
            json{{"reason", "server_stopped"}, {"retryable", true}}};
}

json interrupted_error(const json& id) { return error_message(id, interrupted_failure()); }

namespace {

// Reads stream `request` from its request record: whether it has a final
// record, and the request's id. nullopt when the topic cannot be read.
struct stream_scan {
    bool has_final = false;
    json id;
};

std::optional<stream_scan> scan(store::store& st, const session_state& s, std::uint64_t request) {
    stream_scan out;
    const std::string stream = std::to_string(request);
    std::uint64_t pos = request;
    for (;;) {
        auto r = st.read(s.topic, pos, {256, 1u << 20});
        if (!r) return std::nullopt;
        if (r->outcome == store::read_outcome::truncated) return std::nullopt;  // the request fell out of retention
        for (auto& rec : r->records) {
            pos = rec.offset + 1;
            if (rec.offset == request) {
                if (!(rec.flags & session_log::flag_client_request)) return std::nullopt;
                auto msg = parse_json(session_log::decode(rec.payload).body);
                if (!msg || !msg->is_object() || !msg->contains("id")) return std::nullopt;
                out.id = (*msg)["id"];
                continue;
            }
            if (!(rec.flags & session_log::flag_final)) continue;
            if (session_log::on_stream(session_log::decode(rec.payload).tag, rec.offset, stream)) {
                out.has_final = true;
                return out;
            }
        }
        // A batch may stop at its byte bound with records still to come.
        if (r->next_offset >= r->end_offset) return out;
        pos = r->next_offset;
    }
}

}  // namespace

interruption_outcome answer_interrupted(store::store& st, session_state& s, std::uint64_t request) {
    // One check-and-record at a time per session: a second resume waits here,
    // then finds the first one's final (or, if the first failed, tries itself).
    std::lock_guard closing(s.closing_mu);
    if (s.ended) return interruption_outcome::failed;  // its topic is gone and must stay gone
    if (s.is_live(request)) return interruption_outcome::live;
    auto found = scan(st, s, request);
    if (!found) {
        spdlog::error("session {}: cannot read stream {} to answer its interrupted request", s.id, request);
        return interruption_outcome::failed;
    }
    if (found->has_final) return interruption_outcome::already_answered;
    auto ack = st.append(s.topic, session_log::encode(std::to_string(request), to_json(interrupted_error(found->id))),
                         session_log::flag_final);
    if (!ack) {
        spdlog::error("session {}: cannot record the error for interrupted request {}: {}", s.id, to_json(found->id),
                      ack.error().message);
        return interruption_outcome::failed;
    }
    spdlog::info("session {}: request {} (stream {}) was interrupted by a server stop; answered with error {}", s.id,
                 to_json(found->id), request, rpc_code::request_interrupted);
    return interruption_outcome::answered;
}

}  // namespace litemcp::server
