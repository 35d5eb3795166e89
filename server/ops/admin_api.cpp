#include "server/ops/admin_api.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "server/ops/admin_records.h"
#include "server/http/answers.h"
#include "server/http/request_checks.h"
#include "server/json/json_text.h"

namespace litemcp::server {

using transport::http_request;
using transport::http_response;
using transport::responder;
using responder_ptr = std::shared_ptr<responder>;
using http::route_args;

namespace {

http_response answer(unsigned status, const json& body) {
    return http::json_answer(status, body, http::json_style::pretty);
}

http_response problem(unsigned status, std::string message) {
    return http::problem(status, std::move(message), http::json_style::pretty);
}

// A number from the query string, or the default; nullopt when malformed.
std::optional<std::uint64_t> number(const http_request& req, std::string_view key, std::uint64_t dflt) {
    auto v = http::query_param(req, key);
    if (!v) return dflt;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
    return n;
}

// from= and limit= of a listing (limit clamped to 1..1000); or the 400 sent.
struct window {
    std::uint64_t from = 0;
    std::size_t limit = 100;
};

std::optional<window> window_of(const http_request& req, const responder_ptr& res) {
    window w;
    for (auto [key, dflt] : {std::pair<std::string_view, std::uint64_t>{"from", 0}, {"limit", 100}}) {
        auto n = number(req, key, dflt);
        if (!n) {
            res->respond(problem(400, "query parameter '" + std::string(key) + "' must be a non-negative integer"));
            return std::nullopt;
        }
        if (key == "from") w.from = *n;
        else w.limit = static_cast<std::size_t>(std::clamp<std::uint64_t>(*n, 1, 1000));
    }
    return w;
}

json topic_view(const store::topic_info& t) {
    return json{{"name", t.name},
                {"firstOffset", t.first_offset},
                {"endOffset", t.end_offset},
                {"retainedBytes", t.retained_bytes},
                {"lastWriteMs", t.last_write_ms},
                {"consumers", t.consumers}};
}

// The records of a topic from w.from, each as record_view shows it.
json events_of(store::store& st, const std::string& topic, const window& w) {
    auto r = st.read(topic, w.from, {w.limit, 4u << 20});
    if (!r) return json{{"events", json::array()}, {"next", w.from}};
    json events = json::array();
    for (auto& rec : r->records) events.push_back(record_view(rec.topic, rec.offset, rec.timestamp_ms, rec.flags, rec.payload));
    json out{{"events", events}, {"next", r->next_offset}, {"firstOffset", r->first_offset}, {"endOffset", r->end_offset}};
    if (r->outcome == store::read_outcome::truncated)
        out["note"] = "offsets before " + std::to_string(r->first_offset) + " were trimmed by retention";
    return out;
}

// ---- the routes -------------------------------------------------------------

using parts = admin_api::parts;

void store_view(const parts& p, const responder_ptr& res) {
    auto s = p.store.stats();
    res->respond(answer(200, json{{"dir", p.cfg.store.dir},
                                  {"durability", p.cfg.store.fsync.to_string()},
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

void session_list(const parts& p, const http_request& req, const responder_ptr& res) {
    auto limit = number(req, "limit", 100);
    if (!limit) return res->respond(problem(400, "query parameter 'limit' must be a non-negative integer"));
    const auto state = http::query_param(req, "state").value_or("");
    if (!state.empty() && state != "active" && state != "idle")
        return res->respond(problem(400, "state must be 'active' (a stream open or a request running) or 'idle'"));
    auto page = p.sessions.list(http::query_param(req, "after").value_or(""), std::clamp<std::uint64_t>(*limit, 1, 1000),
                                state, http::query_param(req, "principal").value_or(""));
    json items = json::array();
    for (auto& s : page.sessions) items.push_back(s);
    // total: the sessions that match the filters, on every page.
    json out{{"sessions", items}, {"total", p.sessions.matching(state, http::query_param(req, "principal").value_or(""))}};
    if (!page.next.empty()) out["next"] = page.next;
    res->respond(answer(200, out));
}

std::shared_ptr<session_state> session_or_404(const parts& p, const std::string& id, const responder_ptr& res) {
    auto s = p.sessions.find(id);
    if (!s) {
        res->respond(problem(503, "cannot look the session up: " + s.error().message));
        return nullptr;
    }
    if (!*s) res->respond(problem(404, "no session " + id));
    return *s;
}

void session_view(const parts& p, const std::string& id, const responder_ptr& res) {
    auto s = session_or_404(p, id, res);
    if (!s) return;
    json out = p.sessions.describe(*s);
    if (auto t = p.store.topic(s->topic)) out["topic"] = topic_view(*t);
    if (auto c = p.store.cursor(s->id + ".g", s->topic); c && *c) out["getStreamCursor"] = **c;
    res->respond(answer(200, out));
}

void session_end(const parts& p, const std::string& id, const responder_ptr& res) {
    auto s = session_or_404(p, id, res);
    if (!s) return;
    p.sessions.end(s);
    res->respond(answer(200, json{{"id", s->id}, {"ended", true}}));
}

void session_events(const parts& p, const http_request& req, const std::string& id, const responder_ptr& res) {
    auto s = session_or_404(p, id, res);
    if (!s) return;
    if (auto w = window_of(req, res)) res->respond(answer(200, events_of(p.store, s->topic, *w)));
}

void task_list(const parts& p, const http_request& req, const responder_ptr& res) {
    auto limit = number(req, "limit", 100);
    if (!limit) return res->respond(problem(400, "query parameter 'limit' must be a non-negative integer"));
    const auto status = http::query_param(req, "status").value_or("");
    if (!status.empty() && !parse_task_status(status))
        return res->respond(problem(400, "status must be working, input_required, completed, failed or cancelled"));
    const auto principal = http::query_param(req, "principal");
    const auto session = http::query_param(req, "session");
    const auto n_max = static_cast<std::size_t>(std::clamp<std::uint64_t>(*limit, 1, 1000));
    auto page = p.tasks.list(
        [&](const task_record& r) {
            return (status.empty() || to_string(r.status) == status) && (!principal || r.principal == *principal) &&
                   (!session || r.session == *session);
        },
        http::query_param(req, "after").value_or(""), n_max + 1);
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
    json out{{"tasks", items}, {"active", p.tasks.active()}};
    if (page.size() > n_max) out["next"] = page[n_max - 1].id;
    res->respond(answer(200, out));
}

std::string task_topic(const std::string& id) { return std::string(task_table::parent) + "/" + id; }

void task_view(const parts& p, const std::string& id, const responder_ptr& res) {
    auto t = p.tasks.find(id);
    if (!t) return res->respond(problem(404, "no task " + id));
    json out;
    {
        std::lock_guard lock(t->mu);
        out = t->rec.to_json();
        out["running"] = t->running != nullptr;
    }
    out["expiresMs"] = out["createdMs"].get<std::int64_t>() + out["ttlMs"].get<std::int64_t>();
    if (auto info = p.store.topic(task_topic(id))) {
        out["topic"] = topic_view(*info);
        out["topic"].erase("consumers");
    }
    res->respond(answer(200, out));
}

void task_events(const parts& p, const http_request& req, const std::string& id, const responder_ptr& res) {
    if (!p.tasks.find(id)) return res->respond(problem(404, "no task " + id));
    auto w = window_of(req, res);
    if (!w) return;
    auto out = events_of(p.store, task_topic(id), *w);
    out.erase("firstOffset");
    out.erase("note");
    res->respond(answer(200, out));
}

void parent_list(const parts& p, const responder_ptr& res) {
    json parents = json::array();
    for (auto& t : p.store.parents())
        parents.push_back({{"name", t.name},
                           {"liteTopics", t.lite_topics},
                           {"policy",
                            {{"idleTtlMs", t.policy.idle_ttl.count()},
                             {"maxRecords", t.policy.max_records},
                             {"maxBytes", t.policy.max_bytes},
                             {"maxLiteTopics", t.policy.max_lite_topics},
                             {"maxRecordSize", t.policy.max_record_size}}}});
    res->respond(answer(200, json{{"parents", parents}}));
}

void lite_topic_view(const parts& p, const std::string& name, const responder_ptr& res) {
    auto t = p.store.topic(name);
    if (!t) return res->respond(problem(404, "no lite topic " + name));
    res->respond(answer(200, json{{"name", t->name},
                                  {"id", t->id},
                                  {"firstOffset", t->first_offset},
                                  {"endOffset", t->end_offset},
                                  {"retainedRecords", t->end_offset - t->first_offset},
                                  {"retainedBytes", t->retained_bytes},
                                  {"createdMs", t->created_ms},
                                  {"lastWriteMs", t->last_write_ms},
                                  {"consumers", t->consumers}}));
}

void worker_list(const parts& p, const responder_ptr& res) {
    json list = json::array();
    for (auto& w : p.workers.stats(true))
        list.push_back({{"name", w.name},
                        {"online", w.online},
                        {"instances", w.instances},
                        {"queueDepth", w.open_calls},
                        {"inFlight", w.in_flight},
                        {"delivered", w.delivered},
                        {"redelivered", w.redelivered},
                        {"answered", w.answered},
                        {"deadLettered", w.dead_lettered}});
    res->respond(answer(200, json{{"workers", list}}));
}

bool worker_known(const parts& p, const std::string& name, const responder_ptr& res) {
    if (p.workers.inspect(name)) return true;
    res->respond(problem(404, "no worker named '" + name + "' is registered"));
    return false;
}

void worker_view(const parts& p, const std::string& name, const responder_ptr& res) {
    auto w = p.workers.inspect(name);
    if (!w) return res->respond(problem(404, "no worker named '" + name + "' is registered"));
    res->respond(answer(200, *w));
}

void worker_remove(const parts& p, const std::string& name, const responder_ptr& res) {
    auto a = p.workers.remove(name, "worker '" + name + "' was removed by an operator");
    if (a.outcome == worker_outcome::unknown_worker)
        return res->respond(problem(404, "no worker named '" + name + "' is registered"));
    if (a.outcome != worker_outcome::done) return res->respond(problem(500, a.body.value("error", "cannot remove it")));
    res->respond(answer(200, a.body));
}

// Dead letters of worker w live in mcp.dlq/<w>; what became of one is kept
// under dlq/<w>/<offset>.
std::string dlq_topic(const std::string& worker) { return "mcp.dlq/" + worker; }
std::string fate_key(const std::string& worker, std::uint64_t offset) {
    return "dlq/" + worker + "/" + std::to_string(offset);
}

void dead_letter_list(const parts& p, const http_request& req, const std::string& name, const responder_ptr& res) {
    if (!worker_known(p, name, res)) return;
    auto w = window_of(req, res);
    if (!w) return;
    auto r = p.store.read(dlq_topic(name), w->from, {w->limit, 4u << 20});
    json letters = json::array();
    if (r)
        for (auto& rec : r->records) {
            auto item = record_view(rec.topic, rec.offset, rec.timestamp_ms, rec.flags, rec.payload);
            auto fate = p.store.kv_get(fate_key(name, rec.offset));
            item["status"] = fate && *fate ? parse_json(**fate).value_or(json(**fate)) : json("dead");
            letters.push_back(std::move(item));
        }
    res->respond(answer(200, json{{"deadLetters", letters}, {"next", r ? r->next_offset : w->from}}));
}

// The dead letter at args' offset, not handled yet; or the error answered.
std::optional<store::record> open_dead_letter(const parts& p, const std::string& name, const std::string& at,
                                              const responder_ptr& res) {
    if (!worker_known(p, name, res)) return std::nullopt;
    std::uint64_t offset = 0;
    if (auto [q, ec] = std::from_chars(at.data(), at.data() + at.size(), offset); ec != std::errc() || q != at.data() + at.size()) {
        res->respond(problem(400, "'" + at + "' is not a dead letter's offset"));
        return std::nullopt;
    }
    auto r = p.store.read(dlq_topic(name), offset, {1, 4u << 20});
    if (!r || r->records.empty() || r->records[0].offset != offset) {
        res->respond(problem(404, "no dead letter at offset " + at + " of " + dlq_topic(name)));
        return std::nullopt;
    }
    if (auto fate = p.store.kv_get(fate_key(name, offset)); fate && *fate) {
        res->respond(problem(409, "dead letter " + at + " was already handled: " + **fate));
        return std::nullopt;
    }
    return std::move(r->records[0]);
}

void dead_letter_drop(const parts& p, const http_request& req, const route_args& a, const responder_ptr& res) {
    auto letter = open_dead_letter(p, a[0], a[1], res);
    if (!letter) return;
    (void)p.store.kv_put(fate_key(a[0], letter->offset), to_json(json{{"dropped", true}}));
    spdlog::info("admin: {} dead letter {} dropped by {}", a[0], letter->offset, req.peer);
    res->respond(answer(200, json{{"offset", letter->offset}, {"dropped", true}}));
}

void dead_letter_requeue(const parts& p, const http_request& req, const route_args& a, const responder_ptr& res) {
    auto letter = open_dead_letter(p, a[0], a[1], res);
    if (!letter) return;
    auto queued = p.workers.requeue(a[0], parse_json(letter->payload).value_or(json()));
    if (!queued) return res->respond(problem(409, "cannot requeue: " + queued.error()));
    (void)p.store.kv_put(fate_key(a[0], letter->offset), to_json(json{{"requeuedAs", *queued}}));
    spdlog::info("admin: {} dead letter {} requeued as call {} by {}", a[0], letter->offset, *queued, req.peer);
    res->respond(answer(200, json{{"offset", letter->offset}, {"requeuedAs", *queued}}));
}

void tail(const parts& p, const http_request& req, const responder_ptr& res) {
    auto pattern = http::query_param(req, "topics").value_or("*");
    if (pattern.empty() || pattern.size() > 256)
        return res->respond(problem(400, "topics must be a pattern of 1 to 256 characters"));
    auto t = std::make_shared<admin_tails::tail>();
    t->pattern = pattern;
    t->sse = res->start_sse({});
    t->sse->send({}, to_json(json{{"tailing", pattern}}));
    auto* raw = t.get();
    auto sse = t->sse;
    p.tails.add(p.store, std::move(t));
    // After add: a stream that already ended calls this at once.
    sse->on_closed([&p, raw] { p.tails.remove(p.store, raw); });
    spdlog::info("admin: tail of '{}' opened by {}", pattern, req.peer);
}

}  // namespace

admin_api::admin_api(parts p) : p_(p) { add_routes(); }

void admin_api::add_routes() {
    using args = const route_args&;
    auto& p = p_;
    auto add = [this](std::string_view method, std::string_view pattern, std::string summary, http::route_handler h) {
        routes_.add(method, pattern, std::move(summary), std::move(h));
    };
    add("GET", "/admin", "this index", [this](http_request&, args, const responder_ptr& res) {
        json list = json::array();
        for (auto& r : routes_.routes())
            list.push_back(json{{"method", r.method}, {"path", r.pattern}, {"what", r.summary}});
        res->respond(answer(200, json{{"routes", list}, {"docs", "docs/admin.md"}}));
    });
    add("GET", "/admin/store", "log, segments, index, checkpoint, durability",
        [&p](http_request&, args, const responder_ptr& res) { store_view(p, res); });
    add("GET", "/admin/sessions", "sessions on record, a page at a time (?after=&limit=&state=&principal=)",
        [&p](http_request& req, args, const responder_ptr& res) { session_list(p, req, res); });
    add("GET", "/admin/sessions/{id}", "one session: record, streams, cursor, topic",
        [&p](http_request&, args a, const responder_ptr& res) { session_view(p, a[0], res); });
    add("DELETE", "/admin/sessions/{id}", "ends the session",
        [&p](http_request&, args a, const responder_ptr& res) { session_end(p, a[0], res); });
    add("GET", "/admin/sessions/{id}/events", "its topic, decoded (?from=&limit=)",
        [&p](http_request& req, args a, const responder_ptr& res) { session_events(p, req, a[0], res); });
    add("GET", "/admin/topics", "parent topics: policy, lite topics",
        [&p](http_request&, args, const responder_ptr& res) { parent_list(p, res); });
    add("GET", "/admin/topics/{parent}/{lite}", "one lite topic: offsets, size, consumers",
        [&p](http_request&, args a, const responder_ptr& res) { lite_topic_view(p, a[0] + "/" + a[1], res); });
    add("GET", "/admin/workers", "every worker's figures",
        [&p](http_request&, args, const responder_ptr& res) { worker_list(p, res); });
    add("GET", "/admin/workers/{name}", "one worker (no credential needed here)",
        [&p](http_request&, args a, const responder_ptr& res) { worker_view(p, a[0], res); });
    add("DELETE", "/admin/workers/{name}", "removes the worker without its credential: its calls fail, its queue goes",
        [&p](http_request&, args a, const responder_ptr& res) { worker_remove(p, a[0], res); });
    add("GET", "/admin/workers/{name}/dead-letters", "its dead letters and what became of each (?from=&limit=)",
        [&p](http_request& req, args a, const responder_ptr& res) { dead_letter_list(p, req, a[0], res); });
    add("DELETE", "/admin/workers/{name}/dead-letters/{offset}", "drops a dead letter",
        [&p](http_request& req, args a, const responder_ptr& res) { dead_letter_drop(p, req, a, res); });
    add("POST", "/admin/workers/{name}/dead-letters/{offset}/requeue", "delivers a dead letter again (no client waits)",
        [&p](http_request& req, args a, const responder_ptr& res) { dead_letter_requeue(p, req, a, res); });
    add("GET", "/admin/tasks", "tasks of both eras (?status=&principal=&session=&limit=&after=)",
        [&p](http_request& req, args, const responder_ptr& res) { task_list(p, req, res); });
    add("GET", "/admin/tasks/{id}", "one task: record, worker, topic",
        [&p](http_request&, args a, const responder_ptr& res) { task_view(p, a[0], res); });
    add("GET", "/admin/tasks/{id}/events", "its topic, decoded (?from=&limit=)",
        [&p](http_request& req, args a, const responder_ptr& res) { task_events(p, req, a[0], res); });
    add("GET", "/admin/tail", "SSE: new records of the lite topics matching ?topics=<pattern> ('*' any run)",
        [&p](http_request& req, args, const responder_ptr& res) { tail(p, req, res); });
}

std::optional<http_response> admin_api::refusal(const http_request& req) const {
    const auto& token = p_.cfg.mcp.admin_token;
    if (auto given = http::bearer_token(req); given && !token.empty() && given->size() == token.size() &&
                                              CRYPTO_memcmp(given->data(), token.data(), token.size()) == 0)
        return std::nullopt;
    const bool on_loopback_too = p_.cfg.mcp.admin_credential_on_loopback.value_or(p_.auth.enabled());
    if (!on_loopback_too && http::is_loopback(req.peer)) return std::nullopt;
    if (p_.auth.enabled()) {
        auto r = p_.auth.check(req.headers.get("Authorization"), scope::admin);
        if (r.outcome == auth_outcome::ok) return std::nullopt;
        if (r.outcome == auth_outcome::insufficient_scope) {  // a good token without mcp:admin
            auto refused = problem(403, "Forbidden: " + r.why);
            refused.headers.set("WWW-Authenticate", p_.auth.challenge(r, scope::admin));
            return refused;
        }
    }
    auto refused = problem(401, token.empty() && !p_.auth.enabled()
                                    ? "the admin API answers loopback clients only (set --admin-token to allow others)"
                                    : "the admin API needs Authorization: Bearer <admin token, or an access token "
                                      "with the mcp:admin scope> from this address");
    refused.headers.set("WWW-Authenticate", "Bearer realm=\"litemcp-admin\"");
    return refused;
}

void admin_api::handle(http_request req, std::shared_ptr<responder> res) {
    if (auto refused = refusal(req)) return res->respond(std::move(*refused));
    routes_.serve(req, res, http::json_style::pretty, " (GET /admin/ lists the API)");
}

}  // namespace litemcp::server
