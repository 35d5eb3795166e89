#include "server/upstreams/upstreams.h"

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/util/counted.h"
#include "server/util/ids.h"

namespace litemcp::server {

// One upstream as this server reaches it. On this class's thread only.
struct upstreams::link {
    upstream_definition def;
    json block;  // the registration's upstream block, as recorded
    // Bumps with every try to connect and every loss: callbacks of an
    // older one find it changed and do nothing.
    std::uint64_t generation = 0;
    std::uint64_t ping_chain = 0;  // bumps when a ping is asked for at once: the older chain stops
    std::shared_ptr<mcp_client> client;
    std::shared_ptr<upstream_instance> instance;
    std::chrono::milliseconds backoff{1'000};
    bool up = false;
};

namespace {

// What a call's report does when the hub will not take it: a result the hub
// finds invalid (not a CallToolResult) is this attempt's failure.
constexpr std::chrono::milliseconds first_backoff{1'000};

}  // namespace

upstreams::upstreams(worker_hub& hub, upstream_options o) : hub_(hub), opts_(o) {
    transport::client_options co;
    co.max_body_bytes = o.max_message_bytes;
    http_ = std::make_unique<transport::http_client>(co);
    hub_.on_registration([this](const std::string& name) { post([this, name] { reconcile(name); }); });
}

upstreams::~upstreams() { stop(); }

void upstreams::post(std::function<void()> f) {
    if (stopping_) return;
    (void)serial_.post(std::move(f));
}

void upstreams::after(std::chrono::milliseconds delay, std::function<void()> f) {
    timers_.at(timer_queue::clock::now() + delay, [this, f = std::move(f)] { post(f); });
}

void upstreams::start() {
    post([this] {
        for (auto& name : hub_.names()) reconcile(name);
    });
}

void upstreams::stop() {
    if (stopping_.exchange(true)) return;
    hub_.on_registration(nullptr);
    // Runs after what is queued; then the connections end.
    (void)serial_.post([this] {
        for (auto& [name, l] : links_)
            if (l->instance) l->instance->close();
        links_.clear();
        fresh_.clear();
    });
    serial_.stop();
    http_.reset();
}

std::shared_ptr<mcp_client> upstreams::make_client(const upstream_definition& d) {
    return mcp_client::make(*http_, mcp_client::options{d.url, d.headers, d.request_timeout, opts_.max_message_bytes});
}

std::vector<upstreams::link_state> upstreams::states() const {
    std::lock_guard lock(states_mu_);
    std::vector<link_state> out;
    for (auto& [name, s] : states_) out.push_back(s);
    return out;
}

void upstreams::discover(std::shared_ptr<mcp_client> client, json init,
                         std::function<void(std::expected<json, upstream_failure>)> done) {
    const json caps = init.value("capabilities", json::object());
    // The lists one after the other: tools, then resources and prompts if offered.
    auto lists = std::make_shared<json>(json{{"tools", json::array()}, {"resources", json::array()}, {"prompts", json::array()}});
    std::vector<std::pair<std::string, std::string>> wanted;  // method, field
    if (caps.contains("tools") || !caps.is_object() || caps.empty()) wanted.emplace_back("tools/list", "tools");
    if (caps.contains("resources")) wanted.emplace_back("resources/list", "resources");
    if (caps.contains("prompts")) wanted.emplace_back("prompts/list", "prompts");
    auto step = std::make_shared<std::function<void(std::size_t)>>();
    *step = [client, lists, wanted, done, step](std::size_t i) {
        if (i == wanted.size()) {
            done(*lists);
            *step = nullptr;  // the cycle through the capture ends here
            return;
        }
        client->list_all(wanted[i].first, wanted[i].second, [lists, wanted, done, step, i](std::expected<json, upstream_failure> r) {
            if (!r) {
                done(std::unexpected(r.error()));
                *step = nullptr;
                return;
            }
            (*lists)[wanted[i].second] = std::move(*r);
            (*step)(i + 1);
        });
    };
    (*step)(0);
}

void upstreams::register_upstream(json body, std::optional<std::string> credential, std::string owner,
                                  std::function<void(worker_answer)> done) {
    auto refuse = [](worker_outcome o, std::string message) { return worker_answer{o, json{{"error", std::move(message)}}}; };
    post([=, this]() mutable {
        const auto name = body.at("name").get<std::string>();
        for (const char* field : {"tools", "resources", "prompts"})
            if (body.contains(field))
                return done(refuse(worker_outcome::invalid, std::string(field) +
                                                                ": an upstream's lists come from the server; leave them out"));
        auto d = upstream_definition::read(name, body["upstream"], opts_.request_timeout);
        if (!d) return done(refuse(worker_outcome::invalid, d.error()));
        if (!body.contains("concurrency")) body["concurrency"] = opts_.concurrency;
        auto client = make_client(*d);
        const auto url = d->url;
        client->connect([=, this](std::expected<json, upstream_failure> init) {
            if (!init)
                return post([=] {
                    done(refuse(worker_outcome::upstream_failed,
                                "cannot use the MCP server at " + url + ": " + init.error().message));
                });
            discover(client, *init, [=, this](std::expected<json, upstream_failure> lists) {
                post([=, this] {
                    if (!lists)
                        return done(refuse(worker_outcome::upstream_failed,
                                           "the MCP server at " + url + " could not list what it serves: " +
                                               lists.error().message));
                    auto reg = upstream_registration(body, *d, *lists);
                    if (!reg) return done(refuse(worker_outcome::upstream_failed, "the MCP server at " + url + ": " + reg.error()));
                    fresh_[name] = {client, *init};
                    auto a = hub_.register_worker(*reg, credential, owner);
                    if (a.outcome != worker_outcome::registered && a.outcome != worker_outcome::done) {
                        fresh_.erase(name);
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
            });
        });
    });
}

void upstreams::reconcile(const std::string& name) {
    if (stopping_) return;
    auto definition = hub_.definition(name);
    auto it = links_.find(name);
    if (!definition || !definition->contains("upstream")) {
        if (it != links_.end()) {
            if (it->second->instance) it->second->instance->close();
            links_.erase(it);
            std::lock_guard lock(states_mu_);
            states_.erase(name);
            spdlog::info("upstreams: {}: no longer registered; disconnected", name);
        }
        fresh_.erase(name);
        return;
    }
    const json& block = (*definition)["upstream"];
    if (it != links_.end()) {
        auto& l = *it->second;
        if (l.block == block) {
            fresh_.erase(name);
            // The hub let go of the instance (another took over its id): attach again.
            if (l.up && l.instance && !l.instance->is_open()) connect(l);
            return;
        }
        if (l.instance) l.instance->close();
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
    {
        std::lock_guard lock(states_mu_);
        link_state fresh;
        fresh.name = name;
        states_[name] = std::move(fresh);
    }
    connect(ref);
}

void upstreams::connect(link& l) {
    if (l.instance) l.instance->close();
    l.instance.reset();
    l.up = false;
    const auto generation = ++l.generation;
    const auto name = l.def.name;
    if (auto f = fresh_.find(name); f != fresh_.end()) {
        // Registered a moment ago: that connection and its lists serve.
        auto [client, init] = f->second;
        fresh_.erase(f);
        discover(client, init, [=, this](std::expected<json, upstream_failure> lists) {
            if (!lists) return post([=, this] { went_down(name, generation, lists.error().message); });
            post([=, this] { connected(name, generation, client, *lists); });
        });
        return;
    }
    auto client = make_client(l.def);
    client->connect([=, this](std::expected<json, upstream_failure> init) {
        if (!init) return post([=, this] { went_down(name, generation, init.error().message); });
        discover(client, *init, [=, this](std::expected<json, upstream_failure> lists) {
            if (!lists) return post([=, this] { went_down(name, generation, lists.error().message); });
            post([=, this] { connected(name, generation, client, *lists); });
        });
    });
}

void upstreams::connected(const std::string& name, std::uint64_t generation, std::shared_ptr<mcp_client> client,
                          json lists) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation) return;
    auto& l = *it->second;
    auto definition = hub_.definition(name);
    if (!definition) return;
    // The server may have changed what it serves since it was registered.
    auto body = upstream_registration(*definition, l.def, lists);
    if (!body) return went_down(name, generation, body.error());
    bool changed = false;
    for (const char* field : {"tools", "resources", "prompts"})
        if ((*body)[field] != definition->value(field, json::array())) changed = true;
    if (changed) {
        auto a = hub_.reregister(*body);
        if (a.outcome != worker_outcome::done && a.outcome != worker_outcome::registered)
            return went_down(name, generation, "its new lists cannot be registered: " + a.body.value("error", ""));
        spdlog::info("upstreams: {}: the server's lists changed; registered again ({})", name,
                     counted((*body)["tools"].size(), "tool"));
    }
    l.client = client;
    upstream_instance::parts parts{
        l.def, client,
        [this, name](const std::string& call_id, const std::string& action, json body) {
            post([this, name, call_id, action, body = std::move(body)] {
                auto a = hub_.answer_as_instance(name, call_id, action, body);
                if (a.outcome == worker_outcome::invalid)
                    (void)hub_.answer_as_instance(
                        name, call_id, "failure",
                        json{{"error", "upstream '" + name + "' answered what cannot be used: " + a.body.value("error", "")}});
            });
        },
        [this, name, generation](const std::string& why) {
            post([this, name, generation, why] {
                auto it = links_.find(name);
                if (it == links_.end() || it->second->generation != generation || !it->second->up) return;
                spdlog::debug("upstreams: {}: a call failed ({}); checking the server", name, why);
                ping(name, generation, ++it->second->ping_chain);
            });
        },
        [this](std::function<void()> f) { post(std::move(f)); }};
    l.instance = std::make_shared<upstream_instance>(std::move(parts));
    l.up = true;
    l.backoff = first_backoff;
    const auto version = client->protocol_version();
    {
        std::lock_guard lock(states_mu_);
        auto& s = states_[name];
        s.name = name;
        s.connected = true;
        s.protocol_version = version;
        s.last_error.clear();
    }
    hub_.attach(name, "upstream-" + random_id().substr(0, 8), l.instance);
    spdlog::info("upstreams: {}: connected to {} (protocol {}, {})", name, l.def.url, version,
                 client->session_id().empty() ? std::string("no session") : "session " + client->session_id());
    const auto chain = ++l.ping_chain;
    after(opts_.ping_interval, [this, name, generation, chain] { ping(name, generation, chain); });
    keep_invisible(name, generation);
}

void upstreams::keep_invisible(const std::string& name, std::uint64_t generation) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation || !it->second->instance) return;
    auto definition = hub_.definition(name);
    if (!definition) return;
    const auto invisibility = std::chrono::milliseconds(
        definition->value("invisibilityMs", static_cast<long long>(hub_.options().invisibility.count())));
    for (auto& call_id : it->second->instance->call_ids())
        (void)hub_.answer_as_instance(name, call_id, "extend", json{{"ms", invisibility.count()}});
    after(std::max(invisibility / 3, std::chrono::milliseconds(50)),
          [this, name, generation] { keep_invisible(name, generation); });
}

void upstreams::went_down(const std::string& name, std::uint64_t generation, const std::string& why) {
    auto it = links_.find(name);
    if (it == links_.end() || it->second->generation != generation) return;
    auto& l = *it->second;
    if (l.instance) l.instance->close();
    l.instance.reset();
    const bool was_up = l.up;
    l.up = false;
    const auto now = ++l.generation;
    const auto delay = l.backoff;
    l.backoff = std::min(l.backoff * 2, opts_.retry_max);
    {
        std::lock_guard lock(states_mu_);
        auto& s = states_[name];
        s.connected = false;
        s.last_error = why;
    }
    spdlog::warn("upstreams: {}: {} {}: {}; trying again in {} ms", name, was_up ? "lost" : "cannot reach", l.def.url,
                 why, delay.count());
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
    l.client->request("ping", json::object(), "litemcp-ping-" + std::to_string(chain), nullptr,
                      [this, name, generation, chain](std::expected<json, upstream_failure> r) {
                          post([this, name, generation, chain, r = std::move(r)] {
                              // Any answer, an error too, says the server is there.
                              if (!r && r.error().what != upstream_failure::kind::cancelled)
                                  return went_down(name, generation, r.error().message);
                              auto it = links_.find(name);
                              if (it == links_.end() || it->second->generation != generation ||
                                  it->second->ping_chain != chain)
                                  return;
                              after(opts_.ping_interval, [this, name, generation, chain] { ping(name, generation, chain); });
                          });
                      });
}

}  // namespace litemcp::server
