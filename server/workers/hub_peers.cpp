#include "server/workers/hub_peers.h"

#include <future>

#include "server/json/json_text.h"
#include "server/util/ids.h"

namespace litemcp::server {

hub_peers::hub_peers(parts p) : p_(std::move(p)), node_(random_id().substr(0, 16)) {}

void hub_peers::send(std::string_view channel, const json& payload) {
    if (p_.st.shared()) (void)p_.st.signal(channel, to_json(payload));  // (logged by the store)
}

std::expected<void, std::string> hub_peers::request(std::string_view channel, json payload,
                                                    std::chrono::milliseconds wait, reply_fn done,
                                                    message_fn on_message) {
    if (!p_.st.shared()) return std::unexpected("no other litemcp server shares the store");
    const auto q = next_q_++;
    payload["n"] = node_;
    payload["q"] = q;
    const auto text = to_json(payload);
    if (auto sent = p_.st.signal(channel, text); !sent)
        return std::unexpected("it could not be passed to the other litemcp server (" + std::to_string(text.size()) +
                               " bytes): " + sent.error().message);
    const auto to = payload.contains("to") && payload["to"].is_string() ? payload["to"].get<std::string>() : "";
    waiting_[q] = pending{to, std::move(done), std::move(on_message)};
    p_.schedule(clock::now() + wait, q);
    return {};
}

void hub_peers::reply(const json& request, json answer) {
    if (!p_.st.shared() || !request.contains("n") || !request.contains("q")) return;
    const auto text = to_json(json{{"to", request["n"]}, {"q", request["q"]}, {"r", std::move(answer)}});
    auto sent = p_.st.signal("w-reply", text);
    if (sent || sent.error().code != store::errc::record_too_large) return;  // (lost otherwise: the wait ends it)
    json error{{"code", rpc_code::internal_error},
               {"message", "the answer could not be passed between litemcp servers (" + std::to_string(text.size()) +
                               " bytes): " + sent.error().message}};
    (void)p_.st.signal("w-reply", to_json(json{{"to", request["n"]}, {"q", request["q"]}, {"r", {{"error", error}}}}));
}

void hub_peers::emit(const json& request, json message) {
    if (!p_.st.shared() || !request.contains("n") || !request.contains("q")) return;
    // A progress or log message that cannot go out is dropped (and logged),
    // as one for a slow stream would be.
    (void)p_.st.signal("w-emit", to_json(json{{"to", request["n"]}, {"q", request["q"]}, {"m", std::move(message)}}));
}

void hub_peers::replied(const json& msg, effects& fx) {
    auto q = msg.find("q");
    if (q == msg.end() || !q->is_number_unsigned()) return;
    auto it = waiting_.find(q->get<std::uint64_t>());
    if (it == waiting_.end()) return;  // too late: it expired
    auto done = std::move(it->second.done);
    waiting_.erase(it);
    auto r = msg.find("r");
    done(r == msg.end() ? std::nullopt : std::optional<json>(*r), fx);
}

void hub_peers::emitted(const json& msg, effects& fx) {
    auto q = msg.find("q");
    auto m = msg.find("m");
    if (q == msg.end() || !q->is_number_unsigned() || m == msg.end()) return;
    auto it = waiting_.find(q->get<std::uint64_t>());
    if (it == waiting_.end() || !it->second.on_message) return;
    it->second.on_message(*m, fx);
}

void hub_peers::expired(std::uint64_t q, effects& fx) {
    auto it = waiting_.find(q);
    if (it == waiting_.end()) return;  // replied in time
    auto done = std::move(it->second.done);
    waiting_.erase(it);
    done(std::nullopt, fx);
}

void hub_peers::abandon(const std::set<std::string>& nodes, effects& fx) {
    std::vector<reply_fn> ended;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (!it->second.to.empty() && nodes.contains(it->second.to)) {
            ended.push_back(std::move(it->second.done));
            it = waiting_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& done : ended) done(std::nullopt, fx);
}

bool hub_peers::knows(const std::string& node) const {
    if (node == node_) return true;
    auto it = heard_.find(node);
    return it != heard_.end() && clock::now() - it->second <= beat_expiry;
}

std::set<std::string> hub_peers::silent() {
    std::set<std::string> out;
    const auto now = clock::now();
    for (auto it = heard_.begin(); it != heard_.end();) {
        if (now - it->second > beat_expiry) {
            out.insert(it->first);
            it = heard_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

void hub_peers::probe(const std::string& node, std::chrono::milliseconds wait, std::function<void(bool)> done) const {
    if (node == node_) return done(true);
    if (!p_.st.shared()) return done(false);
    p_.st.ask("w-node", node, wait, [done = std::move(done)](std::optional<std::string> a) { done(a.has_value()); });
}

bool hub_peers::alive(const std::string& node, std::chrono::milliseconds wait) const {
    if (node == node_) return true;
    if (!p_.st.shared()) return false;
    auto answered = std::make_shared<std::promise<bool>>();
    auto result = answered->get_future();
    p_.st.ask("w-node", node, wait, [answered](std::optional<std::string> a) { answered->set_value(a.has_value()); });
    return result.get();
}

}  // namespace litemcp::server
