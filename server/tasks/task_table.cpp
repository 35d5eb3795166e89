#include "server/tasks/task_table.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "server/util/ids.h"
#include "server/json/json_text.h"

namespace litemcp::server {

namespace {

constexpr std::string_view record_prefix = "task/";
constexpr std::string_view deadline_prefix = "taskexp/";
constexpr std::string_view status_names[] = {"working", "input_required", "completed", "failed", "cancelled"};

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Sorts by time: zero-padded milliseconds.
std::string deadline_key(std::int64_t deadline_ms, const std::string& id) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016lld", static_cast<long long>(deadline_ms));
    return std::string(deadline_prefix) + buf + "/" + id;
}

std::string topic_of(const std::string& id) { return std::string(task_table::parent) + "/" + id; }

}  // namespace

std::string_view to_string(task_status s) { return status_names[static_cast<std::size_t>(s)]; }

std::optional<task_status> parse_task_status(std::string_view s) {
    for (std::size_t i = 0; i < std::size(status_names); ++i)
        if (status_names[i] == s) return static_cast<task_status>(i);
    return std::nullopt;
}

json task_record::to_json() const {
    json j{{"id", id},
           {"status", to_string(status)},
           {"createdMs", created_ms},
           {"updatedMs", updated_ms},
           {"ttlMs", ttl_ms},
           {"pollIntervalMs", poll_interval_ms},
           {"principal", principal},
           {"session", session},
           {"version", version},
           {"clientCapabilities", client_capabilities},
           {"params", params},
           {"answers", answers},
           {"inputRequests", input_requests}};
    if (!status_message.empty()) j["statusMessage"] = status_message;
    if (result) j["result"] = *result;
    if (error) j["error"] = *error;
    if (!worker.empty()) j["worker"] = worker;
    return j;
}

std::optional<task_record> task_record::from_json(const json& j) {
    if (!j.is_object()) return std::nullopt;
    try {
        task_record r;
        r.id = j.at("id").get<std::string>();
        auto status = parse_task_status(j.at("status").get<std::string>());
        if (!status) return std::nullopt;
        r.status = *status;
        r.status_message = j.value("statusMessage", "");
        r.created_ms = j.at("createdMs").get<std::int64_t>();
        r.updated_ms = j.at("updatedMs").get<std::int64_t>();
        r.ttl_ms = j.at("ttlMs").get<std::int64_t>();
        r.poll_interval_ms = j.value("pollIntervalMs", std::int64_t{0});
        r.principal = j.value("principal", "");
        r.session = j.value("session", "");
        r.version = j.value("version", "");
        r.client_capabilities = j.value("clientCapabilities", json::object());
        r.params = j.value("params", json::object());
        r.answers = j.value("answers", json::object());
        r.input_requests = j.value("inputRequests", json::object());
        if (j.contains("result")) r.result = j["result"];
        if (j.contains("error")) r.error = j["error"];
        r.worker = j.value("worker", "");
        return r;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

task_table::task_table(store::store& st, task_table_options options) : st_(st), options_(options) {}

std::expected<std::shared_ptr<task>, std::string> task_table::create(task_record rec) {
    {
        std::lock_guard lock(mu_);
        if (live_.size() >= options_.max_active)
            return std::unexpected(std::to_string(live_.size()) + " tasks are active, the limit");
    }
    rec.id = random_id();
    rec.created_ms = rec.updated_ms = now_ms();
    auto t = std::make_shared<task>();
    t->rec = std::move(rec);
    std::lock_guard tl(t->mu);
    if (auto r = st_.kv_put(deadline_key(t->rec.created_ms + t->rec.ttl_ms, t->rec.id), ""); !r)
        return std::unexpected("cannot record the task: " + r.error().message);
    if (auto r = save(*t, "created"); !r) {
        (void)st_.kv_delete(deadline_key(t->rec.created_ms + t->rec.ttl_ms, t->rec.id));
        return std::unexpected("cannot record the task: " + r.error().message);
    }
    std::lock_guard lock(mu_);
    live_[t->rec.id] = t;
    return t;
}

std::shared_ptr<task> task_table::find(const std::string& id) {
    {
        std::lock_guard lock(mu_);
        if (auto it = live_.find(id); it != live_.end()) return it->second;
    }
    auto raw = st_.kv_get(std::string(record_prefix) + id);
    if (!raw || !*raw) return nullptr;
    auto rec = task_record::from_json(parse_json(**raw).value_or(json()));
    if (!rec || rec->created_ms + rec->ttl_ms < now_ms()) return nullptr;
    auto t = std::make_shared<task>();
    t->rec = std::move(*rec);
    if (!terminal(t->rec.status)) {  // another thread may have loaded it first
        std::lock_guard lock(mu_);
        auto [it, inserted] = live_.try_emplace(id, t);
        return it->second;
    }
    return t;
}

store::result<void> task_table::save(task& t, std::string_view event, json detail) {
    auto& r = t.rec;
    r.updated_ms = now_ms();
    json entry{{"event", event}, {"status", to_string(r.status)}, {"at", r.updated_ms}};
    if (!r.status_message.empty()) entry["statusMessage"] = r.status_message;
    if (!detail.is_null()) entry["detail"] = std::move(detail);
    if (r.status == task_status::input_required) entry["inputRequests"] = r.input_requests;
    if (r.result) entry["result"] = *r.result;
    if (r.error) entry["error"] = *r.error;
    if (auto a = st_.append(topic_of(r.id), to_json(entry)); !a) return std::unexpected(a.error());
    if (auto k = st_.kv_put(std::string(record_prefix) + r.id, to_json(r.to_json())); !k) return k;
    if (event == "created") created_++;
    if (terminal(r.status)) {
        std::lock_guard lock(mu_);
        // Counted once: a terminal task is never saved again.
        if (live_.erase(r.id))
            (r.status == task_status::completed ? completed_ : r.status == task_status::failed ? failed_ : cancelled_)++;
    }
    t.changed.notify_all();
    if (on_saved_) on_saved_(r);
    return {};
}

void task_table::note(const task& t, json message) {
    st_.append_async(topic_of(t.rec.id), to_json(json{{"event", "message"}, {"message", std::move(message)}}), 0,
                     nullptr);
}

std::vector<task_record> task_table::list(const std::function<bool(const task_record&)>& keep,
                                          const std::string& after, std::size_t limit) {
    std::vector<task_record> out;
    std::string from = after.empty() ? std::string() : std::string(record_prefix) + after;
    const auto now = now_ms();
    while (out.size() < limit) {
        auto batch = st_.kv_scan(record_prefix, from, 1000);
        if (!batch || batch->empty()) break;
        for (auto& [key, value] : *batch) {
            from = key;
            auto rec = task_record::from_json(parse_json(value).value_or(json()));
            if (!rec || rec->created_ms + rec->ttl_ms < now || !keep(*rec)) continue;
            out.push_back(std::move(*rec));
            if (out.size() == limit) break;
        }
        if (batch->size() < 1000) break;
    }
    return out;
}

std::vector<std::shared_ptr<task>> task_table::load_unfinished() {
    auto recs = list([](const task_record& r) { return !terminal(r.status); }, {}, SIZE_MAX);
    std::vector<std::shared_ptr<task>> out;
    std::lock_guard lock(mu_);
    for (auto& r : recs) {
        auto t = std::make_shared<task>();
        t->rec = std::move(r);
        live_[t->rec.id] = t;
        out.push_back(std::move(t));
    }
    return out;
}

std::size_t task_table::expire_due() {
    const auto now = now_ms();
    std::size_t n = 0;
    for (;;) {
        auto due = st_.kv_scan(deadline_prefix, {}, 1000);
        if (!due || due->empty()) break;
        bool more = false;
        for (auto& [key, value] : *due) {
            // taskexp/<16 digits>/<id>
            const auto ms = std::stoll(key.substr(deadline_prefix.size(), 16));
            if (ms > now) break;
            const auto id = key.substr(deadline_prefix.size() + 17);
            (void)st_.remove_topic(topic_of(id));
            forget(id, ms);
            ++n;
            expired_++;
            more = true;
        }
        if (!more || due->size() < 1000) break;
    }
    if (n) spdlog::info("tasks: {} expired and removed", n);
    return n;
}

void task_table::forget(const std::string& id, std::int64_t deadline_ms) {
    (void)st_.kv_delete(std::string(record_prefix) + id);
    (void)st_.kv_delete(deadline_key(deadline_ms, id));
    std::shared_ptr<task> t;
    {
        std::lock_guard lock(mu_);
        if (auto it = live_.find(id); it != live_.end()) {
            t = it->second;
            live_.erase(it);
        }
    }
    if (t) {  // a handler still running finds it cancelled
        std::lock_guard lock(t->mu);
        t->cancel_requested = true;
        t->changed.notify_all();
    }
}

void task_table::reclaimed(std::string_view topic) {
    const auto id = std::string(topic.substr(parent.size() + 1));
    auto raw = st_.kv_get(std::string(record_prefix) + id);
    std::int64_t deadline = 0;
    if (raw && *raw)
        if (auto rec = task_record::from_json(parse_json(**raw).value_or(json())))
            deadline = rec->created_ms + rec->ttl_ms;
    forget(id, deadline);
}

std::size_t task_table::active() const {
    std::lock_guard lock(mu_);
    return live_.size();
}


std::vector<std::shared_ptr<task>> task_table::unfinished() const {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<task>> out;
    out.reserve(live_.size());
    for (auto& [id, t] : live_) out.push_back(t);
    return out;
}


task_table::counts task_table::totals() const {
    return {created_.load(), completed_.load(), failed_.load(), cancelled_.load(), expired_.load()};
}

}  // namespace litemcp::server
