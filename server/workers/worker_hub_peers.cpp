// The worker hub and the other servers sharing its store: their messages
// (hub_peers.h), the beat that says where instances are, a registration
// changed elsewhere, and a worker's answer that reached the wrong server.
#include <spdlog/spdlog.h>

#include <future>

#include "server/json/json_text.h"
#include "server/util/counted.h"
#include "server/util/ids.h"
#include "server/workers/call_queue.h"
#include "server/workers/hub_peers.h"
#include "server/workers/registrations.h"
#include "server/workers/worker_hub.h"
#include "server/workers/worker_hub_state.h"

namespace litemcp::server {

using namespace worker_hub_detail;

namespace {
// Messages from other servers waiting for the hub's thread; beyond this
// they are dropped (signals are at most once anyway) and logged.
constexpr std::size_t max_jobs = 100'000;
}  // namespace

std::optional<std::string> worker_hub::on_signal(std::string_view channel, std::string_view payload) {
    if (channel == "w-node") return payload == peers_->node() ? std::optional<std::string>("1") : std::nullopt;
    auto msg = parse_json(payload);
    if (!msg || !msg->is_object()) {
        spdlog::warn("workers: signal {}: unreadable payload", channel);
        return std::nullopt;
    }
    // Addressed to another server: not worth the hub's thread.
    if (msg->contains("to") && (*msg)["to"] != peers_->node()) return std::nullopt;
    post([this, ch = std::string(channel), m = std::move(*msg)](effects& fx) mutable { from_peer(ch, std::move(m), fx); });
    return std::nullopt;
}

void worker_hub::post(std::function<void(effects&)> fn) {
    {
        std::lock_guard lock(wake_mu_);
        if (stopping_) return;
        if (jobs_.size() >= max_jobs) {
            spdlog::warn("workers: {} messages from other servers wait; dropping one", jobs_.size());
            return;
        }
        jobs_.push_back(std::move(fn));
    }
    wake_cv_.notify_one();
}

bool worker_hub::present(hub_worker& w) const {
    if (!w.instances.empty()) return true;
    const auto now = clock::now();
    for (auto& [node, e] : w.elsewhere)
        if (e.count > 0 && now - e.seen <= hub_peers::beat_expiry) return true;
    return false;
}

void worker_hub::beat() {
    json here = json::object();
    for (auto& [name, w] : regs_->all()) {
        std::size_t attached = 0;
        for (auto& i : w->instances)
            if (i->attached) ++attached;
        if (attached) here[name] = attached;
    }
    // Sent with no instances too: the others learn that this server runs
    // (the calls it owns are taken over when its beats stop).
    peers_->send("w-beat", json{{"n", peers_->node()}, {"w", std::move(here)}});
}

void worker_hub::from_peer(const std::string& channel, json msg, effects& fx) {
    const std::string name = msg.contains("w") && msg["w"].is_string() ? msg["w"].get<std::string>() : "";
    auto* w = name.empty() ? nullptr : regs_->find(name);
    if (channel == "w-reply") {
        peers_->replied(msg, fx);
    } else if (channel == "w-emit") {
        peers_->emitted(msg, fx);
    } else if (channel == "w-ask") {
        asked_by_peer(std::move(msg), fx);
    } else if (channel == "w-cancel") {
        // The client of a round relayed here went (relay_round). After the
        // mutex is released, as a w-round before it in this batch files
        // the call then.
        if (msg["o"].is_string() && msg.contains("id"))
            fx.push_back([this, origin = call_origin{call_origin::kind::direct, msg["o"].get<std::string>(), {}},
                          id = msg["id"]] { cancel(origin, id); });
    } else if (channel == "w-round") {
        // Resumed by the sink after the mutex is released: it files the
        // worker call under the round's call (adopt), which takes it.
        fx.push_back([this, msg = std::move(msg)]() mutable {
            auto peers = peers_;
            auto round = std::move(msg["t"]);
            sink_.resume_round(
                std::move(round), [peers, msg](json m) { peers->emit(msg, std::move(m)); },
                [peers, msg](json outcome) { peers->reply(msg, std::move(outcome)); });
        });
    } else if (channel == "w-beat") {
        const auto node = msg.value("n", "");
        if (node.empty() || !msg["w"].is_object()) return;
        peers_->heard(node);
        const auto now = clock::now();
        for (auto& [wn, wk] : regs_->all()) {
            auto count = msg["w"].value(wn, std::size_t{0});
            if (!count) {
                wk->elsewhere.erase(node);
                continue;
            }
            wk->elsewhere[node] = peer_instances{count, now, false};
            if (!wk->online) {
                wk->presence++;
                set_online(*wk, true, fx);
                // Offline again should those instances go (the beats stop).
                schedule(now + opts_.offline_grace, {hub_timer::kind::offline, wn, {}, wk->presence});
            }
            if (!wk->ready.empty()) wake(wn);
        }
    } else if (channel == "w-deliver") {
        if (!w) return peers_->reply(msg, "gone");
        calls_->deliver_for_peer(*w, msg);
    } else if (channel == "w-release") {
        calls_->release_for_peer(msg.value("c", ""), msg.value("cancel", ""));
    } else if (channel == "w-free") {
        if (!w) return;
        if (auto e = w->elsewhere.find(msg.value("n", "")); e != w->elsewhere.end()) e->second.full = false;
        if (!w->ready.empty()) wake(name);
    } else if (channel == "w-suspend") {
        if (w && msg["ms"].is_number_integer()) calls_->suspend(*w, std::chrono::milliseconds(msg["ms"].get<long long>()));
    } else if (channel == "w-answer") {
        const auto call_id = msg.value("c", "");
        if (w && calls_->owns(call_id)) {
            auto out = calls_->answer(*w, call_id, msg.value("a", ""), msg["b"], fx);
            // After what the answer does (the client's result), as on one server.
            fx.push_back([this, msg, r = json{{"o", static_cast<int>(out.outcome)}, {"b", std::move(out.body)}}] {
                peers_->reply(msg, r);
            });
        } else if (calls_->recently_done(call_id)) {
            peers_->reply(msg, json{{"o", static_cast<int>(worker_outcome::done)},
                                    {"b", {{"callId", call_id}, {"status", "already finished"}}}});
        }
    } else if (channel == "w-changed") {
        reload(name, fx);
    }
}

void worker_hub::asked_by_peer(json msg, effects& fx) {
    const auto name = msg.value("w", "");
    const auto method = msg.value("m", "");
    auto* c = calls_->find(msg.value("c", ""));
    if (!c || c->worker != name || method.empty()) {
        peers_->reply(msg, json{{"error", {{"code", rpc_code::internal_error},
                                           {"message", "the call is no longer open; its client cannot be asked"}}}});
        return;
    }
    // Asked as for an instance of this server's; the reply goes out from
    // whichever thread gets the client's answer.
    fx.push_back([this, ticket = c->ticket, method, peers = peers_, msg = std::move(msg)]() mutable {
        auto params = std::move(msg["p"]);
        sink_.ask(ticket, method, std::move(params), [peers, msg](json answer) { peers->reply(msg, std::move(answer)); });
    });
}

const std::string& worker_hub::node() const { return peers_->node(); }

std::expected<void, worker_hub::relay_refusal> worker_hub::relay_round(
    const std::string& name, const std::string& node, const call_origin& origin, const json& request_id, json round,
    std::function<void(json)> emit, std::function<void(std::optional<json>)> done) {
    if (!peers_->shared() || node == peers_->node()) return std::unexpected(relay_refusal{true, "it is not held on another server"});
    if (!reachable(node)) return std::unexpected(relay_refusal{true, "the litemcp server holding it does not run"});
    std::lock_guard lock(mu_);
    auto* w = regs_->find(name);
    if (!w) return std::unexpected(relay_refusal{false, "worker '" + name + "' is not registered"});
    const auto key = origin.key() + '\n' + to_json(request_id);
    const auto via = "relayed-" + random_id();
    round["via"] = via;
    // The reply comes at once (the next request, an error, an answer kept
    // meanwhile) or when the worker answers or asks again, by the call's
    // deadline: within its timeout.
    const auto wait = w->call_timeout + std::chrono::seconds(30);
    auto sent = peers_->request(
        "w-round", json{{"to", node}, {"w", name}, {"t", std::move(round)}}, wait,
        [this, key, via, done](std::optional<json> r, effects& fx) {
            if (auto it = relayed_.find(key); it != relayed_.end() && it->second.second == via) relayed_.erase(it);
            fx.push_back([done, r = std::move(r)] { done(r); });
        },
        [emit](json m, effects& fx) { fx.push_back([emit, m = std::move(m)] { emit(m); }); });
    if (!sent) return std::unexpected(relay_refusal{false, sent.error()});
    // (A task's round is cancelled with its task, on every server.)
    if (origin.of == call_origin::kind::direct) relayed_[key] = {node, via};
    return {};
}

void worker_hub::reload(const std::string& name, effects& fx) {
    if (name.empty()) return;
    auto record = store_.kv_get(std::string(worker_prefix) + name);
    if (!record) {  // stays as it was until the next change or restart
        spdlog::error("workers: {}: cannot read the registration another server changed: {}", name,
                      record.error().message);
        return;
    }
    if (*record) {
        if (auto r = regs_->refresh(name, **record, fx); !r)
            spdlog::error("workers: {}: cannot use the registration another server stored: {}", name, r.error());
        return;
    }
    // Deregistered (or removed) on another server, which removed its topic.
    auto* w = regs_->find(name);
    if (!w) return;
    calls_->fail_all(name, "worker '" + name + "' was deregistered", fx);
    auto instances = std::move(w->instances);
    w->online = false;
    regs_->publish(*w, fx);
    fx.push_back([instances = std::move(instances), sub = std::shared_ptr<topic_subscription>(std::move(w->subscription))] {
        for (auto& i : instances) i->channel->close();
    });
    regs_->forget(name);
    spdlog::info("workers: {}: removed on another server", name);
}

void worker_hub::take_over(const std::set<std::string>& nodes) {
    // Read without the mutex (a scan of every open call); each is then
    // taken by a compare-and-set, so of the servers doing this one takes it.
    auto records = calls_->records_of(nodes);
    if (!records) {
        spdlog::error("workers: cannot read the calls of servers that stopped: {}", records.error().message);
        return;
    }
    std::vector<std::string> taken;
    std::set<std::string> workers;
    for (auto& [key, text] : *records) {
        std::lock_guard lock(mu_);
        if (auto id = calls_->take(key, text)) {
            taken.push_back(*id);
            if (auto* c = calls_->find(*id)) workers.insert(c->worker);
        }
    }
    if (!taken.empty())
        spdlog::info("workers: took {} of server(s) that stopped", counted(taken.size(), "open call"));
    restore(taken);
    for (auto& w : workers) wake(w);
}

worker_answer worker_hub::forward_answer(const std::string& name, const std::string& call_id, const std::string& action,
                                         const json& body) {
    // The call's record names its owner. Without one the call is closed,
    // or never was: only its former owner, which remembers answered calls
    // for a while, may still say "already finished" -- a short wait.
    json request{{"w", name}, {"c", call_id}, {"a", action}, {"b", body}};
    auto wait = std::chrono::milliseconds(250);
    if (auto record = store_.kv_get(std::string(call_prefix) + call_id); record && *record) {
        if (auto doc = parse_json(**record); doc && doc->is_object() && (*doc)["node"].is_string())
            request["to"] = (*doc)["node"];
        wait = hub_peers::answer_wait;
    }
    auto got = std::make_shared<std::promise<std::optional<json>>>();
    auto reply = got->get_future();
    std::expected<void, std::string> sent;
    {
        std::lock_guard lock(mu_);
        sent = peers_->request("w-answer", std::move(request), wait,
                               [got](std::optional<json> r, effects&) { got->set_value(std::move(r)); });
    }
    if (!sent)
        return error(worker_outcome::invalid,
                     "the answer cannot be passed to the litemcp server that owns call '" + call_id + "': " + sent.error());
    const auto unknown = error(worker_outcome::unknown_call,
                               "call '" + call_id + "' is not open on worker '" + name +
                                   "' on any server (it never existed, or it was answered, failed or cancelled)");
    if (reply.wait_for(wait + std::chrono::seconds(1)) != std::future_status::ready) return unknown;
    auto r = reply.get();
    if (!r || !r->is_object() || !(*r)["o"].is_number_integer()) return unknown;
    const auto o = (*r)["o"].get<int>();
    if (o < 0 || o > static_cast<int>(worker_outcome::internal)) return unknown;
    return {static_cast<worker_outcome>(o), (*r)["b"]};
}

}  // namespace litemcp::server
