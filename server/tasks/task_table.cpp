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
    const auto& r = t->rec;
    const auto deadline = deadline_key(r.created_ms + r.ttl_ms, r.id);
    auto text = to_json(r.to_json());
    auto undo = [&] {
        (void)st_.kv_delete(std::string(record_prefix) + r.id);
        (void)st_.kv_delete(deadline);
    };
    if (auto d = st_.kv_put(deadline, ""); !d) return std::unexpected("cannot record the task: " + d.error().message);
    if (auto k = st_.kv_create(std::string(record_prefix) + r.id, text); !k || !*k) {
        undo();
        return std::unexpected("cannot record the task: " + (k ? std::string("its id is taken") : k.error().message));
    }
    t->stored = std::move(text);
    if (auto a = st_.append(topic_of(r.id), to_json(json{{"event", "created"}, {"status", to_string(r.status)},
                                                         {"at", r.updated_ms}}));
        !a) {
        undo();
        return std::unexpected("cannot record the task: " + a.error().message);
    }
    created_++;
    {
        std::lock_guard lock(mu_);
        live_[r.id] = t;
    }
    if (on_saved_) on_saved_(r);
    return t;
}

std::shared_ptr<task> task_table::loaded(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    return it == live_.end() ? nullptr : it->second;
}

std::shared_ptr<task> task_table::find(const std::string& id) {
    if (auto t = loaded(id)) {
        if (!st_.shared()) return t;
        std::lock_guard lock(t->mu);
        refresh(*t);
        return t->stored.empty() ? nullptr : t;  // gone: expired or removed elsewhere
    }
    auto raw = st_.kv_get(std::string(record_prefix) + id);
    if (!raw || !*raw) return nullptr;
    auto rec = task_record::from_json(parse_json(**raw).value_or(json()));
    if (!rec || rec->created_ms + rec->ttl_ms < now_ms()) return nullptr;
    auto t = std::make_shared<task>();
    t->rec = std::move(*rec);
    t->stored = std::move(**raw);
    if (!terminal(t->rec.status)) {  // another thread may have loaded it first
        std::lock_guard lock(mu_);
        auto [it, inserted] = live_.try_emplace(id, t);
        return it->second;
    }
    return t;
}

store::result<bool> task_table::reread(task& t) {
    auto raw = st_.kv_get(std::string(record_prefix) + t.rec.id);
    if (!raw) return std::unexpected(raw.error());
    std::optional<task_record> rec;
    if (*raw) rec = task_record::from_json(parse_json(**raw).value_or(json()));
    if (!rec) {  // expired or removed (or unreadable, which a write would only make worse)
        t.stored.clear();
        t.cancel_requested = true;
        std::lock_guard lock(mu_);
        live_.erase(t.rec.id);
        return false;
    }
    t.rec = std::move(*rec);
    t.stored = std::move(**raw);
    return true;
}

bool task_table::refresh(task& t) {
    if (!st_.shared() || t.stored.empty()) return false;
    const auto before = t.stored;
    auto r = reread(t);
    if (!r) {
        spdlog::warn("task {}: cannot read its record again: {}", t.rec.id, r.error().message);
        return false;
    }
    if (t.stored == before) return false;
    changed(t, false);
    return true;
}

store::result<std::optional<std::string>> task_table::update(task& t, const change_fn& change, json detail) {
    const std::string key = std::string(record_prefix) + t.rec.id;
    // Each retry means another server changed the task in between: a few
    // are plenty unless something rewrites it in a loop.
    for (int attempt = 0; attempt < 16; ++attempt) {
        if (t.stored.empty()) return store::make_error(store::errc::not_found, "task " + t.rec.id + " no longer exists");
        task_record next = t.rec;
        auto event = change(next);
        if (!event) return std::optional<std::string>();
        next.updated_ms = now_ms();
        auto text = to_json(next.to_json());
        auto swapped = st_.kv_swap(key, t.stored, text);
        if (!swapped) return std::unexpected(swapped.error());
        if (!*swapped) {  // changed elsewhere: apply the change to what is there now
            if (auto r = reread(t); !r) return std::unexpected(r.error());
            changed(t, false);
            continue;
        }
        t.rec = std::move(next);
        t.stored = std::move(text);
        const auto& r = t.rec;
        json entry{{"event", *event}, {"status", to_string(r.status)}, {"at", r.updated_ms}};
        if (!r.status_message.empty()) entry["statusMessage"] = r.status_message;
        if (!detail.is_null()) entry["detail"] = detail;
        if (r.status == task_status::input_required) entry["inputRequests"] = r.input_requests;
        if (r.result) entry["result"] = *r.result;
        if (r.error) entry["error"] = *r.error;
        // The record holds the state; the topic is its history, so a failed
        // append is reported but does not undo the transition.
        if (auto a = st_.append(topic_of(r.id), to_json(entry)); !a)
            spdlog::error("task {}: cannot append its {} event: {}", r.id, *event, a.error().message);
        changed(t, true);
        return event;
    }
    return store::make_error(store::errc::io_error, "task " + t.rec.id + " kept changing under 16 attempts to change it");
}

void task_table::changed(task& t, bool here) {
    const auto& r = t.rec;
    if (terminal(r.status)) {
        if (r.status == task_status::cancelled) t.cancel_requested = true;
        std::lock_guard lock(mu_);
        // Counted once, by the server that ended it: a terminal task is
        // never changed again.
        if (live_.erase(r.id) && here)
            (r.status == task_status::completed ? completed_ : r.status == task_status::failed ? failed_ : cancelled_)++;
    }
    t.changed.notify_all();
    if (!here) return;
    if (on_saved_) on_saved_(r);
    if (st_.shared()) (void)st_.signal(changed_signal, r.id);
}

void task_table::note(const task& t, json message) {
    st_.append_async(topic_of(t.rec.id), to_json(json{{"event", "message"}, {"message", std::move(message)}}), 0,
                     nullptr);
}

void task_table::scan(const std::function<bool(task_record&&, std::string&&)>& each, const std::string& after) {
    std::string from = after.empty() ? std::string() : std::string(record_prefix) + after;
    const auto now = now_ms();
    for (;;) {
        auto batch = st_.kv_scan(record_prefix, from, 1000);
        if (!batch || batch->empty()) return;
        for (auto& [key, value] : *batch) {
            from = key;
            auto rec = task_record::from_json(parse_json(value).value_or(json()));
            if (!rec || rec->created_ms + rec->ttl_ms < now) continue;
            if (!each(std::move(*rec), std::move(value))) return;
        }
        if (batch->size() < 1000) return;
    }
}

std::vector<task_record> task_table::list(const std::function<bool(const task_record&)>& keep,
                                          const std::string& after, std::size_t limit) {
    std::vector<task_record> out;
    if (limit == 0) return out;
    scan(
        [&](task_record&& r, std::string&&) {
            if (keep(r)) out.push_back(std::move(r));
            return out.size() < limit;
        },
        after);
    return out;
}

std::vector<std::shared_ptr<task>> task_table::load_unfinished() {
    std::vector<std::shared_ptr<task>> out;
    scan(
        [&](task_record&& r, std::string&& stored) {
            if (terminal(r.status)) return true;
            auto t = std::make_shared<task>();
            t->rec = std::move(r);
            t->stored = std::move(stored);
            out.push_back(std::move(t));
            return true;
        },
        {});
    std::lock_guard lock(mu_);
    for (auto& t : out) live_[t->rec.id] = t;
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

void task_table::ask_live(const std::string& id, std::function<void(bool)> done) {
    st_.ask(live_question, id, live_wait,
            [done = std::move(done)](std::optional<std::string> answer) { done(answer.has_value()); });
}

std::optional<std::string> task_table::answer_live(const std::string& id) const {
    auto t = loaded(id);
    if (!t) return std::nullopt;
    std::unique_lock lock(t->mu, std::try_to_lock);
    if (!lock.owns_lock() || t->running) return std::string("1");
    return std::nullopt;
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
