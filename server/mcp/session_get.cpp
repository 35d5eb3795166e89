// GET on a session: the standalone stream, from the broker-held cursor, or
// the resumption of a stream after Last-Event-ID. Event ids are "<n>-<o>"
// (record o of the POST stream opened by the request recorded at n) and
// "g-<s>-<c>" (the GET stream at session offset s and change-log offset c).
#include <spdlog/spdlog.h>


#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/mcp/session_endpoint.h"
#include "server/sessions/session_log.h"
#include "server/sessions/stream_feeder.h"
#include "server/streams/change_log.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

http_response bad_event_id(std::string_view v, std::string_view why) {
    return http::rpc_error(400, nullptr, rpc_code::invalid_request,
                           "Bad Request: Last-Event-ID '" + std::string(v.substr(0, 64)) + "' " + std::string(why));
}

http_response gone(std::string_view v) {
    return http::rpc_error(410, nullptr, rpc_code::invalid_request,
                           "Gone: events after '" + std::string(v) + "' are older than the session's retained history");
}

// Where the stream that event `v` belongs to goes on, or the answer that
// refuses it. first and end: the session topic's retained offsets.
std::expected<stream_feeder::options, http_response> resume_point(store::store& st, const session_state& s,
                                                                 std::string_view v, std::uint64_t first,
                                                                 std::uint64_t end) {
    const auto at = session_log::parse_event_id(v);
    if (!at) return std::unexpected(bad_event_id(v, "is not an event id of this server"));
    stream_feeder::options o;
    if (at->get_stream) {
        if (at->first > end) return std::unexpected(bad_event_id(v, "does not belong to this session"));
        if (at->first < first) return std::unexpected(gone(v));
        o.tag = std::string(session_log::get_stream);
        o.from = at->first;
        o.changes_from = at->second;
        o.persist_cursor = true;
        return o;
    }
    const std::uint64_t request = at->first, offset = at->second;
    if (offset >= end) return std::unexpected(bad_event_id(v, "does not belong to this session"));
    if (request < first || offset + 1 < first) return std::unexpected(gone(v));
    // The stream must have been opened by a request of this session.
    // Its flags, not its bytes: many resumes at once must not each copy a
    // large request.
    auto opener = st.read(s.topic, request, {.max_records = 1, .max_bytes = 1u << 20, .payloads = false});
    if (!opener || opener->records.empty() || opener->records[0].offset != request ||
        !(opener->records[0].flags & session_log::flag_client_request))
        return std::unexpected(bad_event_id(v, "does not belong to this session"));
    o.tag = std::to_string(request);
    o.from = offset + 1;
    return o;
}

// A new standalone stream starts at the broker-held cursor: messages that
// waited while no stream was attached are delivered now.
stream_feeder::options standalone_start(store::store& st, const session_state& s) {
    const std::string consumer = s.id + ".g";
    auto cur = st.cursor(consumer, s.topic);
    auto ccur = st.cursor(consumer, changes_topic);
    stream_feeder::options o;
    o.tag = std::string(session_log::get_stream);
    o.from = cur && *cur ? **cur : 0;
    if (ccur && *ccur) {
        o.changes_from = **ccur;
    } else {
        auto ct = st.topic(changes_topic);
        o.changes_from = ct ? ct->end_offset : 0;
    }
    o.persist_cursor = true;
    return o;
}

}  // namespace

void session_endpoint::get_now(const http_request& req, std::shared_ptr<responder> res) {
    if (!http::accepts(req, "text/event-stream"))
        return res->respond(http::rpc_error(406, nullptr, rpc_code::invalid_request,
                                            "Not Acceptable: Accept must list text/event-stream"));
    auto found = session_for(req, nullptr);
    if (!found) return res->respond(std::move(found.error()));
    auto s = *found;
    // A newer GET takes over the standalone stream (a proxy may have killed
    // the old one without either side noticing). Order them by arrival: two
    // GETs' handlers may run on two threads and finish in either order.
    std::uint64_t arrival;
    {
        std::lock_guard lock(s->mu);
        arrival = ++s->get_arrivals;
    }
    const auto since_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         std::chrono::system_clock::now().time_since_epoch())
                                                         .count());
    auto last = req.headers.get("Last-Event-ID");
    stream_feeder::options o;
    if (last) {
        spdlog::info("session {}: a GET resumes after event {}", s->id, std::string(last->substr(0, 64)));
        const auto top = p_.st.topic(s->topic);
        auto point = resume_point(p_.st, *s, *last, top ? top->first_offset : 0, top ? top->end_offset : 0);
        if (!point) return res->respond(std::move(point.error()));
        o = std::move(*point);
    } else {
        o = standalone_start(p_.st, *s);
    }
    o.session = s;
    if (p_.st.shared() && o.tag != session_log::get_stream) {
        o.ask_live = [signals = &p_.signals, id = s->id](std::uint64_t r, std::function<void(bool)> done) {
            signals->ask_live(id, r, std::move(done));
        };
        o.later = [signals = &p_.signals](std::function<void()> fn) { signals->later(std::move(fn)); };
    }
    auto sse = res->start_sse({});
    if (p_.options.priming && s->version >= "2025-11-25")
        sse->send_priming(last ? std::string(*last) : session_log::event_id({true, o.from, o.changes_from}),
                          p_.options.retry);
    auto feeder = stream_feeder::start(p_.st, p_.delivery, sse, std::move(o));
    if (!feeder->get_stream()) return;  // a POST stream resumed: nothing to take over
    std::shared_ptr<stream_feeder> loser;
    {
        std::lock_guard lock(s->mu);
        if (arrival > s->get_installed) {
            s->get_installed = arrival;
            s->get_since_ms = since_ms;
            loser = std::exchange(s->get_stream, feeder);
        } else {
            loser = feeder;  // a newer GET got there first
        }
    }
    // A GET stream of this session on another server ends too.
    if (loser != feeder) p_.signals.took_get(*s, since_ms);
    // The old stream ends cleanly (its final chunk after what it queued): a
    // client sees the end of a response, not a broken connection.
    if (loser) {
        loser->stop(false);
        spdlog::info("session {}: a newer GET stream took over the standalone stream", s->id);
    }
}

}  // namespace litemcp::server
