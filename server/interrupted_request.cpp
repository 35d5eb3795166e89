#include "server/interrupted_request.h"

#include <spdlog/spdlog.h>

#include "server/json_text.h"
#include "server/session_log.h"

namespace litemcp::server {

json interrupted_error(const json& id) {
    return make_error(id, rpc_code::request_interrupted,
                      "the server stopped while this request ran, before it was answered; send it again",
                      json{{"reason", "server_stopped"}, {"retryable", true}});
}

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
        if (r->records.size() < 256) return out;
    }
}

}  // namespace

interruption_outcome answer_interrupted(store::store& st, session_state& s, std::uint64_t request) {
    {
        std::lock_guard lock(s.mu);
        if (s.live_streams.contains(request)) return interruption_outcome::live;
        s.live_streams.insert(request);  // claimed: a second resume waits for this final
    }
    auto release = [&] {
        std::lock_guard lock(s.mu);
        s.live_streams.erase(request);
    };
    auto found = scan(st, s, request);
    if (!found) {
        release();
        spdlog::error("session {}: cannot read stream {} to answer its interrupted request", s.id, request);
        return interruption_outcome::failed;
    }
    if (found->has_final) {
        release();
        return interruption_outcome::already_answered;
    }
    auto ack = st.append(s.topic, session_log::encode(std::to_string(request), to_json(interrupted_error(found->id))),
                         session_log::flag_final);
    release();
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
