#include "server/ops/admin_records.h"

#include "server/json/json_text.h"
#include "server/sessions/session_log.h"

namespace litemcp::server {

json record_view(std::string_view topic, std::uint64_t offset, std::uint64_t ts, std::uint32_t flags,
                 std::string_view payload) {
    json out{{"topic", topic}, {"offset", offset}};
    if (ts) out["timestampMs"] = ts;
    if (topic.starts_with("mcp.session/")) {
        auto e = session_log::decode(payload);
        out["stream"] = e.tag.empty() ? "(client)" : session_log::stream_of(e.tag, offset);
        out["kind"] = flags & session_log::flag_client_request  ? "client request"
                      : flags & session_log::flag_client_answer ? "client answer"
                      : flags & session_log::flag_final         ? (flags & session_log::flag_silent ? "end (cancelled)" : "response")
                                                                : "server message";
        auto m = parse_json(e.body);
        out["message"] = m ? std::move(*m) : json(std::string(e.body));
        return out;
    }
    auto m = parse_json(payload);
    out["record"] = m ? std::move(*m) : json(std::string(payload));
    return out;
}

}  // namespace litemcp::server
