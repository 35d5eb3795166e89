// The admin API under /admin/ (docs/admin.md): JSON for curl, answered only
// to loopback peers or to a request bearing the admin token.
//
//   GET    /admin/store                         log, segments, index, checkpoint, durability
//   GET    /admin/sessions?after=&limit=&state=&principal=   sessions on record, a page at a time
//   GET    /admin/sessions/<id>                 one session: record, streams, cursor, topic
//   GET    /admin/sessions/<id>/events?from=&limit=   its topic, decoded
//   DELETE /admin/sessions/<id>                 ends it
//   GET    /admin/topics                        parent topics: policy, lite topics
//   GET    /admin/topics/<parent>/<lite>        one lite topic: offsets, size, consumers
//   GET    /admin/workers                       every worker's figures
//   GET    /admin/workers/<name>                one worker (no credential needed here)
//   GET    /admin/workers/<name>/dead-letters?from=&limit=   with what became of each
//   POST   /admin/workers/<name>/dead-letters/<offset>/requeue   deliver it again (no client waits)
//   DELETE /admin/workers/<name>/dead-letters/<offset>           drop it
//   GET    /admin/tasks?status=&principal=&session=&limit=&after=   tasks of both eras
//   GET    /admin/tasks/<id>                    one task: record, worker, topic
//   GET    /admin/tasks/<id>/events?from=&limit=   its topic, decoded
//   GET    /admin/tail?topics=<pattern>         SSE: new records of matching lite topics
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "server/json_text.h"
#include "server/mcp_server_impl.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;

namespace {

http_response answer(unsigned status, const json& body) {
    http_response r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = to_json(body, 2) + "\n";
    return r;
}

http_response problem(unsigned status, std::string message) { return answer(status, json{{"error", std::move(message)}}); }

std::optional<std::string> query(const http_request& req, std::string_view key) {
    std::string_view q = req.query;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        auto eq = part.find('=');
        if (part.substr(0, eq) == key) {
            std::string v(eq == std::string_view::npos ? "" : part.substr(eq + 1));
            std::string out;  // %XX and '+' decoding
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (v[i] == '+') out.push_back(' ');
                else if (v[i] == '%' && i + 2 < v.size()) {
                    unsigned x = 0;
                    auto [p, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, x, 16);
                    if (ec == std::errc() && p == v.data() + i + 3) {
                        out.push_back(static_cast<char>(x));
                        i += 2;
                    } else {
                        out.push_back('%');
                    }
                } else {
                    out.push_back(v[i]);
                }
            }
            return out;
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

// A number from the query string, or the default; nullopt when malformed.
std::optional<std::uint64_t> number(const http_request& req, std::string_view key, std::uint64_t dflt) {
    auto v = query(req, key);
    if (!v) return dflt;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
    return n;
}

bool loopback_peer(const std::string& peer) {
    return peer.starts_with("127.") || peer.starts_with("::1") || peer.starts_with("[::1]") ||
           peer.starts_with("::ffff:127.");
}

// '*' matches any run of characters (including '/').
bool glob(std::string_view pattern, std::string_view s) {
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pattern.size() && pattern[p] == s[i]) {
            ++p;
            ++i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

// A record as an operator wants to read it: session records split into their
// stream and JSON-RPC message, other payloads as JSON when they are JSON.
json decode(std::string_view topic, std::uint64_t offset, std::uint64_t ts, std::uint32_t flags,
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

}  // namespace

void admin_tails::add(store::store& st, std::shared_ptr<tail> t) {
    std::lock_guard lock(mu);
    tails.push_back(std::move(t));
    if (tails.size() == 1)
        st.observe_appends([this](std::string_view topic, std::uint64_t offset, std::uint32_t flags,
                                  std::string_view payload) { fan_out(topic, offset, flags, payload); });
}

void admin_tails::remove(store::store& st, const tail* t) {
    std::lock_guard lock(mu);
    std::erase_if(tails, [&](auto& x) { return x.get() == t; });
    if (tails.empty()) st.observe_appends(nullptr);
}

void admin_tails::fan_out(std::string_view topic, std::uint64_t offset, std::uint32_t flags, std::string_view payload) {
    std::lock_guard lock(mu);
    std::optional<std::string> text;
    for (auto& t : tails) {
        if (!glob(t->pattern, topic)) continue;
        if (!text) text = to_json(decode(topic, offset, 0, flags, payload));
        t->sse->send(std::string(topic) + "@" + std::to_string(offset), *text);
    }
}

std::optional<http_response> mcp_server::impl::admin_refusal(const http_request& req) const {
    if (auto h = req.headers.get("Authorization"); h && !cfg.mcp.admin_token.empty() && h->size() > 7 &&
                                                   transport::iequals(h->substr(0, 7), "Bearer ")) {
        auto token = h->substr(7);
        if (token.size() == cfg.mcp.admin_token.size() &&
            CRYPTO_memcmp(token.data(), cfg.mcp.admin_token.data(), token.size()) == 0)
            return std::nullopt;
    }
    if (!cfg.mcp.admin_credential_on_loopback && loopback_peer(req.peer)) return std::nullopt;
    if (auth->enabled()) {
        auto r = auth->check(req.headers.get("Authorization"), scope::admin);
        if (r.outcome == auth_outcome::ok) return std::nullopt;
        if (r.outcome == auth_outcome::insufficient_scope) {  // a good token without mcp:admin
            auto refusal = problem(403, "Forbidden: " + r.why);
            refusal.headers.set("WWW-Authenticate", auth->challenge(r, scope::admin));
            return refusal;
        }
    }
    auto refusal = problem(401, cfg.mcp.admin_token.empty() && !auth->enabled()
                                   ? "the admin API answers loopback clients only (set --admin-token to allow others)"
                                   : "the admin API needs Authorization: Bearer <admin token, or an access token "
                                     "with the mcp:admin scope> from this address");
    refusal.headers.set("WWW-Authenticate", "Bearer realm=\"litemcp-admin\"");
    return refusal;
}

void mcp_server::impl::handle_admin(http_request req, std::shared_ptr<responder> res) {
    if (auto refused = admin_refusal(req)) return res->respond(std::move(*refused));
    std::vector<std::string> parts;  // "admin", ...
    for (std::size_t start = 1; start <= req.path.size();) {
        auto slash = req.path.find('/', start);
        if (slash == std::string::npos) slash = req.path.size();
        if (slash > start) parts.push_back(req.path.substr(start, slash - start));
        start = slash + 1;
    }
    const auto n = parts.size();
    auto only = [&](std::string_view method) {
        if (req.method == method) return true;
        auto r = problem(405, "method " + req.method + " is not allowed on " + req.path);
        r.headers.set("Allow", std::string(method));
        res->respond(std::move(r));
        return false;
    };
    auto bad_number = [&](std::string_view key) {
        res->respond(problem(400, "query parameter '" + std::string(key) + "' must be a non-negative integer"));
    };

    if (n == 2 && parts[1] == "store") {
        if (!only("GET")) return;
        auto s = st->stats();
        return res->respond(answer(200, json{{"dir", cfg.store.dir},
                                             {"durability", cfg.store.fsync.to_string()},
                                             {"logBytes", s.log_bytes},
                                             {"logSegments", s.log_segments},
                                             {"logEnd", s.log_end},
                                             {"indexDiskBytes", s.index_disk_bytes},
                                             {"checkpoint", s.checkpoint},
                                             {"appends", s.appends},
                                             {"appendBatches", s.append_batches},
                                             {"appendBytes", s.append_bytes},
                                             {"appendErrors", s.append_errors},
                                             {"fsyncs", s.fsyncs},
                                             {"fsyncMicros", s.fsync_micros},
                                             {"consumers", s.consumers},
                                             {"bindings", s.bindings},
                                             {"wakes", s.wakes},
                                             {"reclaimedTopics", s.reclaimed_topics},
                                             {"recoveredRecords", s.recovered_records},
                                             {"truncatedBytes", s.truncated_bytes}}));
    }

    if (n >= 2 && parts[1] == "sessions") {
        if (n == 2) {
            if (!only("GET")) return;
            auto limit = number(req, "limit", 100);
            if (!limit) return bad_number("limit");
            const auto state = query(req, "state").value_or("");
            if (!state.empty() && state != "active" && state != "idle")
                return res->respond(problem(400, "state must be 'active' (a stream open or a request running) or 'idle'"));
            auto page = sessions->list(query(req, "after").value_or(""), std::clamp<std::uint64_t>(*limit, 1, 1000), state,
                                       query(req, "principal").value_or(""));
            json items = json::array();
            for (auto& s : page.sessions) items.push_back(s);
            json out{{"sessions", items}, {"total", sessions->count()}};
            if (!page.next.empty()) out["next"] = page.next;
            return res->respond(answer(200, out));
        }
        auto s = sessions->find(parts[2]);
        if (!s) return res->respond(problem(404, "no session " + parts[2]));
        if (n == 3) {
            if (req.method == "DELETE") {
                sessions->end(s);
                return res->respond(answer(200, json{{"id", s->id}, {"ended", true}}));
            }
            if (!only("GET")) return;
            json out = sessions->describe(*s);
            if (auto t = st->topic(s->topic)) {
                out["topic"] = json{{"name", t->name},
                                    {"firstOffset", t->first_offset},
                                    {"endOffset", t->end_offset},
                                    {"retainedBytes", t->retained_bytes},
                                    {"lastWriteMs", t->last_write_ms},
                                    {"consumers", t->consumers}};
            }
            if (auto c = st->cursor(s->id + ".g", s->topic); c && *c) out["getStreamCursor"] = **c;
            return res->respond(answer(200, out));
        }
        if (n == 4 && parts[3] == "events") {
            if (!only("GET")) return;
            auto from = number(req, "from", 0);
            if (!from) return bad_number("from");
            auto limit = number(req, "limit", 100);
            if (!limit) return bad_number("limit");
            auto r = st->read(s->topic, *from, {static_cast<std::size_t>(std::min<std::uint64_t>(*limit, 1000)), 4u << 20});
            if (!r) return res->respond(answer(200, json{{"events", json::array()}, {"next", *from}}));
            json events = json::array();
            for (auto& rec : r->records) events.push_back(decode(rec.topic, rec.offset, rec.timestamp_ms, rec.flags, rec.payload));
            json out{{"events", events}, {"next", r->next_offset}, {"firstOffset", r->first_offset}, {"endOffset", r->end_offset}};
            if (r->outcome == store::read_outcome::truncated)
                out["note"] = "offsets before " + std::to_string(r->first_offset) + " were trimmed by retention";
            return res->respond(answer(200, out));
        }
    }

    if (n >= 2 && parts[1] == "tasks") {
        if (!only("GET")) return;
        if (n == 2) {
            auto limit = number(req, "limit", 100);
            if (!limit) return bad_number("limit");
            const auto status = query(req, "status").value_or("");
            if (!status.empty() && !parse_task_status(status))
                return res->respond(problem(400, "status must be working, input_required, completed, failed or cancelled"));
            const auto principal = query(req, "principal");
            const auto session = query(req, "session");
            const auto n_max = static_cast<std::size_t>(std::min<std::uint64_t>(*limit, 1000));
            auto page = tasks->list(
                [&](const task_record& r) {
                    return (status.empty() || to_string(r.status) == status) && (!principal || r.principal == *principal) &&
                           (!session || r.session == *session);
                },
                query(req, "after").value_or(""), n_max + 1);
            json items = json::array();
            for (std::size_t i = 0; i < page.size() && i < n_max; ++i) {
                const auto& r = page[i];
                items.push_back({{"taskId", r.id},
                                 {"status", to_string(r.status)},
                                 {"tool", r.params.value("name", "")},
                                 {"era", r.session.empty() ? "modern" : "legacy"},
                                 {"session", r.session},
                                 {"principal", r.principal},
                                 {"createdMs", r.created_ms},
                                 {"updatedMs", r.updated_ms},
                                 {"expiresMs", r.created_ms + r.ttl_ms}});
            }
            json out{{"tasks", items}, {"active", tasks->active()}};
            if (page.size() > n_max) out["next"] = page[n_max - 1].id;
            return res->respond(answer(200, out));
        }
        auto t = tasks->find(parts[2]);
        if (!t) return res->respond(problem(404, "no task " + parts[2]));
        const std::string topic = std::string(task_table::parent) + "/" + parts[2];
        if (n == 3) {
            json out;
            {
                std::lock_guard lock(t->mu);
                out = t->rec.to_json();
                out["running"] = t->running != nullptr;
            }
            out["expiresMs"] = out["createdMs"].get<std::int64_t>() + out["ttlMs"].get<std::int64_t>();
            if (auto info = st->topic(topic))
                out["topic"] = json{{"name", info->name},
                                    {"firstOffset", info->first_offset},
                                    {"endOffset", info->end_offset},
                                    {"retainedBytes", info->retained_bytes},
                                    {"lastWriteMs", info->last_write_ms}};
            return res->respond(answer(200, out));
        }
        if (n == 4 && parts[3] == "events") {
            auto from = number(req, "from", 0);
            if (!from) return bad_number("from");
            auto limit = number(req, "limit", 100);
            if (!limit) return bad_number("limit");
            auto r = st->read(topic, *from, {static_cast<std::size_t>(std::min<std::uint64_t>(*limit, 1000)), 4u << 20});
            if (!r) return res->respond(answer(200, json{{"events", json::array()}, {"next", *from}}));
            json events = json::array();
            for (auto& rec : r->records) events.push_back(decode(rec.topic, rec.offset, rec.timestamp_ms, rec.flags, rec.payload));
            return res->respond(answer(200, json{{"events", events}, {"next", r->next_offset}, {"endOffset", r->end_offset}}));
        }
    }

    if (n >= 2 && parts[1] == "topics") {
        if (!only("GET")) return;
        if (n == 2) {
            json parents = json::array();
            for (auto& p : st->parents())
                parents.push_back({{"name", p.name},
                                   {"liteTopics", p.lite_topics},
                                   {"policy",
                                    {{"idleTtlMs", p.policy.idle_ttl.count()},
                                     {"maxRecords", p.policy.max_records},
                                     {"maxBytes", p.policy.max_bytes},
                                     {"maxLiteTopics", p.policy.max_lite_topics},
                                     {"maxRecordSize", p.policy.max_record_size}}}});
            return res->respond(answer(200, json{{"parents", parents}}));
        }
        if (n == 4) {
            auto t = st->topic(parts[2] + "/" + parts[3]);
            if (!t) return res->respond(problem(404, "no lite topic " + parts[2] + "/" + parts[3]));
            return res->respond(answer(200, json{{"name", t->name},
                                                 {"id", t->id},
                                                 {"firstOffset", t->first_offset},
                                                 {"endOffset", t->end_offset},
                                                 {"retainedRecords", t->end_offset - t->first_offset},
                                                 {"retainedBytes", t->retained_bytes},
                                                 {"createdMs", t->created_ms},
                                                 {"lastWriteMs", t->last_write_ms},
                                                 {"consumers", t->consumers}}));
        }
    }

    if (n >= 2 && parts[1] == "workers") {
        if (n <= 4 && !only("GET")) return;
        if (n == 2) {
            json list = json::array();
            for (auto& w : workers->stats())
                list.push_back({{"name", w.name},
                                {"online", w.online},
                                {"instances", w.instances},
                                {"queueDepth", w.open_calls},
                                {"inFlight", w.in_flight},
                                {"delivered", w.delivered},
                                {"redelivered", w.redelivered},
                                {"answered", w.answered},
                                {"deadLettered", w.dead_lettered}});
            return res->respond(answer(200, json{{"workers", list}}));
        }
        const std::string& name = parts[2];
        auto w = workers->inspect(name);
        if (!w) return res->respond(problem(404, "no worker named '" + name + "' is registered"));
        if (n == 3) return res->respond(answer(200, *w));
        if (parts[3] != "dead-letters") return res->respond(problem(404, "no admin endpoint at " + req.path));
        const std::string dlq = "mcp.dlq/" + name;
        // What became of a dead letter: kept under dlq/<worker>/<offset>.
        auto fate_key = [&](std::uint64_t offset) { return "dlq/" + name + "/" + std::to_string(offset); };
        if (n == 4) {
            auto from = number(req, "from", 0);
            if (!from) return bad_number("from");
            auto limit = number(req, "limit", 100);
            if (!limit) return bad_number("limit");
            auto r = st->read(dlq, *from, {static_cast<std::size_t>(std::min<std::uint64_t>(*limit, 1000)), 4u << 20});
            json letters = json::array();
            if (r)
                for (auto& rec : r->records) {
                    auto item = decode(rec.topic, rec.offset, rec.timestamp_ms, rec.flags, rec.payload);
                    auto fate = st->kv_get(fate_key(rec.offset));
                    item["status"] = fate && *fate ? parse_json(**fate).value_or(json(**fate)) : json("dead");
                    letters.push_back(std::move(item));
                }
            return res->respond(answer(200, json{{"deadLetters", letters}, {"next", r ? r->next_offset : *from}}));
        }
        std::uint64_t offset = 0;
        if (auto [p, ec] = std::from_chars(parts[4].data(), parts[4].data() + parts[4].size(), offset);
            ec != std::errc() || p != parts[4].data() + parts[4].size())
            return res->respond(problem(400, "'" + parts[4] + "' is not a dead letter's offset"));
        auto r = st->read(dlq, offset, {1, 4u << 20});
        if (!r || r->records.empty() || r->records[0].offset != offset)
            return res->respond(problem(404, "no dead letter at offset " + parts[4] + " of " + dlq));
        if (auto fate = st->kv_get(fate_key(offset)); fate && *fate)
            return res->respond(problem(409, "dead letter " + parts[4] + " was already handled: " + **fate));
        if (n == 5) {
            if (!only("DELETE")) return;
            (void)st->kv_put(fate_key(offset), to_json(json{{"dropped", true}}));
            spdlog::info("admin: {} dead letter {} dropped by {}", name, offset, req.peer);
            return res->respond(answer(200, json{{"offset", offset}, {"dropped", true}}));
        }
        if (n == 6 && parts[5] == "requeue") {
            if (!only("POST")) return;
            auto letter = parse_json(r->records[0].payload).value_or(json());
            auto queued = workers->requeue(name, letter);
            if (!queued) return res->respond(problem(409, "cannot requeue: " + queued.error()));
            (void)st->kv_put(fate_key(offset), to_json(json{{"requeuedAs", *queued}}));
            spdlog::info("admin: {} dead letter {} requeued as call {} by {}", name, offset, *queued, req.peer);
            return res->respond(answer(200, json{{"offset", offset}, {"requeuedAs", *queued}}));
        }
        return res->respond(problem(404, "no admin endpoint at " + req.path));
    }

    if (n == 2 && parts[1] == "tail") {
        if (!only("GET")) return;
        auto pattern = query(req, "topics").value_or("*");
        if (pattern.empty() || pattern.size() > 256) return res->respond(problem(400, "topics must be a pattern of 1 to 256 characters"));
        auto t = std::make_shared<admin_tails::tail>();
        t->pattern = pattern;
        t->sse = res->start_sse({});
        t->sse->send({}, to_json(json{{"tailing", pattern}}));
        auto* raw = t.get();
        auto sse = t->sse;
        tails->add(*st, std::move(t));
        // After add: a stream that already ended calls this at once.
        sse->on_closed([this, raw] { tails->remove(*st, raw); });
        spdlog::info("admin: tail of '{}' opened by {}", pattern, req.peer);
        return;
    }

    res->respond(problem(404, "no admin endpoint at " + req.path));
}

}  // namespace litemcp::server
