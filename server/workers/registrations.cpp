// The registered workers: records, credentials, names, publication
// (registrations.h). Called with the hub's mutex held.
#include "server/workers/registrations.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <set>

#include "server/json/json_schema.h"
#include "server/json/json_text.h"
#include "server/util/ids.h"
#include "server/workers/hub_peers.h"
#include "server/workers/worker_hub_state.h"
#include "server/util/counted.h"

namespace litemcp::server {

using namespace worker_hub_detail;

hub_worker* registrations::find(const std::string& name) {
    auto it = workers_.find(name);
    return it == workers_.end() ? nullptr : it->second.get();
}

void registrations::remove(const std::string& name) {
    (void)p_.st.kv_delete(std::string(worker_prefix) + name);
    (void)p_.st.kv_delete(std::string(status_prefix) + name);
    workers_.erase(name);
}

void registrations::save_status(hub_worker& w) {
    w.status_pending = false;
    const std::string key = std::string(status_prefix) + w.name;
    if (!p_.st.shared()) {
        if (auto r = p_.st.kv_put(key, to_json(w.status())); !r)
            spdlog::warn("workers: {}: cannot save the counters: {}", w.name, r.error().message);
        return;
    }
    // An addition not confirmed before goes first, then what was counted since.
    for (int addition = 0; addition < 2; ++addition) {
        if (!w.save_in_flight) {
            if (!w.has_unsaved()) return;
            w.save_in_flight = w.unsaved();
            ++w.save_number;
        }
        if (!add_status(w, key)) return;  // tried again at the next save, the same
    }
}

bool registrations::add_status(hub_worker& w, const std::string& key) {
    // Every server owning calls of the worker counts them: each adds what it
    // counted since its last save to the record (compare-and-set). Each
    // addition carries its number among this server's ("saves": {server:
    // [number, wall ms]}), and is tried again the same until the store
    // confirms it: one that landed though its answer was lost is found there
    // and not added twice.
    const json add = *w.save_in_flight;
    const std::uint64_t now = wall_ms();
    for (int round = 0; round < 8; ++round) {
        auto stored = p_.st.kv_get(key);
        if (!stored) {
            spdlog::warn("workers: {}: cannot save the counters: {}", w.name, stored.error().message);
            return false;
        }
        json rec = *stored ? parse_json(**stored).value_or(json::object()) : json::object();
        if (!rec.is_object()) rec = json::object();
        json saves = rec.value("saves", json::object());
        if (!saves.is_object()) saves = json::object();
        if (auto mine = saves.find(p_.node);
            mine != saves.end() && mine->is_array() && !mine->empty() && (*mine)[0] == w.save_number) {
            w.saved(add);  // it landed before
            w.save_in_flight.reset();
            return true;
        }
        for (const char* k : {"delivered", "redelivered", "answered", "deadLettered"})
            rec[k] = rec.value(k, std::uint64_t{0}) + add.value(k, std::uint64_t{0});
        rec["offlineSinceMs"] = w.offline_since_ms;
        // Numbers older than any retry are dropped (a server's last one stays 10 min).
        for (auto it = saves.begin(); it != saves.end();)
            if (it->is_array() && it->size() == 2 && (*it)[1].is_number_unsigned() &&
                (*it)[1].get<std::uint64_t>() + 600'000 < now)
                it = saves.erase(it);
            else
                ++it;
        saves[p_.node] = json::array({w.save_number, now});
        rec["saves"] = std::move(saves);
        const std::string text = to_json(rec);
        auto saved = *stored ? p_.st.kv_swap(key, **stored, text) : p_.st.kv_create(key, text);
        if (!saved) {
            spdlog::warn("workers: {}: cannot save the counters: {}", w.name, saved.error().message);
            return false;
        }
        if (*saved) {
            w.saved(add);
            w.save_in_flight.reset();
            return true;
        }
    }
    spdlog::warn("workers: {}: cannot save the counters: the record kept changing; trying again later", w.name);
    return false;
}

std::expected<std::unique_ptr<hub_worker>, std::string> registrations::make(const json& record) const {
    auto w = std::make_unique<hub_worker>();
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
    w->invisibility = std::chrono::milliseconds(d.value("invisibilityMs", static_cast<long long>(p_.options.invisibility.count())));
    w->call_timeout = std::chrono::milliseconds(d.value("callTimeoutMs", static_cast<long long>(p_.options.call_timeout.count())));
    w->max_attempts = d.value("maxAttempts", p_.options.max_attempts);
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

store::result<void> registrations::load() {
    std::string after;
    for (;;) {
        auto page = p_.st.kv_scan(worker_prefix, after, 500);
        if (!page) return std::unexpected(page.error());
        for (auto& [key, value] : *page) {
            after = key;
            auto w = make(parse_json(value).value_or(json()));
            if (!w) {
                spdlog::error("workers: skipping {}: {}", key, w.error());
                continue;
            }
            auto& ref = **w;
            auto cur = p_.st.cursor(ref.consumer, ref.topic);
            ref.next = ref.saved_cursor = cur && *cur ? **cur : 0;
            if (auto counts = p_.st.kv_get(std::string(status_prefix) + ref.name); counts && *counts)
                ref.read_status(parse_json(**counts).value_or(json()));
            workers_[ref.name] = std::move(*w);
        }
        if (page->size() < 500) return {};
    }
}

hub_worker* registrations::authorized(const std::string& name, const std::optional<std::string>& credential,
                                     worker_answer& denied) {
    auto it = workers_.find(name);
    if (it == workers_.end()) {
        denied = error(worker_outcome::unknown_worker, "no worker named '" + name + "' is registered");
        return nullptr;
    }
    if (!credential) {
        denied = error(worker_outcome::no_credential, "this needs the worker's credential: Authorization: Bearer <credential>");
        return nullptr;
    }
    const auto d = sha256_hex(*credential);
    auto& w = *it->second;
    if (d.size() != w.digest.size() || CRYPTO_memcmp(d.data(), w.digest.data(), d.size()) != 0) {
        denied = error(worker_outcome::wrong_credential, "the credential is not the one of worker '" + name + "'");
        return nullptr;
    }
    return &w;
}

namespace {

// What makes a registration unusable on its own: a tool listed twice, a
// schema that does not compile (the worker's error, now rather than at a call).
std::optional<worker_answer> definition_problem(const json& body) {
    std::set<std::string> names;
    const auto& tools = body.at("tools");
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const auto tool_name = tools[i].at("name").get<std::string>();
        const std::string at = "tools[" + std::to_string(i) + "]";
        if (!names.insert(tool_name).second)
            return error(worker_outcome::invalid, at + ".name: '" + tool_name + "' is listed twice");
        for (auto field : {"inputSchema", "outputSchema"})
            if (tools[i].contains(field))
                if (auto s = json_schema::compile(tools[i][field]); !s)
                    return error(worker_outcome::invalid, at + "." + field + ": cannot be used: " + s.error());
    }
    return std::nullopt;
}

}  // namespace

std::string registrations::resource_holder(const std::string& name, const std::string& uri) const {
    if (auto holder = p_.reg.find_resource(uri); holder && holder->served_by != name)
        return holder->served_by.empty() ? std::string("this server") : holder->served_by;
    // Offline workers are not in the registry: ask them too.
    for (auto& [other, w] : workers_)
        if (other != name)
            for (auto& x : w->definition.value("resources", json::array()))
                if (x.value("uri", "") == uri) return other;
    return {};
}

std::optional<worker_answer> registrations::name_clash(const std::string& name, const json& body) const {
    // Names are unique across the server: no worker may shadow another
    // worker's or an in-process tool, resource or prompt.
    for (auto& t : body.at("tools")) {
        const auto tn = t.at("name").get<std::string>();
        if (auto holder = p_.reg.find_tool(tn); holder && holder->served_by != name)
            return error(worker_outcome::conflict, "tool '" + tn + "' is already served by " +
                                                       (holder->served_by.empty() ? std::string("this server")
                                                                                  : "worker '" + holder->served_by + "'"));
        for (auto& [other, w] : workers_)
            if (other != name)
                for (auto& wt : w->tools)
                    if (wt->definition.value("name", "") == tn)
                        return error(worker_outcome::conflict, "tool '" + tn + "' is already served by worker '" + other + "'");
    }
    // Offline workers are not in the registry: ask them too.
    auto served_by_other = [&](const char* field, const char* key, const std::string& value) -> std::string {
        for (auto& [other, w] : workers_)
            if (other != name)
                for (auto& x : w->definition.value(field, json::array()))
                    if (x.value(key, "") == value) return other;
        return {};
    };
    auto holder_name = [](const auto& holder) { return holder->served_by.empty() ? std::string("this server") : holder->served_by; };
    for (auto& r : body.value("resources", json::array())) {
        const auto uri = r.at("uri").get<std::string>();
        if (auto other = resource_holder(name, uri); !other.empty())
            return error(worker_outcome::conflict, "resource '" + uri + "' is already served by " + other);
    }
    for (auto& p : body.value("prompts", json::array())) {
        const auto pn = p.at("name").get<std::string>();
        auto other = served_by_other("prompts", "name", pn);
        if (auto holder = p_.reg.find_prompt(pn); holder && holder->served_by != name) other = holder_name(holder);
        if (!other.empty()) return error(worker_outcome::conflict, "prompt '" + pn + "' is already served by " + other);
    }
    return std::nullopt;
}

worker_answer registrations::add(const json& body, const std::optional<std::string>& credential, const std::string& owner,
                                 effects& fx, bool trusted) {
    const auto name = body.at("name").get<std::string>();
    if (auto problem = definition_problem(body)) return *problem;
    worker_answer out;
    {
        auto existing = workers_.find(name);
        const bool fresh = existing == workers_.end();
        if (!fresh) {
            worker_answer denied;
            const bool same_owner = !owner.empty() && existing->second->owner == owner;
            if (!trusted && !same_owner && !authorized(name, credential, denied))
                return error(worker_outcome::conflict, "a worker named '" + name +
                                                           "' is registered; registering it again needs its credential "
                                                           "(Authorization: Bearer <credential>)");
        } else if (workers_.size() >= p_.options.max_workers) {
            return error(worker_outcome::full, "the worker limit (" + std::to_string(p_.options.max_workers) + ") is reached");
        }
        if (auto clash = name_clash(name, body)) return *clash;
        std::string secret;
        json record;
        if (!fresh) {
            auto& w = *existing->second;
            record = json{{"name", name}, {"id", w.id}, {"digest", w.digest}, {"createdMs", w.created_ms}, {"owner", w.owner}};
        } else {
            secret = random_id() + random_id();
            record = json{{"name", name}, {"id", random_id()}, {"digest", sha256_hex(secret)}, {"createdMs", wall_ms()}, {"owner", owner}};
        }
        record["definition"] = body;
        auto loaded = make(record);
        if (!loaded) return error(worker_outcome::internal, loaded.error());
        auto& w = **loaded;
        // A new worker's consumer first: a registration is recorded only
        // once it can receive calls.
        if (fresh) {
            auto sub = topic_subscription::open(p_.st, w.consumer, [wake = p_.wake, name] { wake(name); });
            if (!sub) return error(worker_outcome::internal, "cannot bind the worker's queue: " + sub.error().message);
            w.subscription = std::move(*sub);
        }
        if (auto r = p_.st.kv_put(std::string(worker_prefix) + name, to_json(record)); !r)
            return error(worker_outcome::store_unavailable, "cannot record the registration: " + r.error().message);
        if (!fresh) {
            w.take_over(*existing->second);  // the queue, its cursor, the instances and the counters carry over
            existing->second = std::move(*loaded);
            out = {worker_outcome::done, json{{"workerId", w.id}, {"name", name}, {"topic", w.topic}, {"registered", "again"}}};
            spdlog::info("workers: {}: registered again ({})", name, counted(w.tools.size(), "tool"));
        } else {
            auto cur = p_.st.cursor(w.consumer, w.topic);  // a topic left by an earlier registration
            w.next = w.saved_cursor = cur && *cur ? **cur : 0;
            (void)w.subscription->bind(w.topic);
            p_.watch_presence(name, w.presence);
            workers_[name] = std::move(*loaded);
            out = {worker_outcome::registered, json{{"workerId", w.id}, {"name", name}, {"credential", secret}, {"topic", w.topic}}};
            spdlog::info("workers: {}: registered ({})", name, counted(w.tools.size(), "tool"));
        }
        publish(*workers_[name], fx);
    }
    return out;
}

std::expected<void, std::string> registrations::refresh(const std::string& name, const std::string& text, effects& fx) {
    auto loaded = make(parse_json(text).value_or(json()));
    if (!loaded) return std::unexpected(loaded.error());
    auto& w = **loaded;
    if (w.name != name) return std::unexpected("the record names worker '" + w.name + "'");
    if (auto existing = workers_.find(name); existing != workers_.end()) {
        if (existing->second->digest == w.digest && existing->second->definition == w.definition) return {};
        w.take_over(*existing->second);
        existing->second = std::move(*loaded);
        spdlog::info("workers: {}: registered again on another server ({})", name, counted(w.tools.size(), "tool"));
    } else {
        auto sub = topic_subscription::open(p_.st, w.consumer, [wake = p_.wake, name] { wake(name); });
        if (!sub) return std::unexpected("cannot bind the worker's queue: " + sub.error().message);
        w.subscription = std::move(*sub);
        auto cur = p_.st.cursor(w.consumer, w.topic);
        w.next = w.saved_cursor = cur && *cur ? **cur : 0;
        (void)w.subscription->bind(w.topic);
        p_.watch_presence(name, w.presence);  // online for the grace period, then as the beats say
        workers_[name] = std::move(*loaded);
        spdlog::info("workers: {}: registered on another server ({})", name, counted(w.tools.size(), "tool"));
    }
    // Its list_changed again, from here: a client told by the other server
    // may have listed here before this change was taken.
    publish(*workers_[name], fx);
    return {};
}

json registrations::describe(const hub_worker& w, std::size_t in_flight) const {
    json instances = json::array();
    for (auto& i : w.instances) instances.push_back({{"id", i->id}, {"inFlight", i->busy}});
    // Instances attached to the other servers sharing the store, as their
    // last beats said.
    std::size_t elsewhere = 0;
    for (auto& [node, e] : w.elsewhere)
        if (std::chrono::steady_clock::now() - e.seen <= hub_peers::beat_expiry) elsewhere += e.count;
    json tools = json::array();
    for (auto& t : w.tools) tools.push_back(t->definition.value("name", ""));
    json out{{"name", w.name},
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
                {"instancesElsewhere", elsewhere},
                {"openCalls", w.open},
                {"inFlight", in_flight},
                {"cursor", w.saved_cursor},
                {"delivered", w.delivered},
                {"redelivered", w.redelivered},
                {"answered", w.answered},
                {"deadLettered", w.dead_lettered},
                {"offlineSinceMs", w.online ? json(nullptr) : json(w.offline_since_ms)}};
    // An upstream MCP server (server/upstreams/): where it is, never what
    // its headers or token say.
    if (auto u = w.definition.find("upstream"); u != w.definition.end() && u->is_object()) {
        auto url = u->value("url", "");
        if (auto q = url.find('?'); q != std::string::npos) url = url.substr(0, q) + "?…";  // a query often holds a key
        json shown{{"url", url}, {"toolPrefix", u->value("toolPrefix", w.name + "__")}};
        json headers = json::array();
        const json given = u->value("headers", json::object());
        for (auto& [k, v] : given.items()) headers.push_back(k);
        if (u->contains("bearerToken")) headers.push_back("Authorization");
        shown["headers"] = std::move(headers);
        out["upstream"] = std::move(shown);
    }
    return out;
}

void registrations::publish(const hub_worker& w, effects& fx) {
    fx.push_back([this, name = w.name] { republish(name); });
    if (changed_) fx.push_back([f = changed_, name = w.name] { f(name); });
}

void registrations::republish(const std::string& name) {
    // Effects run after mu_ is released, so two of them may run in either
    // order. Each reads the worker as it is when it runs, one at a time: the
    // last to run lists the newest state, whichever change it was queued by.
    std::lock_guard order(publish_mu_);
    std::vector<tool> tools;
    std::vector<resource> resources;
    std::vector<prompt> prompts;
    {
        std::lock_guard lock(p_.hub_mu);
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
    p_.reg.replace_served(name, std::move(tools), std::move(resources), std::move(prompts));
}

std::optional<std::string> registrations::owner(list_kind kind, const std::string& key) const {
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

std::shared_ptr<const tool> registrations::worker_tool(const std::string& name) const {
    for (auto& [n, w] : workers_)
        for (auto& t : w->tools)
            if (t->definition.value("name", "") == name) return t;
    return nullptr;
}

}  // namespace litemcp::server
