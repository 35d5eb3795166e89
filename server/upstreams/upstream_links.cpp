// Each upstream's link, on the upstreams thread: connecting and
// initializing, taking its lists into the registration, attaching the
// instance, following the server's own stream (list_changed), pinging it,
// and going down and trying again with backoff.
#include <spdlog/spdlog.h>

#include "server/json/json_fields.h"
#include "server/rpc/json_rpc.h"
#include "server/upstreams/upstream_link.h"
#include "server/upstreams/upstreams.h"
#include "server/util/counted.h"
#include "server/util/ids.h"

namespace litemcp::server {

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
