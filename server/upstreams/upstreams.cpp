#include "server/upstreams/upstreams.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

#include "server/json/json_fields.h"
#include "server/json/json_text.h"
#include "server/rpc/json_rpc.h"
#include "server/util/counted.h"
#include "server/util/ids.h"

namespace litemcp::server {

// Where callbacks from other threads enter: closed by stop(), after which
// nothing reaches this object.
struct upstreams::gate {
    std::mutex mu;
    upstreams* self = nullptr;
    // Runs f on the upstreams thread; false once stopped.
    bool post(std::function<void(upstreams&)> f) {
        std::lock_guard lock(mu);
        if (!self) return false;
        return self->serial_.post([s = self, f = std::move(f)] { f(*s); });
    }
    // Without the mutex held while the hub takes the report (it may run
    // inline, see upstreams::report); stop() waits for those under way.
    void report(const std::string& name, const std::string& call_id, const std::string& action, json body) {
        upstreams* s = nullptr;
        {
            std::lock_guard lock(mu);
            if (!self) return;
            s = self;
            ++reporting;
        }
        s->report(name, call_id, action, std::move(body));
        std::lock_guard lock(mu);
        if (--reporting == 0) idle.notify_all();
    }
    // Closes the gate; returns once no report is under way.
    void close() {
        std::unique_lock lock(mu);
        self = nullptr;
        idle.wait(lock, [&] { return reporting == 0; });
    }
    std::size_t reporting = 0;
    std::condition_variable idle;
};

// One upstream as this server reaches it. On this class's thread only.
struct upstreams::link {
    upstream_definition def;
    json block;  // the registration's upstream block, as recorded
    // Set anew (from one counter of all links) with every try to connect
    // and every loss: callbacks of an older one find it changed.
    std::uint64_t generation = 0;
    std::uint64_t ping_chain = 0;  // bumps when a ping is asked for at once: the older chain stops
    std::shared_ptr<mcp_client> client;
    json init;  // the server's InitializeResult: its capabilities say which lists it has
    std::shared_ptr<mcp_client::exchange> listening;  // the server's own stream
    std::shared_ptr<upstream_instance> instance;
    std::chrono::milliseconds backoff{1'000};
    bool up = false;
    bool relisting = false, relist_again = false;  // one relist in flight at a time

    ~link() { stop(); }
    // Ends what this link has open: its stream, its instance, its session.
    void stop() {
        if (listening) listening->cancel();
        listening.reset();
        if (instance) instance->close();
        instance.reset();
        if (client) client->close();
        client.reset();
    }
};

namespace {

constexpr std::chrono::milliseconds first_backoff{1'000};

worker_answer refuse_stopping() {
    return {worker_outcome::store_unavailable, json{{"error", "litemcp is stopping; register again later"}}};
}
constexpr std::size_t reporter_threads = 4;


// Lists what `wanted` names (method, field), one after the other, into lists.
void list_each(std::shared_ptr<mcp_client> client, std::vector<std::pair<std::string, std::string>> wanted,
               std::size_t i, json lists, std::function<void(std::expected<json, upstream_failure>)> done) {
    if (i == wanted.size()) return done(std::move(lists));
    const auto [method, field] = wanted[i];
    client->list_all(method, field,
                     [client, wanted = std::move(wanted), i, lists = std::move(lists), field, done = std::move(done)](
                         std::expected<json, upstream_failure> r) mutable {
                         if (!r) return done(std::unexpected(r.error()));
                         lists[field] = std::move(*r);
                         list_each(client, std::move(wanted), i + 1, std::move(lists), std::move(done));
                     });
}

}  // namespace

upstreams::upstreams(worker_hub& hub, upstream_options o) : hub_(hub), opts_(std::move(o)), gate_(std::make_shared<gate>()) {
    gate_->self = this;
    for (std::size_t i = 0; i < reporter_threads; ++i)
        reporters_.push_back(std::make_unique<work_pool>("upstream-rep", 1, 100'000));
    transport::client_options co;
    co.max_body_bytes = opts_.max_message_bytes;
    // Below the 5 s keep-alive of Node's and most Python servers: a pooled
    // connection is dropped here before the server drops it.
    co.idle_timeout = std::chrono::seconds(4);
    // As many idle connections as calls an upstream may have in flight (its
    // concurrency is at most 1024, schemas/worker-register.json): with the
    // default 32, calls beyond 32 at once would close their connection and
    // the next ones connect again. Idle ones still close after 4 s.
    co.max_idle_per_host = 1024;
    http_ = std::make_shared<transport::http_client>(co);
    hub_.on_registration([g = gate_](const std::string& name) {
        g->post([name](upstreams& self) { self.reconcile(name); });
    });
}

upstreams::~upstreams() { stop(); }

void upstreams::post(std::function<void()> f) {
    (void)gate_->post([f = std::move(f)](upstreams&) { f(); });
}

void upstreams::after(std::chrono::milliseconds delay, std::function<void()> f) {
    timers_.at(timer_queue::clock::now() + delay, [g = gate_, f = std::move(f)] { g->post([f](upstreams&) { f(); }); });
}

void upstreams::start() {
    post([this] {
        apply_declared();
        for (auto& name : hub_.names()) reconcile(name);
    });
}

void upstreams::stop() {
    if (stopping_.exchange(true)) return;
    hub_.on_registration(nullptr);
    // Runs after what is queued; then nothing enters any more.
    (void)serial_.post([this] {
        links_.clear();
        for (auto& [name, f] : fresh_) f.first->close();
        fresh_.clear();
    });
    gate_->close();
    serial_.stop();
    // What the instances reported reaches the hub before it stops.
    for (auto& r : reporters_) r->stop();
    // No handler of an exchange runs after this (the instances the hub still
    // holds keep the client, inert).
    http_->shutdown();
}

std::shared_ptr<mcp_client> upstreams::make_client(const upstream_definition& d) {
    mcp_client::options o{d.url, d.headers, d.request_timeout, opts_.max_message_bytes, nullptr};
    o.later = [this, g = gate_](std::chrono::milliseconds delay, std::function<void()> f) {
        // Resuming a stream after the server's retry hint: on the timer
        // thread, handed straight to the HTTP client (it never blocks).
        std::lock_guard lock(g->mu);
        if (g->self) timers_.at(timer_queue::clock::now() + delay, std::move(f));
    };
    return mcp_client::make(http_, std::move(o));
}

void upstreams::discover(std::shared_ptr<mcp_client> client, const json& init,
                         std::function<void(std::expected<json, upstream_failure>)> done) {
    const json caps = init.is_object() && init.contains("capabilities") && init["capabilities"].is_object()
                          ? init["capabilities"]
                          : json::object();
    std::vector<std::pair<std::string, std::string>> wanted;  // method, field
    if (caps.contains("tools") || caps.empty()) wanted.emplace_back("tools/list", "tools");
    if (caps.contains("resources")) wanted.emplace_back("resources/list", "resources");
    if (caps.contains("prompts")) wanted.emplace_back("prompts/list", "prompts");
    list_each(std::move(client), std::move(wanted), 0,
              json{{"tools", json::array()}, {"resources", json::array()}, {"prompts", json::array()}}, std::move(done));
}

worker_answer upstreams::give(const std::string& name, const std::string& call_id, const std::string& action,
                              const json& body) {
    auto a = hub_.answer_as_instance(name, call_id, action, body);
    if (a.outcome == worker_outcome::invalid)
        // Not what the client can be given (a tools/call result without
        // content): the same answer would come again, so it is final.
        a = hub_.answer_as_instance(
            name, call_id, "error",
            json{{"error", {{"code", rpc_code::internal_error},
                            {"message", "upstream '" + name + "' answered what cannot be used: " +
                                            string_field(a.body, "error")}}}});
    return a;
}

void upstreams::report(const std::string& name, const std::string& call_id, const std::string& action, json body) {
    const bool final = action == "result" || action == "error" || action == "failure";
    auto again = [final](const worker_answer& a) {
        return final && (a.outcome == worker_outcome::store_unavailable || a.outcome == worker_outcome::internal);
    };
    auto lost = [name, call_id, action](const worker_answer& a) {
        if (a.outcome != worker_outcome::done && a.outcome != worker_outcome::unknown_call)
            spdlog::warn("upstreams: {}: call {}: the {} could not be given: {}", name, call_id, action,
                         string_field(a.body, "error"));
    };
    // On the HTTP client's thread with the store embedded, the hub takes the
    // report here, which saves a hand-off per call: no lock of the hub or an
    // instance is held on that thread, and the hub's answer neither waits on
    // the network nor calls into an instance. A shared store's answer may go
    // to another server (a round trip), and the retries sleep: those run on
    // a reporter thread. Reports of one exchange come from one thread, so
    // they stay in order either way.
    if (!hub_.shared_store() && http_->on_client_thread()) {
        auto a = give(name, call_id, action, body);
        if (!again(a)) return lost(a);
    }
    auto run = [this, name, call_id, action, body = std::move(body), again, lost] {
        auto a = give(name, call_id, action, body);
        for (int n = 0; n < 3 && again(a); ++n) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            a = hub_.answer_as_instance(name, call_id, action, body);
        }
        lost(a);
    };
    // One reporter per call: its progress, messages and answer in order.
    auto& pool = *reporters_[std::hash<std::string>{}(call_id) % reporters_.size()];
    if (pool.post(std::move(run))) return;
    // Never an answer lost for good: the call stays open and is delivered
    // again after its invisibility.
    spdlog::warn("upstreams: {}: call {}: too busy to take its {}; {}", name, call_id, action,
                 action == "progress" || action == "log" ? "dropped" : "the call will be forwarded again");
}

void upstreams::register_upstream(json body, std::optional<std::string> credential, std::string owner,
                                  std::function<void(worker_answer)> done) {
    auto refuse = [](worker_outcome o, std::string message) { return worker_answer{o, json{{"error", std::move(message)}}}; };
    post([=, this]() mutable {
        const auto name = string_field(body, "name");
        for (const char* field : {"tools", "resources", "prompts"})
            if (body.contains(field))
                return done(refuse(worker_outcome::invalid, std::string(field) +
                                                                ": an upstream's lists come from the server; leave them out"));
        // Nothing is sent to a URL for a request that may not register the name.
        if (auto denied = hub_.may_register(name, credential, owner)) return done(std::move(*denied));
        auto d = upstream_definition::read(name, body["upstream"], opts_.request_timeout);
        if (!d) return done(refuse(worker_outcome::invalid, d.error()));
        if (!body.contains("concurrency")) body["concurrency"] = opts_.concurrency;
        auto client = make_client(*d);
        const auto url = d->shown_url();
        auto g = gate_;
        auto refused = [g, done](worker_answer a) {
            if (!g->post([a, done](upstreams&) { done(a); })) done(refuse_stopping());
        };
        client->connect([=](std::expected<json, upstream_failure> init) {
            if (!init)
                return refused(refuse(worker_outcome::upstream_failed,
                                      "cannot use the MCP server at " + url + ": " + init.error().message));
            discover(client, *init, [=](std::expected<json, upstream_failure> lists) {
                const bool queued = g->post([=](upstreams& self) {
                    if (!lists) {
                        client->close();
                        return done(refuse(worker_outcome::upstream_failed,
                                           "the MCP server at " + url + " could not list what it serves: " +
                                               lists.error().message));
                    }
                    client->take_tools(lists->value("tools", json::array()));
                    auto reg = upstream_registration(body, *d, *lists, self.taken_resources(name, *lists));
                    if (!reg) {
                        client->close();
                        return done(refuse(worker_outcome::upstream_failed, "the MCP server at " + url + ": " + reg.error()));
                    }
                    self.fresh_[name] = {client, *init};
                    auto a = self.hub_.register_worker(*reg, credential, owner);
                    if (a.outcome != worker_outcome::registered && a.outcome != worker_outcome::done) {
                        self.fresh_.erase(name);
                        client->close();
                        return done(std::move(a));
                    }
                    a.body["upstream"] = json{{"url", url},
                                              {"protocolVersion", client->protocol_version()},
                                              {"serverInfo", init->value("serverInfo", json::object())},
                                              {"tools", (*reg)["tools"].size()},
                                              {"resources", (*reg)["resources"].size()},
                                              {"prompts", (*reg)["prompts"].size()}};
                    done(std::move(a));
                });
                if (!queued) done(refuse_stopping());
            });
        });
    });
}

void upstreams::apply_declared() {
    for (auto& name : hub_.names()) {
        auto d = hub_.definition(name);
        if (d && d->value("declared", false) && !opts_.declared.contains(name))
            (void)hub_.remove(name, "upstream '" + name + "' is no longer declared in the configuration");
    }
    for (auto& [name, declared] : opts_.declared.items()) {
        json body = declared;
        if (!body.contains("concurrency")) body["concurrency"] = opts_.concurrency;
        auto current = hub_.definition(name);
        if (current && !current->value("declared", false)) {
            spdlog::error("upstreams: {}: declared in the configuration, but a worker of that name was registered "
                          "through the API; the declaration is not used",
                          name);
            continue;
        }
        // What the server listed stays until it is reached again.
        for (const char* field : {"tools", "resources", "prompts"})
            body[field] = current ? current->value(field, json::array()) : json::array();
        if (current && *current == body) continue;
        auto a = hub_.reregister(body);
        if (a.outcome != worker_outcome::done && a.outcome != worker_outcome::registered)
            spdlog::error("upstreams: {}: cannot register the declared upstream: {}", name, string_field(a.body, "error"));
        else
            spdlog::info("upstreams: {}: declared in the configuration", name);
    }
}

void upstreams::reconcile(const std::string& name) {
    auto definition = hub_.definition(name);
    auto it = links_.find(name);
    if (!definition || !definition->contains("upstream")) {
        if (it != links_.end()) {
            links_.erase(it);
            spdlog::info("upstreams: {}: no longer registered; disconnected", name);
        }
        if (auto f = fresh_.find(name); f != fresh_.end()) {
            f->second.first->close();
            fresh_.erase(f);
        }
        return;
    }
    const json& block = (*definition)["upstream"];
    if (it != links_.end()) {
        auto& l = *it->second;
        if (l.block == block) {
            if (auto f = fresh_.find(name); f != fresh_.end()) {
                f->second.first->close();
                fresh_.erase(f);
            }
            // The hub let go of the instance (another took over its id): attach again.
            if (l.up && l.instance && !l.instance->is_open()) connect(l);
            return;
        }
        links_.erase(it);
    }
    auto d = upstream_definition::read(name, block, opts_.request_timeout);
    if (!d) {
        spdlog::error("upstreams: {}: cannot use the registration: {}", name, d.error());
        return;
    }
    auto l = std::make_unique<link>();
    l->def = std::move(*d);
    l->block = block;
    auto& ref = *l;
    links_[name] = std::move(l);
    connect(ref);
}

void upstreams::connect(link& l) {
    l.stop();
    l.up = false;
    const auto generation = l.generation = ++next_generation_;
    const auto name = l.def.name;
    auto g = gate_;
    auto ready = [g, name, generation](std::shared_ptr<mcp_client> client, json init,
                                       std::expected<json, upstream_failure> lists) {
        g->post([=](upstreams& self) {
            if (!lists) return self.went_down(name, generation, lists.error().message);
            self.connected(name, generation, client, init, *lists);
        });
    };
    if (auto f = fresh_.find(name); f != fresh_.end()) {
        // Registered a moment ago: that connection and its lists serve.
        auto [client, init] = f->second;
        fresh_.erase(f);
        discover(client, init, [=](std::expected<json, upstream_failure> lists) { ready(client, init, std::move(lists)); });
        return;
    }
    auto client = make_client(l.def);
    client->connect([=](std::expected<json, upstream_failure> init) {
        if (!init) return g->post([=](upstreams& self) { self.went_down(name, generation, init.error().message); }), void();
        discover(client, *init, [=](std::expected<json, upstream_failure> lists) { ready(client, *init, std::move(lists)); });
    });
}

std::set<std::string> upstreams::taken_resources(const std::string& name, const json& lists) const {
    std::vector<std::string> uris;
    for (auto& r : lists.value("resources", json::array()))
        if (r.is_object() && r.contains("uri") && r["uri"].is_string()) uris.push_back(r["uri"].get<std::string>());
    return hub_.resources_served_elsewhere(name, uris);
}

bool upstreams::take_lists(link& l, const json& lists) {
    const auto& name = l.def.name;
    auto definition = hub_.definition(name);
    if (!definition) return false;
    // The server may have changed what it serves since it was registered.
    if (l.client) l.client->take_tools(lists.value("tools", json::array()));
    auto body = upstream_registration(*definition, l.def, lists, taken_resources(name, lists));
    if (!body) {
        went_down(name, l.generation, body.error());
        return false;
    }
    bool changed = false;
    for (const char* field : {"tools", "resources", "prompts"})
        if ((*body)[field] != definition->value(field, json::array())) changed = true;
    if (!changed) return true;
    auto a = hub_.reregister(*body);
    if (a.outcome != worker_outcome::done && a.outcome != worker_outcome::registered) {
        went_down(name, l.generation, "its new lists cannot be registered: " + string_field(a.body, "error"));
        return false;
    }
    spdlog::info("upstreams: {}: the server's lists changed; registered again ({})", name,
                 counted((*body)["tools"].size(), "tool"));
    return true;
}

void upstreams::connected(const std::string& name, std::uint64_t generation, std::shared_ptr<mcp_client> client,
                          json init, json lists) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation) {
        client->close();  // a connection nobody uses any more
        return;
    }
    auto& l = *it->second;
    l.stop();
    l.client = client;
    l.init = std::move(init);
    if (!take_lists(l, lists)) return;
    auto g = gate_;
    upstream_instance::parts parts{
        l.def, client,
        [g, name](const std::string& call_id, const std::string& action, json body) {
            g->report(name, call_id, action, std::move(body));
        },
        [g, name, generation](const std::string& why) {
            g->post([name, generation, why](upstreams& self) {
                auto it = self.links_.find(name);
                if (it == self.links_.end() || it->second->generation != generation || !it->second->up) return;
                spdlog::debug("upstreams: {}: a call failed ({}); checking the server", name, why);
                self.ping(name, generation, ++it->second->ping_chain);
            });
        },
        [g, name](const std::string& call_id, std::string method, json params, std::function<void(json)> done) {
            const bool queued = g->post([name, call_id, method, params, done](upstreams& self) {
                self.hub_.ask_client(name, call_id, method, params, done);
            });
            if (!queued)
                done(json{{"error", {{"code", rpc_code::internal_error}, {"message", "litemcp is stopping"}}}});
        },
        [g, name, generation](json m) {
            g->post([name, generation, m = std::move(m)](upstreams& self) { self.notice(name, generation, m); });
        },
        [g](std::function<void()> f) { g->post([f = std::move(f)](upstreams&) { f(); }); },
        [g](std::chrono::milliseconds delay, std::function<void()> f) {
            g->post([delay, f = std::move(f)](upstreams& self) { self.after(delay, f); });
        }};
    l.instance = std::make_shared<upstream_instance>(std::move(parts));
    l.up = true;
    l.backoff = first_backoff;
    hub_.attach(name, "upstream-" + random_id().substr(0, 8), l.instance);
    spdlog::info("upstreams: {}: connected to {} (protocol {}, {})", name, l.def.shown_url(), client->protocol_version(),
                 client->session_id().empty() ? std::string("no session") : "session " + client->session_id());
    const auto chain = ++l.ping_chain;
    after(opts_.ping_interval, [this, name, generation, chain] { ping(name, generation, chain); });
    keep_invisible(name, generation);
    listen(name, generation);
}

void upstreams::listen(const std::string& name, std::uint64_t generation) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation || !it->second->up) return;
    auto g = gate_;
    it->second->listening = it->second->client->listen(
        [g, name, generation](json m) {
            g->post([name, generation, m = std::move(m)](upstreams& self) { self.notice(name, generation, m); });
        },
        [g, name, generation](bool no_stream, std::string why) {
            g->post([name, generation, no_stream, why](upstreams& s) {
                auto* self = &s;
                auto it = self->links_.find(name);
                if (it == self->links_.end() || it->second->generation != generation || !it->second->up) return;
                it->second->listening.reset();
                if (no_stream) {
                    spdlog::debug("upstreams: {}: no stream of the server's own ({}); its lists are read again on "
                                  "each connection",
                                  name, why);
                    return;
                }
                spdlog::debug("upstreams: {}: the server's stream ended ({}); opening it again", name, why);
                self->after(std::chrono::seconds(1), [self, name, generation] { self->listen(name, generation); });
            });
        });
}

void upstreams::notice(const std::string& name, std::uint64_t generation, const json& message) {
    const auto method = string_field(message, "method");
    if (message.contains("id")) {
        // A request of the server's outside any call: no client to ask.
        auto it = links_.find(name);
        if (it == links_.end() || it->second->generation != generation || !it->second->client) return;
        if (method == "ping") it->second->client->send(make_result(message["id"], json::object()));
        else
            it->second->client->send(make_error(message["id"], rpc_code::method_not_found,
                                                method + " outside a call: there is no client to ask"));
        return;
    }
    if (!method.ends_with("/list_changed")) return;
    spdlog::debug("upstreams: {}: {}: reading its lists again", name, method);
    relist(name, generation);
}

void upstreams::relist(const std::string& name, std::uint64_t generation) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation || !it->second->up) return;
    auto& l = *it->second;
    if (l.relisting) {
        l.relist_again = true;  // one more once this one is done: the newest lists win
        return;
    }
    l.relisting = true;
    auto g = gate_;
    discover(l.client, l.init, [g, name, generation](std::expected<json, upstream_failure> lists) {
        g->post([name, generation, lists = std::move(lists)](upstreams& self) {
            auto it = self.links_.find(name);
            if (it == self.links_.end() || it->second->generation != generation || !it->second->up) return;
            auto& l = *it->second;
            l.relisting = false;
            if (!lists) return self.went_down(name, generation, "cannot read its lists again: " + lists.error().message);
            if (!self.take_lists(l, *lists)) return;
            if (std::exchange(l.relist_again, false)) self.relist(name, generation);
        });
    });
}

void upstreams::keep_invisible(const std::string& name, std::uint64_t generation) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation || !it->second->instance) return;
    auto definition = hub_.definition(name);
    if (!definition) return;
    const auto invisibility = std::chrono::milliseconds(
        definition->value("invisibilityMs", static_cast<long long>(hub_.options().invisibility.count())));
    for (auto& call_id : it->second->instance->call_ids()) report(name, call_id, "extend", json{{"ms", invisibility.count()}});
    after(std::max(invisibility / 3, std::chrono::milliseconds(50)),
          [this, name, generation] { keep_invisible(name, generation); });
}

void upstreams::went_down(const std::string& name, std::uint64_t generation, const std::string& why) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation) return;
    auto& l = *it->second;
    l.stop();
    const bool was_up = l.up;
    l.up = false;
    const auto now = l.generation = ++next_generation_;
    const auto delay = l.backoff;
    l.backoff = std::min(l.backoff * 2, opts_.retry_max);
    spdlog::warn("upstreams: {}: {} {}: {}; trying again in {} ms", name, was_up ? "lost" : "cannot reach",
                 l.def.shown_url(), why, delay.count());
    after(delay, [this, name, now] {
        auto it = links_.find(name);
        if (it != links_.end() && it->second->generation == now && !it->second->up) connect(*it->second);
    });
}

void upstreams::ping(const std::string& name, std::uint64_t generation, std::uint64_t chain) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation || it->second->ping_chain != chain || !it->second->up)
        return;
    auto& l = *it->second;
    if (!l.instance || !l.instance->is_open()) return connect(l);
    mcp_client::request_options o;
    o.timeout = std::min(opts_.ping_interval, std::chrono::milliseconds(10'000));
    auto g = gate_;
    // 2026-07-28 has no ping: server/discover says the server is there.
    l.client->request(
        l.client->modern() ? "server/discover" : "ping", json::object(), "litemcp-ping-" + std::to_string(chain), nullptr,
        [g, name, generation, chain](std::expected<json, upstream_failure> r) {
            g->post([name, generation, chain, r = std::move(r)](upstreams& s) {
                auto* self = &s;
                // Any answer, an error too, says the server is there.
                if (!r && r.error().what != upstream_failure::kind::cancelled)
                    return self->went_down(name, generation, "no answer to a ping: " + r.error().message);
                auto it = self->links_.find(name);
                if (it == self->links_.end() || it->second->generation != generation || it->second->ping_chain != chain)
                    return;
                // A list_changed can be missed (sent while litemcp's stream
                // to the server was not open yet, or by a server with no
                // stream at all): the lists are read again with each ping.
                self->relist(name, generation);
                self->after(self->opts_.ping_interval,
                            [self, name, generation, chain] { self->ping(name, generation, chain); });
            });
        },
        o);
}

}  // namespace litemcp::server
