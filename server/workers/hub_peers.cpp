#include "server/workers/hub_peers.h"

#include <future>

#include "server/json/json_text.h"
#include "server/util/ids.h"

namespace litemcp::server {

hub_peers::hub_peers(parts p) : p_(std::move(p)), node_(random_id().substr(0, 16)) {}

void hub_peers::send(std::string_view channel, const json& payload) {
    if (p_.st.shared()) p_.st.signal(channel, to_json(payload));
}

bool hub_peers::request(std::string_view channel, json payload, std::chrono::milliseconds wait, reply_fn done) {
    if (!p_.st.shared()) return false;
    const auto q = next_q_++;
    payload["n"] = node_;
    payload["q"] = q;
    waiting_[q] = std::move(done);
    p_.schedule(clock::now() + wait, q);
    p_.st.signal(channel, to_json(payload));
    return true;
}

void hub_peers::reply(const json& request, json answer) {
    if (!request.contains("n") || !request.contains("q")) return;
    send("w-reply", json{{"to", request["n"]}, {"q", request["q"]}, {"r", std::move(answer)}});
}

void hub_peers::replied(const json& msg, effects& fx) {
    auto q = msg.find("q");
    if (q == msg.end() || !q->is_number_unsigned()) return;
    auto it = waiting_.find(q->get<std::uint64_t>());
    if (it == waiting_.end()) return;  // too late: it expired
    auto done = std::move(it->second);
    waiting_.erase(it);
    auto r = msg.find("r");
    done(r == msg.end() ? std::nullopt : std::optional<json>(*r), fx);
}

void hub_peers::expired(std::uint64_t q, effects& fx) {
    auto it = waiting_.find(q);
    if (it == waiting_.end()) return;  // replied in time
    auto done = std::move(it->second);
    waiting_.erase(it);
    done(std::nullopt, fx);
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

bool hub_peers::alive(const std::string& node, std::chrono::milliseconds wait) const {
    if (node == node_) return true;
    if (!p_.st.shared()) return false;
    auto answered = std::make_shared<std::promise<bool>>();
    auto result = answered->get_future();
    p_.st.ask("w-node", node, wait, [answered](std::optional<std::string> a) { answered->set_value(a.has_value()); });
    return result.get();
}

}  // namespace litemcp::server
