#include "server/sessions/session.h"

#include <spdlog/spdlog.h>

#include "server/util/counted.h"
#include "server/util/ids.h"
#include "server/json/json_text.h"
#include "server/sessions/stream_feeder.h"

namespace litemcp::server {

namespace {
constexpr std::string_view record_prefix = "session/";

std::uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}
// A stream open or a request running here (the admin API's "active").
bool is_active(session_state& s) {
    std::lock_guard lock(s.mu);
    return !s.live_streams.empty() || s.get_stream || !s.running.empty();
}

}  // namespace

session_table::session_table(store::store& s, std::uint64_t max_sessions, std::uint64_t max_per_principal,
                             std::chrono::milliseconds recount_every)
    : store_(s), max_(max_sessions), max_per_principal_(max_per_principal), counts_(s, recount_every) {
    counts_.start();
}

bool session_table::take_record(const std::string& id, std::string& principal) {
    auto taken = store_.kv_take(std::string(record_prefix) + id);
    if (!taken) {
        spdlog::error("session {}: cannot delete its record: {}", id, taken.error().message);
        return false;
    }
    if (!*taken) return false;  // another server (or an earlier end here) took it
    auto j = parse_json(**taken).value_or(json());
    if (j.is_object()) principal = j.value("principal", "");
    return true;
}

std::string session_table::record_of(const session_state& s) const {
    json subs = json::array();
    for (auto& u : s.subscriptions) subs.push_back(u);
    return to_json(json{{"version", s.version},
                        {"capabilities", s.client_capabilities},
                        {"clientInfo", s.client_info},
                        {"created", s.created_ms},
                        {"level", to_string(s.level)},
                        {"subscriptions", subs},
                        {"principal", s.principal}});
}

std::expected<std::shared_ptr<session_state>, create_refusal> session_table::create(std::string version,
                                                                                    json capabilities,
                                                                                    json client_info,
                                                                                    std::string principal) {
    if (auto refused = counts_.admit(principal, max_, max_per_principal_))
        return std::unexpected(create_refusal{refused->principal_full ? create_refusal::reason::principal_full
                                                                      : create_refusal::reason::server_full,
                                              std::move(refused->message)});
    auto s = std::make_shared<session_state>();
    s->id = random_id();
    s->topic = topic_of(s->id);
    s->version = std::move(version);
    s->client_capabilities = std::move(capabilities);
    s->client_info = std::move(client_info);
    s->created_ms = now_ms();
    s->principal = std::move(principal);
    if (auto r = store_.kv_put(std::string(record_prefix) + s->id, record_of(*s)); !r) {
        spdlog::error("session {}: cannot persist: {}", s->id, r.error().message);
        counts_.ended(s->principal);
        return std::unexpected(create_refusal{create_refusal::reason::store_error, "cannot record the session: " + r.error().message});
    }
    std::lock_guard lock(mu_);
    sessions_[s->id] = s;
    return s;
}

store::result<std::shared_ptr<session_state>> session_table::find(const std::string& id) {
    {
        std::lock_guard lock(mu_);
        if (auto it = sessions_.find(id); it != sessions_.end()) {
            it->second->last_used = std::chrono::steady_clock::now();
            return it->second;
        }
    }
    if (id.size() != 32) return nullptr;
    {
        std::lock_guard lock(mu_);
        if (ended_.contains(id)) return nullptr;
    }
    auto rec = store_.kv_get(std::string(record_prefix) + id);
    if (!rec) return std::unexpected(rec.error());
    if (!*rec) return nullptr;
    auto parsed = parse_json(**rec);
    if (!parsed) {
        spdlog::error("session {}: stored record is not JSON: {}", id, parsed.error().message);
        return nullptr;
    }
    const auto& j = *parsed;
    auto s = std::make_shared<session_state>();
    s->id = id;
    s->topic = topic_of(id);
    s->version = j.value("version", "2025-03-26");
    s->client_capabilities = j.value("capabilities", json::object());
    s->client_info = j.value("clientInfo", json::object());
    s->created_ms = j.value("created", std::uint64_t{0});
    s->principal = j.value("principal", "");
    s->level = parse_log_level(j.value("level", "info")).value_or(log_level::info);
    for (auto& u : j.value("subscriptions", json::array())) s->subscriptions.insert(u.get<std::string>());
    s->initialized = true;  // it was, before the restart
    std::lock_guard lock(mu_);
    if (ended_.contains(id)) return nullptr;  // it ended while its record was read
    auto [it, inserted] = sessions_.emplace(id, s);
    return it->second;
}

namespace {

// Marks a session ended and stops what runs in it here: its GET stream, its
// requests, the handlers waiting for the client. False when it had ended.
bool stop_everything(session_state& s) {
    std::shared_ptr<stream_feeder> get;
    {
        std::lock_guard lock(s.mu);
        if (s.ended) return false;
        s.ended = true;
        get = std::move(s.get_stream);
        for (auto& [id, flag] : s.running) *flag = true;
        for (auto& [id, w] : s.waiting) w->wake();
    }
    if (get) get->stop(true);
    return true;
}

}  // namespace

bool cancel_running(session_state& s, const std::string& id_key) {
    std::lock_guard lock(s.mu);
    auto it = s.running.find(id_key);
    if (it == s.running.end()) return false;
    *it->second = true;
    for (auto& [id, w] : s.waiting) w->wake();
    return true;
}

bool deliver_answer(session_state& s, json answer) {
    std::shared_ptr<pending_reply> w;
    {
        std::lock_guard lock(s.mu);
        if (auto it = s.waiting.find(to_json(answer["id"])); it != s.waiting.end()) w = it->second;
    }
    if (!w) return false;
    {
        std::lock_guard lock(w->mu);
        w->answer = std::move(answer);
    }
    w->cv.notify_all();
    return true;
}

void session_table::save(session_state& s) {
    std::string rec;
    {
        std::lock_guard lock(s.mu);
        if (s.ended) return;
        rec = record_of(s);
    }
    // Only over the record that is there: a session ended meanwhile (here or
    // on another server, which took its record) does not come back.
    const std::string key = std::string(record_prefix) + s.id;
    for (int round = 0;; ++round) {
        auto stored = store_.kv_get(key);
        if (!stored) {
            spdlog::error("session {}: cannot persist: {}", s.id, stored.error().message);
            return;
        }
        if (!*stored) return;  // ended
        auto saved = store_.kv_swap(key, **stored, rec);
        if (!saved) {
            spdlog::error("session {}: cannot persist: {}", s.id, saved.error().message);
            return;
        }
        if (*saved) break;
        if (round == 8) {
            spdlog::error("session {}: cannot persist: its record kept changing", s.id);
            return;
        }
    }
    if (store_.shared()) (void)store_.signal("s-changed", s.id);
}

std::shared_ptr<session_state> session_table::loaded_state(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
}

void session_table::changed_elsewhere(const std::string& id) {
    auto s = loaded_state(id);
    if (!s) return;  // read from the store when next used
    auto rec = store_.kv_get(std::string(record_prefix) + id);
    if (!rec || !*rec) return;
    auto j = parse_json(**rec).value_or(json());
    if (!j.is_object()) return;
    std::lock_guard lock(s->mu);
    s->level = parse_log_level(j.value("level", "info")).value_or(log_level::info);
    s->subscriptions.clear();
    for (auto& u : j.value("subscriptions", json::array()))
        if (u.is_string()) s->subscriptions.insert(u.get<std::string>());
}

void session_table::remember_ended(const std::string& id) {
    const auto now = std::chrono::steady_clock::now();
    while (!ended_order_.empty() &&
           (ended_order_.size() >= max_ended || now - ended_order_.front().first > ended_memory)) {
        ended_.erase(ended_order_.front().second);
        ended_order_.pop_front();
    }
    if (ended_.insert(id).second) ended_order_.emplace_back(now, id);
}

void session_table::ended_elsewhere(const std::string& id) {
    std::shared_ptr<session_state> s;
    {
        std::lock_guard lock(mu_);
        remember_ended(id);
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return;
        s = it->second;
        sessions_.erase(it);
    }
    if (!stop_everything(*s)) return;
    spdlog::info("session {}: ended by another server", id);  // which counted it out
}

void session_table::end(const std::shared_ptr<session_state>& s) {
    if (!stop_everything(*s)) return;
    {
        std::lock_guard lock(mu_);
        remember_ended(s->id);
        sessions_.erase(s->id);
    }
    // The others first: by the time the client hears that the session ended,
    // every server has long heard it too (and will not load it back from the
    // record being deleted: remember_ended).
    if (store_.shared()) (void)store_.signal("s-end", s->id);
    std::string principal = s->principal;
    const bool took = take_record(s->id, principal);
    if (auto r = store_.remove_topic(s->topic); !r && r.error().code != store::errc::not_found)
        spdlog::error("session {}: cannot delete its topic: {}", s->id, r.error().message);
    if (took) counts_.ended(principal);  // counted out once, by whoever took its record
    spdlog::info("session {}: ended", s->id);
}

void session_table::expired(std::string_view topic) {
    constexpr std::string_view prefix = "mcp.session/";
    if (!topic.starts_with(prefix)) return;
    std::string id(topic.substr(prefix.size()));
    std::shared_ptr<session_state> s;
    {
        std::lock_guard lock(mu_);
        remember_ended(id);
        if (auto it = sessions_.find(id); it != sessions_.end()) {
            s = it->second;
            sessions_.erase(it);
        }
    }
    if (s) {
        std::lock_guard lock(s->mu);
        s->ended = true;
    }
    // Counted out by whoever takes its record: with a shared store, every
    // server reports the idle topic, and one ended elsewhere (DELETE) is
    // reported too, its record already gone.
    std::string principal;
    if (!take_record(id, principal)) return;
    counts_.ended(principal);
    spdlog::info("session {}: expired", id);
}

void session_table::cancel_all() {
    std::size_t cancelled = 0;
    {
        std::lock_guard lock(mu_);
        for (auto& [id, s] : sessions_) {
            std::lock_guard l(s->mu);
            for (auto& [rid, flag] : s->running)
                if (!flag->exchange(true)) {  // not a request the client cancelled
                    s->interrupted.insert(rid);
                    ++cancelled;
                }
            for (auto& [wid, w] : s->waiting) w->wake();
        }
    }
    if (cancelled)
        spdlog::info("session: stopping: {} cancelled; each client gets an error saying the server stopped",
                     counted(cancelled, "running request"));
}

void session_table::close_streams() {
    std::vector<std::shared_ptr<stream_feeder>> streams;
    {
        std::lock_guard lock(mu_);
        for (auto& [id, s] : sessions_) {
            std::lock_guard l(s->mu);
            if (s->get_stream) streams.push_back(std::move(s->get_stream));
        }
    }
    for (auto& f : streams) f->stop(false);
}

void session_table::trim_memory(std::chrono::seconds idle) {
    const auto cutoff = std::chrono::steady_clock::now() - idle;
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [&](auto& kv) {
        auto& s = kv.second;
        std::lock_guard l(s->mu);
        return s.use_count() == 1 && s->last_used < cutoff && s->live_streams.empty() && !s->get_stream &&
               s->waiting.empty();
    });
}

json session_table::describe(session_state& s) {
    std::lock_guard lock(s.mu);
    json streams = json::array();
    for (auto offset : s.live_streams) streams.push_back(std::to_string(offset));
    json subs = json::array();
    for (auto& u : s.subscriptions) subs.push_back(u);
    return json{{"id", s.id},
                {"principal", s.principal},
                {"version", s.version},
                {"clientInfo", s.client_info},
                {"clientCapabilities", s.client_capabilities},
                {"createdMs", s.created_ms},
                {"logLevel", to_string(s.level)},
                {"subscriptions", subs},
                {"runningRequests", s.running.size()},
                {"liveStreams", streams},
                {"getStreamOpen", s.get_stream != nullptr},
                {"waitingForClient", s.waiting.size()}};
}

std::uint64_t session_table::matching(const std::string& state, const std::string& principal) const {
    const std::uint64_t all = principal.empty() ? counts_.total() : counts_.of(principal);
    if (state.empty()) return all;
    std::lock_guard lock(mu_);
    // Only a session in memory can be active: count those.
    std::uint64_t active = 0;
    for (auto& [id, s] : sessions_)
        if ((principal.empty() || s->principal == principal) && is_active(*s)) ++active;
    if (state == "active") return active;
    return all > active ? all - active : 0;
}

session_table::page session_table::list(const std::string& after, std::size_t limit, const std::string& state,
                                        const std::string& principal) {
    page out;
    std::string cursor = after.empty() ? "" : std::string(record_prefix) + after;
    // One match past the page tells whether there is a next page, so a full
    // last page carries no cursor to an empty one.
    while (out.sessions.size() <= limit) {
        auto batch = store_.kv_scan(record_prefix, cursor, std::max<std::size_t>(limit, 100));
        if (!batch || batch->empty()) return out;
        for (auto& [key, value] : *batch) {
            cursor = key;
            const std::string id = key.substr(record_prefix.size());
            std::shared_ptr<session_state> loaded;
            {
                std::lock_guard lock(mu_);
                if (auto it = sessions_.find(id); it != sessions_.end()) loaded = it->second;
            }
            const bool active = loaded && is_active(*loaded);
            if ((state == "active" && !active) || (state == "idle" && active)) continue;
            auto parsed = parse_json(value);
            if (!parsed) continue;
            const auto& j = *parsed;
            if (!principal.empty() && j.value("principal", "") != principal) continue;
            if (out.sessions.size() == limit) {
                out.next = out.sessions.back()["id"].get<std::string>();
                return out;
            }
            out.sessions.push_back(json{{"id", id},
                                        {"principal", j.value("principal", "")},
                                        {"version", j.value("version", "")},
                                        {"clientInfo", j.value("clientInfo", json::object())},
                                        {"createdMs", j.value("created", std::uint64_t{0})},
                                        {"active", active}});
        }
        if (batch->size() < std::max<std::size_t>(limit, 100)) return out;
    }
    return out;
}

std::size_t session_table::loaded() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
}

}  // namespace litemcp::server
