#include "server/worker_hub.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <pthread.h>

#include "server/ids.h"
#include "server/json_schema.h"
#include "server/json_text.h"
#include "server/session.h"

namespace litemcp::server {

namespace {

constexpr std::string_view worker_prefix = "worker/";
constexpr std::string_view call_prefix = "wcall/";
constexpr std::size_t recently_done_max = 10'000;

std::uint64_t wall_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

api_answer error(unsigned status, std::string message) { return {status, json{{"error", std::move(message)}}}; }

std::string request_key(const std::string& session, const json& request_id) {
    return session + "\n" + to_json(request_id);
}

}  // namespace

// ---- state -------------------------------------------------------------------

struct worker_hub::instance {
    std::string id;
    std::shared_ptr<transport::sse_stream> sse;
    unsigned busy = 0;
    bool attached = false;  // told so: calls are delivered to it from then on
};

struct worker_hub::worker {
    std::string name, id, digest;
    std::string owner;  // the principal that registered it (authentication on)
    json definition;  // the registration body
    std::uint64_t created_ms = 0;
    unsigned concurrency = 1;
    bool queue_while_offline = false;
    std::chrono::milliseconds invisibility{}, call_timeout{};
    unsigned max_attempts = 3;
    std::vector<std::shared_ptr<const tool>> tools;
    std::string topic, consumer, dlq;

    std::uint64_t next = 0;          // next topic offset to read
    std::uint64_t saved_cursor = 0;  // the broker-held cursor: never past an open call
    std::set<std::uint64_t> pinned;  // topic offsets of open calls already read
    std::deque<std::string> ready;   // calls waiting for an instance, in order
    std::vector<std::shared_ptr<instance>> instances;
    std::size_t open = 0;            // open calls (queued, ready, delivered, waiting)
    bool online = true;
    std::uint64_t presence = 0;      // bumps when an instance attaches: stale offline checks do nothing
    clock::time_point suspended_until{};
    std::uint64_t delivered = 0, redelivered = 0, dead_lettered = 0, answered = 0;
};

struct worker_hub::open_call {
    enum class phase { queued, ready, delivered, waiting };
    std::string id, worker;
    call_ticket ticket;
    json params;
    std::uint64_t deadline_ms = 0;  // wall clock, told to the worker
    clock::time_point deadline;
    unsigned attempts = 0;          // deliveries so far
    std::optional<std::uint64_t> offset;  // its record on the worker's topic, once read
    phase state = phase::queued;
    std::weak_ptr<instance> holder;  // delivered to
    std::uint64_t generation = 0;   // bumps at each change of phase: stale timers do nothing
    clock::time_point invisible_until;
    std::string last_error;
    bool counted = false;  // in its worker's open count

    json record() const {
        json r{{"id", id},
               {"worker", worker},
               {"session", ticket.session_id},
               {"stream", ticket.stream},
               {"requestId", ticket.request_id},
               {"method", ticket.method},
               {"params", params},
               {"deadlineMs", deadline_ms},
               {"attempts", attempts}};
        if (ticket.progress_token) r["progressToken"] = *ticket.progress_token;
        return r;
    }
};

struct worker_hub::timer {
    enum class kind { invisibility, retry, deadline, resume, offline };
    kind what;
    std::string worker, call;
    std::uint64_t generation = 0;
};

worker_hub::worker_hub(store::store& st, registry& reg, call_sink& sink, worker_options o)
    : store_(st), registry_(reg), sink_(sink), opts_(o) {}

worker_hub::~worker_hub() { stop(); }

// ---- start and stop ----------------------------------------------------------

std::expected<std::unique_ptr<worker_hub::worker>, std::string> worker_hub::load_worker(const json& record) {
    auto w = std::make_unique<worker>();
    try {
        w->name = record.at("name").get<std::string>();
        w->id = record.at("id").get<std::string>();
        w->digest = record.at("digest").get<std::string>();
        w->created_ms = record.value("createdMs", std::uint64_t{0});
        w->owner = record.value("owner", "");
        w->definition = record.at("definition");
    } catch (const std::exception& e) {
        return std::unexpected(std::string("bad worker record: ") + e.what());
    }
    auto& d = w->definition;
    w->concurrency = d.value("concurrency", 1u);
    w->queue_while_offline = d.value("queueWhileOffline", false);
    w->invisibility = std::chrono::milliseconds(d.value("invisibilityMs", static_cast<long long>(opts_.invisibility.count())));
    w->call_timeout = std::chrono::milliseconds(d.value("callTimeoutMs", static_cast<long long>(opts_.call_timeout.count())));
    w->max_attempts = d.value("maxAttempts", opts_.max_attempts);
    for (auto& t : d.value("tools", json::array())) {
        tool x;
        x.definition = t;
        x.served_by = w->name;
        w->tools.push_back(std::make_shared<const tool>(std::move(x)));
    }
    w->topic = "mcp.worker/" + w->name;
    w->dlq = "mcp.dlq/" + w->name;
    w->consumer = "w." + w->name;
    return w;
}

store::result<void> worker_hub::start() {
    std::vector<call_ticket> restored;
    effects fx;
    {
        std::lock_guard lock(mu_);
        std::string after;
        for (;;) {
            auto page = store_.kv_scan(worker_prefix, after, 500);
            if (!page) return std::unexpected(page.error());
            for (auto& [key, value] : *page) {
                after = key;
                auto w = load_worker(parse_json(value).value_or(json()));
                if (!w) {
                    spdlog::error("workers: skipping {}: {}", key, w.error());
                    continue;
                }
                auto& ref = **w;
                auto cur = store_.cursor(ref.consumer, ref.topic);
                ref.next = ref.saved_cursor = cur && *cur ? **cur : 0;
                workers_[ref.name] = std::move(*w);
            }
            if (page->size() < 500) break;
        }
        after.clear();
        const auto now = clock::now();
        const auto now_ms = wall_ms();
        for (;;) {
            auto page = store_.kv_scan(call_prefix, after, 500);
            if (!page) return std::unexpected(page.error());
            for (auto& [key, value] : *page) {
                after = key;
                auto r = parse_json(value).value_or(json());
                auto c = std::make_unique<open_call>();
                try {
                    c->id = r.at("id").get<std::string>();
                    c->worker = r.at("worker").get<std::string>();
                    c->ticket.session_id = r.at("session").get<std::string>();
                    c->ticket.stream = r.at("stream").get<std::string>();
                    c->ticket.request_id = r.at("requestId");
                    c->ticket.method = r.at("method").get<std::string>();
                    if (r.contains("progressToken")) c->ticket.progress_token = r["progressToken"];
                    c->params = r.at("params");
                    c->deadline_ms = r.at("deadlineMs").get<std::uint64_t>();
                    c->attempts = r.value("attempts", 0u);
                } catch (const std::exception& e) {
                    spdlog::error("workers: dropping the unreadable call record {}: {}", key, e.what());
                    (void)store_.kv_delete(key);
                    continue;
                }
                auto w = workers_.find(c->worker);
                if (w == workers_.end()) {
                    (void)store_.kv_delete(key);
                    continue;
                }
                c->deadline = now + std::chrono::milliseconds(c->deadline_ms > now_ms ? c->deadline_ms - now_ms : 0);
                schedule(c->deadline, {timer::kind::deadline, c->worker, c->id, 0});
                w->second->open++;
                c->counted = true;
                by_request_[request_key(c->ticket.session_id, c->ticket.request_id)] = c->id;
                restored.push_back(c->ticket);
                calls_[c->id] = std::move(c);
            }
            if (page->size() < 500) break;
        }
        for (auto& [name, w] : workers_) {
            std::string n = name;
            if (auto r = store_.add_consumer(w->consumer, [this, n] { wake(n); }); !r)
                spdlog::error("workers: {}: {}", name, r.error().message);
            (void)store_.bind(w->consumer, w->topic);
            schedule(now + opts_.offline_grace, {timer::kind::offline, name, {}, w->presence});
            publish(*w, fx);
        }
        spdlog::info("workers: {} registered, {} calls open", workers_.size(), calls_.size());
    }
    for (auto& f : fx) f();
    for (auto& t : restored) sink_.restored(t);
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "worker-hub");
        run();
    });
    for (auto& [name, w] : workers_) wake(name);
    return {};
}

void worker_hub::stop() {
    {
        std::lock_guard lock(wake_mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    for (auto& [name, w] : workers_) store_.remove_consumer(w->consumer);
}

// ---- the hub's thread ------------------------------------------------------------

void worker_hub::wake(const std::string& worker_name) {
    {
        std::lock_guard lock(wake_mu_);
        dirty_.insert(worker_name);
    }
    wake_cv_.notify_one();
}

void worker_hub::schedule(clock::time_point at, timer t) {
    std::lock_guard lock(wake_mu_);
    const bool earliest = timers_.empty() || at < timers_.begin()->first;
    timers_.emplace(at, std::move(t));
    if (earliest) {
        timers_changed_ = true;
        wake_cv_.notify_one();
    }
}

void worker_hub::run() {
    for (;;) {
        std::set<std::string> dirty;
        std::vector<timer> due;
        {
            std::unique_lock lock(wake_mu_);
            auto ready = [&] { return stopping_ || !dirty_.empty() || timers_changed_ ||
                                      (!timers_.empty() && timers_.begin()->first <= clock::now()); };
            if (timers_.empty()) wake_cv_.wait(lock, ready);
            else wake_cv_.wait_until(lock, timers_.begin()->first, ready);
            if (stopping_) return;
            timers_changed_ = false;
            dirty.swap(dirty_);
            const auto now = clock::now();
            while (!timers_.empty() && timers_.begin()->first <= now) {
                due.push_back(std::move(timers_.begin()->second));
                timers_.erase(timers_.begin());
            }
        }
        effects fx;
        {
            std::lock_guard lock(mu_);
            for (auto& t : due) on_timer(t, fx);
            for (auto& name : dirty)
                if (auto w = workers_.find(name); w != workers_.end()) pump(*w->second, fx);
        }
        for (auto& f : fx) f();
    }
}

void worker_hub::on_timer(const timer& t, effects& fx) {
    const auto now = clock::now();
    if (t.what == timer::kind::resume) {
        if (auto w = workers_.find(t.worker); w != workers_.end()) pump(*w->second, fx);
        return;
    }
    if (t.what == timer::kind::offline) {
        auto w = workers_.find(t.worker);
        if (w != workers_.end() && w->second->presence == t.generation && w->second->instances.empty())
            set_online(*w->second, false, fx);
        return;
    }
    auto it = calls_.find(t.call);
    if (it == calls_.end()) return;
    auto& c = *it->second;
    switch (t.what) {
        case timer::kind::invisibility:
            if (c.state != open_call::phase::delivered || c.generation != t.generation) return;
            if (now < c.invisible_until) {
                schedule(c.invisible_until, t);
                return;
            }
            retry_or_dead_letter(c, "no answer within the invisibility timeout", std::nullopt, fx);
            return;
        case timer::kind::retry:
            if (c.state != open_call::phase::waiting || c.generation != t.generation) return;
            c.state = open_call::phase::ready;
            if (auto w = workers_.find(c.worker); w != workers_.end()) {
                w->second->ready.push_back(c.id);
                pump(*w->second, fx);
            }
            return;
        case timer::kind::deadline: {
            auto w = workers_.find(c.worker);
            const auto limit = w != workers_.end() ? w->second->call_timeout.count() : 0;
            send_cancel(c, "the call timed out");
            fail_call(c, "timed out: worker '" + c.worker + "' did not answer within " + std::to_string(limit) + " ms", fx);
            return;
        }
        default:
            return;
    }
}

// Reads new calls from the worker's topic and hands ready calls to free instances.
void worker_hub::pump(worker& w, effects& fx) {
    const auto now = clock::now();
    (void)store_.take_ready(w.consumer);
    while (w.ready.size() < 4096) {
        auto r = store_.read(w.topic, w.next, {256, 4u << 20});
        if (!r) break;  // no topic yet: nothing was ever queued
        if (r->outcome == store::read_outcome::truncated) {
            spdlog::warn("workers: {}: offsets {}..{} were trimmed before they were read", w.name, w.next,
                         r->first_offset - 1);
            w.next = r->first_offset;
            continue;
        }
        for (auto& rec : r->records) {
            w.next = rec.offset + 1;
            auto j = parse_json(rec.payload).value_or(json());
            if (!j.is_object() || !j.contains("callId") || !j["callId"].is_string()) continue;
            auto it = calls_.find(j["callId"].get<std::string>());
            if (it == calls_.end() || it->second->offset) continue;  // finished since, or seen
            auto& c = *it->second;
            c.offset = rec.offset;
            w.pinned.insert(rec.offset);
            if (c.state == open_call::phase::queued) {
                c.state = open_call::phase::ready;
                w.ready.push_back(c.id);
            }
        }
        if (r->records.size() < 256) break;
    }
    if (now >= w.suspended_until) {
        while (!w.ready.empty()) {
            std::shared_ptr<instance> best;
            for (auto& i : w.instances)
                if (i->attached && i->busy < w.concurrency && i->sse->is_open() && (!best || i->busy < best->busy))
                    best = i;
            if (!best) break;
            auto id = w.ready.front();
            w.ready.pop_front();
            auto it = calls_.find(id);
            if (it == calls_.end() || it->second->state != open_call::phase::ready) continue;
            deliver(w, *it->second, best, fx);
        }
    }
    save_cursor(w);
}

json worker_hub::event_for(const open_call& c, std::uint64_t) {
    json e{{"type", "call"},
           {"callId", c.id},
           {"method", c.ticket.method},
           {"deadline", c.deadline_ms},
           {"attempt", c.attempts}};
    if (c.ticket.method == "tools/call") {  // tool and arguments; the params are not repeated
        e["tool"] = c.params.value("name", "");
        e["arguments"] = c.params.value("arguments", json::object());
        if (c.params.contains("_meta")) e["meta"] = c.params["_meta"];
    } else {
        e["params"] = c.params;
    }
    if (c.ticket.progress_token) e["progressToken"] = *c.ticket.progress_token;
    return e;
}

void worker_hub::deliver(worker& w, open_call& c, const std::shared_ptr<instance>& to, effects& fx) {
    c.attempts++;
    c.generation++;
    c.state = open_call::phase::delivered;
    c.holder = to;
    c.invisible_until = clock::now() + w.invisibility;
    to->busy++;
    // The attempt count is durable before the worker sees the call, so a
    // restart cannot grant a call more deliveries than maxAttempts.
    if (auto r = store_.kv_put(std::string(call_prefix) + c.id, to_json(c.record())); !r)
        spdlog::error("workers: {}: cannot record delivery {} of call {}: {}", w.name, c.attempts, c.id, r.error().message);
    if (!to->sse->send(std::to_string(c.offset.value_or(0)), to_json(event_for(c, c.offset.value_or(0))))) {
        // The stream ended, or the event does not fit its bound (the stream
        // is then dropped): the instance is gone for the hub, and the
        // delivery counts as a failed attempt -- a call that can never be
        // written ends in the dead-letter topic instead of looping.
        std::erase(w.instances, to);
        retry_or_dead_letter(c, "the call could not be written to instance " + to->id +
                                    " (its stream ended, or the call is larger than a stream may queue)",
                             std::chrono::milliseconds(0), fx);
        return;
    }
    w.delivered++;
    if (c.attempts > 1) w.redelivered++;
    schedule(c.invisible_until, {timer::kind::invisibility, w.name, c.id, c.generation});
    spdlog::debug("workers: {}: call {} delivered to {} (attempt {})", w.name, c.id, to->id, c.attempts);
}

void worker_hub::send_cancel(const open_call& c, const std::string& reason) {
    if (c.state != open_call::phase::delivered) return;
    if (auto i = c.holder.lock()) i->sse->send({}, to_json(json{{"type", "cancel"}, {"callId", c.id}, {"reason", reason}}));
}

void worker_hub::release_slot(open_call& c) {
    if (c.state != open_call::phase::delivered) return;
    if (auto i = c.holder.lock(); i && i->busy > 0) i->busy--;
    c.holder.reset();
}

void worker_hub::retry_or_dead_letter(open_call& c, const std::string& why,
                                      std::optional<std::chrono::milliseconds> after_ms, effects& fx) {
    auto wi = workers_.find(c.worker);
    if (wi == workers_.end()) return fail_call(c, "worker '" + c.worker + "' is gone", fx);
    auto& w = *wi->second;
    release_slot(c);
    c.last_error = why;
    c.generation++;
    if (c.attempts >= w.max_attempts) {
        json letter{{"callId", c.id},
                    {"worker", w.name},
                    {"method", c.ticket.method},
                    {"params", c.params},
                    {"attempts", c.attempts},
                    {"error", why},
                    {"session", c.ticket.session_id},
                    {"failedAtMs", wall_ms()}};
        store_.append_async(w.dlq, to_json(letter), 0, [name = w.name, id = c.id](store::result<store::append_ack> r) {
            if (!r) spdlog::error("workers: {}: cannot dead-letter call {}: {}", name, id, r.error().message);
        });
        w.dead_lettered++;
        spdlog::warn("workers: {}: call {} dead-lettered after {} attempts: {}", w.name, c.id, c.attempts, why);
        return fail_call(c,
                         "worker '" + w.name + "' failed this call " + std::to_string(c.attempts) +
                             " times; the last error: " + why,
                         fx);
    }
    auto delay = after_ms.value_or(opts_.retry_backoff * (1u << std::min(c.attempts - 1, 10u)));
    delay = std::min<std::chrono::milliseconds>(delay, std::chrono::minutes(10));
    c.state = open_call::phase::waiting;
    schedule(clock::now() + delay, {timer::kind::retry, w.name, c.id, c.generation});
    wake(w.name);  // a slot is free
}

void worker_hub::fail_call(open_call& c, const std::string& message, effects& fx) {
    json response = c.ticket.method == "tools/call"
                        ? make_result(c.ticket.request_id,
                                      json{{"content", json::array({{{"type", "text"}, {"text", message}}})},
                                           {"isError", true}})
                        : make_error(c.ticket.request_id, rpc_code::internal_error, message);
    complete(c, std::move(response), fx);
}

void worker_hub::complete(open_call& c, std::optional<json> response, effects& fx) {
    release_slot(c);
    if (auto wi = workers_.find(c.worker); wi != workers_.end()) {
        auto& w = *wi->second;
        if (c.offset) w.pinned.erase(*c.offset);
        if (c.counted && w.open > 0) w.open--;
        save_cursor(w);
        wake(w.name);
    }
    by_request_.erase(request_key(c.ticket.session_id, c.ticket.request_id));
    if (auto r = store_.kv_delete(std::string(call_prefix) + c.id); !r)
        spdlog::error("workers: cannot delete the record of call {}: {}", c.id, r.error().message);
    if (recently_done_.insert(c.id).second) done_order_.push_back(c.id);
    if (done_order_.size() > recently_done_max) {
        recently_done_.erase(done_order_.front());
        done_order_.erase(done_order_.begin());
    }
    fx.push_back([this, t = std::move(c.ticket), r = std::move(response)]() mutable { sink_.finish(t, std::move(r)); });
    const std::string id = c.id;
    calls_.erase(id);  // c is gone from here on
}

void worker_hub::save_cursor(worker& w) {
    const std::uint64_t cur = w.pinned.empty() ? w.next : *w.pinned.begin();
    if (cur == w.saved_cursor) return;
    if (auto r = store_.set_cursor(w.consumer, w.topic, cur); !r) {
        spdlog::error("workers: {}: cannot save the cursor: {}", w.name, r.error().message);
        return;
    }
    w.saved_cursor = cur;
}

void worker_hub::publish(worker& w, effects& fx) {
    fx.push_back([this, name = w.name] { republish(name); });
}

void worker_hub::republish(const std::string& name) {
    // Effects run after mu_ is released, so two of them may run in either
    // order. Each reads the worker as it is when it runs, one at a time: the
    // last to run lists the newest state, whichever change it was queued by.
    std::lock_guard order(publish_mu_);
    std::vector<tool> tools;
    std::vector<resource> resources;
    std::vector<prompt> prompts;
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it != workers_.end() && it->second->online) {
            const auto& w = *it->second;
            for (auto& t : w.tools) tools.push_back(*t);
            for (auto& r : w.definition.value("resources", json::array())) {
                resource x;
                x.definition = r;
                x.served_by = w.name;
                resources.push_back(std::move(x));
            }
            for (auto& p : w.definition.value("prompts", json::array())) {
                prompt x;
                x.definition = p;
                x.served_by = w.name;
                prompts.push_back(std::move(x));
            }
        }
    }
    registry_.replace_served(name, std::move(tools), std::move(resources), std::move(prompts));
}

void worker_hub::set_online(worker& w, bool online, effects& fx) {
    if (w.online == online) return;
    w.online = online;
    spdlog::info("workers: {}: {}", w.name, online ? "online" : "offline");
    publish(w, fx);
    if (online || w.queue_while_offline) return;
    std::vector<open_call*> mine;
    for (auto& [id, c] : calls_)
        if (c->worker == w.name) mine.push_back(c.get());
    for (auto* c : mine) fail_call(*c, "worker '" + w.name + "' is offline (no instance is connected)", fx);
}

// ---- the worker API ----------------------------------------------------------

worker_hub::worker* worker_hub::authorized(const std::string& name, const std::optional<std::string>& credential,
                                           api_answer& denied) {
    auto it = workers_.find(name);
    if (it == workers_.end()) {
        denied = error(404, "no worker named '" + name + "' is registered");
        return nullptr;
    }
    if (!credential) {
        denied = error(401, "this needs the worker's credential: Authorization: Bearer <credential>");
        return nullptr;
    }
    const auto d = sha256_hex(*credential);
    auto& w = *it->second;
    if (d.size() != w.digest.size() || CRYPTO_memcmp(d.data(), w.digest.data(), d.size()) != 0) {
        denied = error(403, "the credential is not the one of worker '" + name + "'");
        return nullptr;
    }
    return &w;
}

api_answer worker_hub::register_worker(const json& body, std::optional<std::string> credential, const std::string& owner) {
    const auto name = body.at("name").get<std::string>();
    // Every tool's schemas must compile: a bad one is the worker's error, now.
    std::set<std::string> names;
    const auto& tools = body.at("tools");
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const auto tool_name = tools[i].at("name").get<std::string>();
        if (!names.insert(tool_name).second)
            return error(400, "tools[" + std::to_string(i) + "].name: '" + tool_name + "' is listed twice");
        for (auto field : {"inputSchema", "outputSchema"})
            if (tools[i].contains(field))
                if (auto s = json_schema::compile(tools[i][field]); !s)
                    return error(400, "tools[" + std::to_string(i) + "]." + field + ": cannot be used: " + s.error());
    }
    effects fx;
    api_answer out;
    {
        std::lock_guard lock(mu_);
        auto existing = workers_.find(name);
        if (existing != workers_.end()) {
            api_answer denied;
            const bool same_owner = !owner.empty() && existing->second->owner == owner;
            if (!same_owner && !authorized(name, credential, denied))
                return error(409, "a worker named '" + name +
                                      "' is registered; registering it again needs its credential "
                                      "(Authorization: Bearer <credential>)");
        } else if (workers_.size() >= opts_.max_workers) {
            return error(503, "the worker limit (" + std::to_string(opts_.max_workers) + ") is reached");
        }
        // Names are unique across the server: no worker may shadow another
        // worker's or an in-process tool, resource or prompt.
        for (auto& t : tools) {
            const auto tn = t.at("name").get<std::string>();
            if (auto holder = registry_.find_tool(tn); holder && holder->served_by != name)
                return error(409, "tool '" + tn + "' is already served by " +
                                      (holder->served_by.empty() ? std::string("this server")
                                                                 : "worker '" + holder->served_by + "'"));
            for (auto& [other, w] : workers_)
                if (other != name)
                    for (auto& wt : w->tools)
                        if (wt->definition.value("name", "") == tn)
                            return error(409, "tool '" + tn + "' is already served by worker '" + other + "'");
        }
        // Offline workers are not in the registry: ask them too.
        auto served_by_other = [&](const char* field, const char* key, const std::string& value) -> std::string {
            for (auto& [other, w] : workers_)
                if (other != name)
                    for (auto& x : w->definition.value(field, json::array()))
                        if (x.value(key, "") == value) return other;
            return {};
        };
        for (auto& r : body.value("resources", json::array())) {
            const auto uri = r.at("uri").get<std::string>();
            auto other = served_by_other("resources", "uri", uri);
            if (auto holder = registry_.find_resource(uri); holder && holder->served_by != name) other = holder->served_by.empty() ? "this server" : holder->served_by;
            if (!other.empty()) return error(409, "resource '" + uri + "' is already served by " + other);
        }
        for (auto& p : body.value("prompts", json::array())) {
            const auto pn = p.at("name").get<std::string>();
            auto other = served_by_other("prompts", "name", pn);
            if (auto holder = registry_.find_prompt(pn); holder && holder->served_by != name) other = holder->served_by.empty() ? "this server" : holder->served_by;
            if (!other.empty()) return error(409, "prompt '" + pn + "' is already served by " + other);
        }

        std::string secret;
        json record;
        if (existing != workers_.end()) {
            auto& w = *existing->second;
            record = json{{"name", name}, {"id", w.id}, {"digest", w.digest}, {"createdMs", w.created_ms}, {"owner", w.owner}};
        } else {
            secret = random_id() + random_id();
            record = json{{"name", name}, {"id", random_id()}, {"digest", sha256_hex(secret)}, {"createdMs", wall_ms()}, {"owner", owner}};
        }
        record["definition"] = body;
        auto loaded = load_worker(record);
        if (!loaded) return error(500, loaded.error());
        auto& w = **loaded;
        const bool fresh = existing == workers_.end();
        // A new worker's consumer first: a registration is recorded only
        // once it can receive calls.
        if (fresh) {
            std::string n = name;
            if (auto r = store_.add_consumer(w.consumer, [this, n] { wake(n); }); !r)
                return error(500, "cannot bind the worker's queue: " + r.error().message);
        }
        if (auto r = store_.kv_put(std::string(worker_prefix) + name, to_json(record)); !r) {
            if (fresh) store_.remove_consumer(w.consumer);
            return error(503, "cannot record the registration: " + r.error().message);
        }
        if (existing != workers_.end()) {
            // The queue, its cursor, the instances and the counters carry over.
            auto& old = *existing->second;
            w.next = old.next;
            w.saved_cursor = old.saved_cursor;
            w.pinned = std::move(old.pinned);
            w.ready = std::move(old.ready);
            w.instances = std::move(old.instances);
            w.open = old.open;
            w.online = old.online;
            w.presence = old.presence;
            w.suspended_until = old.suspended_until;
            w.delivered = old.delivered;
            w.redelivered = old.redelivered;
            w.dead_lettered = old.dead_lettered;
            w.answered = old.answered;
            existing->second = std::move(*loaded);
            out = {200, json{{"workerId", w.id}, {"name", name}, {"topic", w.topic}, {"registered", "again"}}};
            spdlog::info("workers: {}: registered again ({} tools)", name, w.tools.size());
        } else {
            auto cur = store_.cursor(w.consumer, w.topic);  // a topic left by an earlier registration
            w.next = w.saved_cursor = cur && *cur ? **cur : 0;
            (void)store_.bind(w.consumer, w.topic);
            schedule(clock::now() + opts_.offline_grace, {timer::kind::offline, name, {}, w.presence});
            workers_[name] = std::move(*loaded);
            out = {201, json{{"workerId", w.id}, {"name", name}, {"credential", secret}, {"topic", w.topic}}};
            spdlog::info("workers: {}: registered ({} tools)", name, w.tools.size());
        }
        publish(*workers_[name], fx);
    }
    for (auto& f : fx) f();
    return out;
}

api_answer worker_hub::deregister(const std::string& name, std::optional<std::string> credential) {
    effects fx;
    std::vector<std::shared_ptr<instance>> instances;
    std::string topic, consumer;
    {
        std::lock_guard lock(mu_);
        api_answer denied;
        auto* w = authorized(name, credential, denied);
        if (!w) return denied;
        std::vector<open_call*> mine;
        for (auto& [id, c] : calls_)
            if (c->worker == name) mine.push_back(c.get());
        for (auto* c : mine) fail_call(*c, "worker '" + name + "' was deregistered", fx);
        instances = std::move(w->instances);
        w->online = false;
        publish(*w, fx);
        topic = w->topic;
        consumer = w->consumer;
        (void)store_.kv_delete(std::string(worker_prefix) + name);
        workers_.erase(name);
    }
    for (auto& f : fx) f();
    store_.remove_consumer(consumer);
    if (auto r = store_.remove_topic(topic); !r && r.error().code != store::errc::not_found)
        spdlog::error("workers: {}: cannot remove the queue: {}", name, r.error().message);
    for (auto& i : instances) i->sse->close();
    spdlog::info("workers: {}: deregistered", name);
    return {200, json{{"name", name}, {"deregistered", true}}};
}

json worker_hub::describe(const worker& w) const {
    json instances = json::array();
    for (auto& i : w.instances) instances.push_back({{"id", i->id}, {"inFlight", i->busy}});
    std::size_t delivered = 0;
    for (auto& [id, c] : calls_)
        if (c->worker == w.name && c->state == open_call::phase::delivered) ++delivered;
    json tools = json::array();
    for (auto& t : w.tools) tools.push_back(t->definition.value("name", ""));
    return json{{"name", w.name},
                {"workerId", w.id},
                {"online", w.online},
                {"topic", w.topic},
                {"deadLetterTopic", w.dlq},
                {"tools", tools},
                {"concurrency", w.concurrency},
                {"queueWhileOffline", w.queue_while_offline},
                {"invisibilityMs", w.invisibility.count()},
                {"maxAttempts", w.max_attempts},
                {"callTimeoutMs", w.call_timeout.count()},
                {"instances", instances},
                {"openCalls", w.open},
                {"inFlight", delivered},
                {"cursor", w.saved_cursor},
                {"delivered", w.delivered},
                {"redelivered", w.redelivered},
                {"answered", w.answered},
                {"deadLettered", w.dead_lettered}};
}

api_answer worker_hub::describe(const std::string& name, std::optional<std::string> credential) {
    std::lock_guard lock(mu_);
    api_answer denied;
    auto* w = authorized(name, credential, denied);
    if (!w) return denied;
    return {200, describe(*w)};
}

std::optional<api_answer> worker_hub::check_attach(const std::string& name, std::optional<std::string> credential) {
    std::lock_guard lock(mu_);
    api_answer denied;
    auto* w = authorized(name, credential, denied);
    if (!w) return denied;
    if (w->instances.size() >= opts_.max_instances)
        return error(429, "worker '" + name + "' has " + std::to_string(w->instances.size()) +
                              " instances connected, the limit");
    return std::nullopt;
}

void worker_hub::attach(const std::string& name, std::string instance_id, std::shared_ptr<transport::sse_stream> sse) {
    effects fx;
    auto mine = std::make_shared<instance>();
    mine->id = instance_id;
    mine->sse = sse;
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) {
            sse->close();
            return;
        }
        auto& w = *it->second;
        // An instance reconnecting under its id takes over from its old
        // stream, which may not have noticed it is gone (like a GET takeover).
        for (auto& old : w.instances)
            if (old->id == instance_id) old->sse->abort();
        std::erase_if(w.instances, [&](auto& old) { return old->id == instance_id; });
        w.instances.push_back(mine);
        w.presence++;
        set_online(w, true, fx);
    }
    // A worker coming back online is listed again before its instance hears
    // "attached", so a client the worker tells at once finds its tools; and
    // the instance gets no call before that event.
    for (auto& f : fx) f();
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) return;  // deregistered meanwhile: its instances were closed
        auto& w = *it->second;
        if (std::find(w.instances.begin(), w.instances.end(), mine) == w.instances.end()) return;  // replaced
        sse->send({}, to_json(json{{"type", "attached"}, {"worker", name}, {"instance", instance_id}}));
        mine->attached = true;
        spdlog::info("workers: {}: instance {} attached ({} now)", name, instance_id, w.instances.size());
    }
    // Runs on an I/O thread when the stream ends for any reason. Calls the
    // instance held stay delivered until their invisibility timeout.
    sse->on_closed([this, name, instance_id, weak = std::weak_ptr<instance>(mine)] {
        std::lock_guard lock(mu_);
        auto it = workers_.find(name);
        if (it == workers_.end()) return;
        auto& w = *it->second;
        auto me = weak.lock();
        if (!me || std::find(w.instances.begin(), w.instances.end(), me) == w.instances.end()) return;  // replaced
        std::erase(w.instances, me);
        spdlog::info("workers: {}: instance {} left ({} now)", name, instance_id, w.instances.size());
        if (w.instances.empty()) schedule(clock::now() + opts_.offline_grace, {timer::kind::offline, name, {}, w.presence});
    });
    wake(name);
}

api_answer worker_hub::answer(const std::string& name, std::optional<std::string> credential,
                              const std::string& call_id, const std::string& action, const json& body) {
    effects fx;
    api_answer out;
    {
        std::lock_guard lock(mu_);
        api_answer denied;
        auto* w = authorized(name, credential, denied);
        if (!w) return denied;
        auto it = calls_.find(call_id);
        if (it == calls_.end() || it->second->worker != name) {
            if (recently_done_.contains(call_id))
                return {200, json{{"callId", call_id}, {"status", "already finished"}}};
            return error(404, "call '" + call_id + "' is not open on worker '" + name +
                                  "' (it never existed, or it was answered, failed or cancelled)");
        }
        auto& c = *it->second;
        const auto now = clock::now();
        const bool delivered = c.state == open_call::phase::delivered;
        if (action == "result") {
            const auto& result = body.at("result");
            if (c.ticket.method == "tools/call" && !(result.contains("content") && result["content"].is_array()))
                return error(400, "result.content: a tools/call result is an MCP CallToolResult, with a content array");
            w->answered++;
            complete(c, make_result(c.ticket.request_id, result), fx);
            out = {200, json{{"callId", call_id}, {"status", "answered"}}};
        } else if (action == "progress") {
            if (delivered) c.invisible_until = std::max(c.invisible_until, now + w->invisibility);
            if (c.ticket.progress_token) {
                json p{{"progressToken", *c.ticket.progress_token}, {"progress", body.at("progress")}};
                if (body.contains("total")) p["total"] = body["total"];
                if (body.contains("message")) p["message"] = body["message"];
                fx.push_back([this, t = c.ticket, n = make_notification("notifications/progress", std::move(p))] {
                    sink_.notify(t, n, std::nullopt);
                });
                out = {200, json{{"callId", call_id}, {"status", "sent"}}};
            } else {
                out = {200, json{{"callId", call_id}, {"status", "dropped: the client asked for no progress"}}};
            }
        } else if (action == "log") {
            auto level = parse_log_level(body.at("level").get<std::string>());
            json p{{"level", body["level"]}, {"data", body.at("data")}};
            if (body.contains("logger")) p["logger"] = body["logger"];
            fx.push_back([this, t = c.ticket, n = make_notification("notifications/message", std::move(p)), level] {
                sink_.notify(t, n, level);
            });
            out = {200, json{{"callId", call_id}, {"status", "sent"}}};
        } else if (!delivered) {
            return error(409, "call '" + call_id + "' is not delivered right now (it is queued or waiting to be retried)");
        } else if (action == "failure") {
            std::optional<std::chrono::milliseconds> after;
            if (body.contains("retryAfterMs")) after = std::chrono::milliseconds(body["retryAfterMs"].get<long long>());
            const auto attempts = c.attempts;
            const bool last = attempts >= w->max_attempts;
            retry_or_dead_letter(c, body.at("error").get<std::string>(), after, fx);
            out = {200, json{{"callId", call_id}, {"status", last ? "dead-lettered" : "will be retried"}, {"attempts", attempts}}};
        } else if (action == "extend") {
            const auto ms = std::chrono::milliseconds(body.at("ms").get<long long>());
            c.invisible_until = now + ms;
            out = {200, json{{"callId", call_id}, {"status", "extended"}, {"invisibleForMs", ms.count()}}};
        } else if (action == "suspend") {
            // Not a failed attempt: the call goes back to the head of the
            // queue and the whole worker pauses.
            const auto ms = std::chrono::milliseconds(body.at("ms").get<long long>());
            release_slot(c);
            c.attempts--;
            c.generation++;
            c.state = open_call::phase::ready;
            w->ready.push_front(c.id);
            w->suspended_until = now + ms;
            store_.suspend(w->consumer, w->topic, ms);
            schedule(w->suspended_until, {timer::kind::resume, name, {}, 0});
            out = {200, json{{"callId", call_id}, {"status", "suspended"}, {"resumeInMs", ms.count()}}};
        } else {
            return error(404, "unknown action '" + action + "'");
        }
    }
    for (auto& f : fx) f();
    return out;
}

std::expected<std::string, std::string> worker_hub::requeue(const std::string& worker, const json& letter) {
    if (!letter.is_object() || !letter.contains("callId") || !letter.contains("params") || !letter.contains("method"))
        return std::unexpected("the record is not a dead letter");
    call_ticket t;
    t.request_id = "requeued-" + letter["callId"].get<std::string>() + "-" + random_id().substr(0, 8);
    t.method = letter.value("method", "tools/call");
    return submit(worker, std::move(t), letter["params"]);
}

std::optional<json> worker_hub::inspect(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = workers_.find(name);
    if (it == workers_.end()) return std::nullopt;
    return describe(*it->second);
}

std::vector<worker_stats> worker_hub::stats() const {
    std::lock_guard lock(mu_);
    std::vector<worker_stats> out;
    for (auto& [name, w] : workers_) {
        worker_stats s{name, w->online, w->instances.size(), w->open, 0, w->delivered, w->redelivered, w->answered,
                       w->dead_lettered};
        for (auto& i : w->instances) s.in_flight += i->busy;
        out.push_back(std::move(s));
    }
    return out;
}

// ---- the MCP side --------------------------------------------------------------

std::optional<std::string> worker_hub::owner(list_kind kind, const std::string& key) const {
    std::lock_guard lock(mu_);
    for (auto& [name, w] : workers_) {
        if (kind == list_kind::tools) {
            for (auto& t : w->tools)
                if (t->definition.value("name", "") == key) return name;
        } else {
            const char* field = kind == list_kind::resources ? "resources" : "prompts";
            const char* id = kind == list_kind::resources ? "uri" : "name";
            for (auto& x : w->definition.value(field, json::array()))
                if (x.value(id, "") == key) return name;
        }
    }
    return std::nullopt;
}

std::shared_ptr<const tool> worker_hub::worker_tool(const std::string& name) const {
    std::lock_guard lock(mu_);
    for (auto& [n, w] : workers_)
        for (auto& t : w->tools)
            if (t->definition.value("name", "") == name) return t;
    return nullptr;
}

std::expected<std::string, std::string> worker_hub::submit(const std::string& worker_name, call_ticket t, json params) {
    const std::string id = random_id();
    std::string topic;
    json record;
    {
        std::lock_guard lock(mu_);
        auto wi = workers_.find(worker_name);
        if (wi == workers_.end()) return std::unexpected("worker '" + worker_name + "' is not registered");
        auto& w = *wi->second;
        if (!w.online && !w.queue_while_offline)
            return std::unexpected("worker '" + worker_name + "' is offline (no instance is connected)");
        if (w.open >= opts_.max_open_calls)
            return std::unexpected("worker '" + worker_name + "' has " + std::to_string(w.open) +
                                   " calls open, its limit; try again later");
        auto c = std::make_unique<open_call>();
        c->id = id;
        c->worker = worker_name;
        c->ticket = std::move(t);
        c->params = std::move(params);
        c->deadline = clock::now() + w.call_timeout;
        c->deadline_ms = wall_ms() + static_cast<std::uint64_t>(w.call_timeout.count());
        record = c->record();
        by_request_[request_key(c->ticket.session_id, c->ticket.request_id)] = id;
        // In memory before it is on the topic, so the hub cannot read the
        // record and find no call.
        schedule(c->deadline, {timer::kind::deadline, worker_name, id, 0});
        calls_[id] = std::move(c);
        topic = w.topic;
    }
    auto forget = [&](std::string why) -> std::expected<std::string, std::string> {
        std::lock_guard lock(mu_);
        auto it = calls_.find(id);
        // Finished meanwhile (cancelled, worker gone): its answer was given.
        if (it == calls_.end()) return id;
        {
            by_request_.erase(request_key(it->second->ticket.session_id, it->second->ticket.request_id));
            if (auto w = workers_.find(worker_name); w != workers_.end()) {
                if (it->second->offset) w->second->pinned.erase(*it->second->offset);
            }
            calls_.erase(it);
        }
        return std::unexpected("the call could not be queued: " + why);
    };
    // The topic record first, the call's state second: the state is the
    // commit point. A crash between the two leaves a record that names no
    // open call, which the hub skips -- the request was still in flight.
    json queued{{"callId", id}, {"method", record["method"]}, {"params", record["params"]}, {"deadlineMs", record["deadlineMs"]}};
    if (auto r = store_.append(topic, to_json(queued)); !r) return forget(r.error().message);
    {
        // The state as it is now: the hub may have delivered the call (or
        // even finished it, and then there is nothing to record) meanwhile.
        std::lock_guard lock(mu_);
        auto it = calls_.find(id);
        auto w = workers_.find(worker_name);
        if (it != calls_.end() && w != workers_.end()) {
            if (auto r = store_.kv_put(std::string(call_prefix) + id, to_json(it->second->record())); !r)
                spdlog::error("workers: {}: call {} is queued but will not survive a restart: {}", worker_name, id,
                              r.error().message);
            w->second->open++;  // counted once it is queued for good (describe() shows it)
            it->second->counted = true;
        }
    }
    return id;
}

std::optional<std::string> worker_hub::adopt(const std::string& session_id, const json& request_id,
                                             const std::string& new_session_id, const json& new_request_id) {
    std::lock_guard lock(mu_);
    auto k = by_request_.find(request_key(session_id, request_id));
    if (k == by_request_.end()) return std::nullopt;
    const std::string id = k->second;
    auto it = calls_.find(id);
    if (it == calls_.end()) return std::nullopt;
    auto& c = *it->second;
    by_request_.erase(k);
    c.ticket.session_id = new_session_id;
    c.ticket.request_id = new_request_id;
    by_request_[request_key(new_session_id, new_request_id)] = id;
    // Not counted yet: submit() has not written its state; it will write this one.
    if (c.counted)
        if (auto r = store_.kv_put(std::string(call_prefix) + id, to_json(c.record())); !r)
            spdlog::error("workers: {}: call {} now serves {}, but its state could not be saved: {}", c.worker, id,
                          new_session_id, r.error().message);
    return c.worker;
}

void worker_hub::cancel(const std::string& session_id, const json& request_id) {
    effects fx;
    {
        std::lock_guard lock(mu_);
        auto k = by_request_.find(request_key(session_id, request_id));
        if (k == by_request_.end()) return;
        auto it = calls_.find(k->second);
        if (it == calls_.end()) return;
        auto& c = *it->second;
        send_cancel(c, "the client cancelled the request");
        complete(c, std::nullopt, fx);
    }
    for (auto& f : fx) f();
}

}  // namespace litemcp::server
