// The upstreams class: its thread and gate, registering an upstream (by the
// worker API or from the configuration), and what the instances report to
// the hub. Each upstream's connection is upstream_links.cpp.
#include "server/upstreams/upstreams.h"

#include <spdlog/spdlog.h>

#include "server/json/json_fields.h"
#include "server/rpc/json_rpc.h"
#include "server/upstreams/upstream_link.h"

namespace litemcp::server {

namespace {

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

}  // namespace litemcp::server
