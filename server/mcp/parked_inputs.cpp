#include "server/mcp/parked_inputs.h"

#include "server/json/json_text.h"
#include "server/mcp/input_rounds.h"
#include "server/util/ids.h"

namespace litemcp::server {

namespace {

std::string seconds(std::chrono::milliseconds ms) { return std::to_string(ms.count() / 1000) + " s"; }

}  // namespace

// The stand-in a 2026-07-28 call's worker call reports to between rounds:
// messages are dropped (nobody listens), the answer is kept for the next
// round.
class parked_inputs::holding_channel : public reply_channel {
public:
    holding_channel(parked_inputs& owner, const reply_channel& from, call_origin origin)
        : owner_(owner),
          version_(from.version()),
          principal_(from.principal()),
          capabilities_(from.capabilities()),
          origin_(std::move(origin)) {}

    const std::string& version() const override { return version_; }
    const json& capabilities() const override { return capabilities_; }
    const std::string& principal() const override { return principal_; }
    era rules() const override { return era::stateless; }
    call_origin origin() const override { return origin_; }
    bool wants_log(log_level) const override { return false; }

    void open(const std::shared_ptr<call>&) override {}
    void emit(const std::shared_ptr<call>&, const json&) override {}
    rpc_result request(const std::shared_ptr<call>&, std::string, json, std::chrono::milliseconds) override {
        return fail(rpc_code::internal_error, "the client is between rounds");
    }
    input_outcome ask(const std::shared_ptr<call>&, std::vector<input_request>) override {
        return fail(rpc_code::internal_error, "the client is between rounds");
    }
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override {
        owner_.held_finished(c.get(), std::move(outcome));
    }
    // Once its round is over, nobody waits on the stand-in.
    bool ended() const override { return ended_; }
    void end() { ended_ = true; }

private:
    parked_inputs& owner_;
    std::atomic<bool> ended_{false};
    std::string version_, principal_;
    json capabilities_;
    call_origin origin_;
};

// The stand-in for a client's round relayed by another server (serve()):
// messages and the outcome go back there; what the worker call reports after
// that goes to `later` (a task's), or nowhere.
class parked_inputs::relay_channel : public reply_channel {
public:
    using later_fn = std::function<void(const std::shared_ptr<call>&, call_outcome)>;
    relay_channel(const json& round, call_origin origin, std::function<void(json)> emit, std::function<void(json)> finish,
                  later_fn later)
        : version_(round.value("version", "")),
          principal_(round.value("principal", "")),
          capabilities_(round.contains("capabilities") ? round["capabilities"] : json::object()),
          origin_(std::move(origin)),
          emit_(std::move(emit)),
          finish_(std::move(finish)),
          later_(std::move(later)) {}

    const std::string& version() const override { return version_; }
    const json& capabilities() const override { return capabilities_; }
    const std::string& principal() const override { return principal_; }
    era rules() const override { return era::stateless; }
    call_origin origin() const override { return origin_; }
    // The server the client waits on drops the log messages it does not want.
    bool wants_log(log_level) const override { return true; }

    void open(const std::shared_ptr<call>&) override {}
    void emit(const std::shared_ptr<call>&, const json& msg) override {
        if (!done_) emit_(msg);
    }
    rpc_result request(const std::shared_ptr<call>&, std::string, json, std::chrono::milliseconds) override {
        return fail(rpc_code::internal_error, "the client answers in rounds");
    }
    input_outcome ask(const std::shared_ptr<call>&, std::vector<input_request>) override {
        return fail(rpc_code::internal_error, "the client answers in rounds");
    }
    void finish(const std::shared_ptr<call>& c, call_outcome outcome) override {
        if (done_.exchange(true)) {
            if (later_) later_(c, std::move(outcome));
            return;
        }
        json out = json::object();
        if (!outcome) out["cancelled"] = true;
        else if (*outcome) out["response"] = json{{"result", std::move(**outcome)}};
        else {
            json e{{"code", outcome->error().code}, {"message", outcome->error().message}};
            if (outcome->error().data) e["data"] = *outcome->error().data;
            out["response"] = json{{"error", std::move(e)}};
        }
        if (!c->answers.empty()) out["answers"] = c->answers;
        if (!c->input_requests.empty()) out["inputRequests"] = c->input_requests;
        finish_(std::move(out));
    }
    // A task's stays open: the task's answer may still come (later).
    bool ended() const override { return done_ && !later_; }

private:
    std::string version_, principal_;
    json capabilities_;
    call_origin origin_;
    std::function<void(json)> emit_, finish_;
    later_fn later_;
    std::atomic<bool> done_{false};
};

rpc_result parked_inputs::asking(call& c, const std::string& token, const std::string& key, const std::string& method,
                                 const json& params) const {
    c.answers = json{{std::string(answers_key), token}};
    if (p_.workers.shared_store()) c.answers[std::string(server_key)] = p_.workers.node();
    c.input_requests = json{{key, {{"method", method}, {"params", params}}}};
    return fail(rpc_code::input_pending, "the client's input is needed");
}

void parked_inputs::refuse(const std::function<void(json)>& done, int code, std::string message) {
    done(json{{"error", {{"code", code}, {"message", std::move(message)}}}});
}

void parked_inputs::refuse_all(round& r, const std::string& message) {
    if (r.asked.done) refuse(r.asked.done, rpc_code::internal_error, message);
    for (auto& a : r.later) refuse(a.done, rpc_code::internal_error, message);
    r.asked.done = nullptr;
    r.later.clear();
}

parked_inputs::round* parked_inputs::round_of(const call* c) {
    auto j = by_call_.find(c);
    if (j == by_call_.end()) return nullptr;
    auto held = j->second.c.lock();
    if (held.get() != c) {  // that call is gone: the address is another's now
        by_call_.erase(j);
        return nullptr;
    }
    auto it = rounds_.find(j->second.token);
    return it == rounds_.end() ? nullptr : &it->second;
}

std::optional<parked_inputs::round> parked_inputs::take(std::string token) {
    auto it = rounds_.find(token);
    if (it == rounds_.end()) return std::nullopt;
    round r = std::move(it->second);
    rounds_.erase(it);
    for (const auto* c : r.calls)
        if (auto j = by_call_.find(c); j != by_call_.end() && j->second.token == token) by_call_.erase(j);
    if (r.holder) static_cast<holding_channel&>(*r.holder->channel).end();
    return r;
}

void parked_inputs::arm(const std::string& token) {
    p_.timers.at(timer_queue::clock::now() + p_.wait, [this, token] { expire(token); });
}

void parked_inputs::park(const call_ticket& t, std::string method, json params, std::function<void(json)> done) {
    auto live = t.live;
    if (!live || live->channel->ended()) return refuse(done, rpc_code::internal_error, "nobody waits for this call any more");
    if (auto cap = capability_for(method); cap && !live->channel->capabilities().contains(*cap))
        return refuse(done, rpc_code::missing_capability,
                      "Missing client capability: the calling client did not declare " + *cap + ", which " + method +
                          " needs");
    auto opened = open(live, t.origin, t.request_id, ask{std::move(method), std::move(params), std::move(done)}, {});
    if (opened) live->channel->finish(live, std::move(*opened));
}

std::optional<rpc_result> parked_inputs::open(const std::shared_ptr<call>& live, const call_origin& from,
                                              const json& request_id, ask first, std::vector<ask> later) {
    const bool task = live->channel->origin().of == call_origin::kind::task;
    const std::string token = random_id();
    const std::string key = first.method + "@" + token.substr(0, 8);
    const std::string method = first.method;
    const json params = first.params;
    // A task's worker call stays filed under the task and reports to this
    // call; a 2026-07-28 call's is filed under the round and reports to a
    // stand-in until the next round.
    const call_origin filed = task ? from : call_origin{call_origin::kind::direct, "input-" + token, {}};
    const json filed_id = task ? request_id : json(token);
    std::shared_ptr<call> reports_to = live;
    {
        std::unique_lock lock(mu_);
        if (auto* waiting = round_of(live.get())) {
            // A request made while another of this call's waits: asked next.
            waiting->later.push_back(std::move(first));
            for (auto& a : later) waiting->later.push_back(std::move(a));
            return std::nullopt;
        }
        round r;
        r.token = token;
        r.key = key;
        r.principal = live->channel->principal();
        r.task = task;
        r.origin = filed;
        r.request_id = filed_id;
        r.asked = std::move(first);
        r.later = std::move(later);
        if (stopped_ || rounds_.size() >= p_.max) {
            lock.unlock();
            refuse_all(r, stopped_ ? std::string("litemcp is stopping")
                                   : "litemcp already holds " + std::to_string(p_.max) +
                                         " requests of tool servers waiting for clients' next rounds");
            return std::nullopt;
        }
        r.calls = {live.get()};
        by_call_[live.get()] = {token, live};
        if (!task) {
            auto holder = std::make_shared<call>();
            holder->id = token;
            holder->id_key = to_json(holder->id);
            holder->method = live->method;
            holder->channel = std::make_shared<holding_channel>(*this, *live->channel, filed);
            holder->deferred = true;
            r.calls.push_back(holder.get());
            by_call_[holder.get()] = {token, holder};
            reports_to = holder;
            r.holder = std::move(holder);
        }
        rounds_.emplace(token, std::move(r));
    }
    if (!p_.workers.adopt(from, request_id, filed, filed_id, reports_to)) {
        std::optional<round> ended;
        {
            std::lock_guard lock(mu_);
            ended = take(token);
        }
        if (ended) refuse_all(*ended, "the call ended");
        return std::nullopt;
    }
    arm(token);
    return asking(*live, token, key, method, params);
}

std::optional<rpc_result> parked_inputs::resume(const std::shared_ptr<call>& c, const call_origin& origin,
                                                const std::string& worker) {
    if (c->answers.empty()) return std::nullopt;  // every first round: no key to build
    const auto found = c->answers.find(std::string(answers_key));
    if (found == c->answers.end() || !found->is_string()) return std::nullopt;
    const std::string token = found->get<std::string>();
    std::unique_lock lock(mu_);
    auto it = rounds_.find(token);
    if (it == rounds_.end() || it->second.redirect) {
        lock.unlock();
        if (it == rounds_.end() && !worker.empty())
            if (auto relayed = relay(c, origin, worker)) return relayed;
        return gone(c, origin);
    }
    auto& r = it->second;
    if (r.principal != c->channel->principal())
        return fail(rpc_code::invalid_params, "requestState belongs to another principal");
    const auto given = c->answers.find(r.key);
    if (given == c->answers.end() || !given->is_object())  // the next round without the answer: asked again
        return asking(*c, token, r.key, r.asked.method, r.asked.params);
    json answer = *given;
    if (r.answered) {  // the tool server answered the call meanwhile
        auto ended = take(token);
        lock.unlock();
        refuse_all(*ended, "the call ended before the client's answer came");
        if (!*ended->answered) return fail(rpc_code::internal_error, "the tool server cancelled the call");
        return std::move(**ended->answered);
    }
    auto done = std::move(r.asked.done);
    if (!r.later.empty()) {
        // Another request of the call's waits: this round asks it, under a
        // new token; the worker call stays where it is filed.
        round next = std::move(r);
        rounds_.erase(it);
        const std::string fresh = random_id();
        next.token = fresh;
        next.asked = std::move(next.later.front());
        next.later.erase(next.later.begin());
        next.key = next.asked.method + "@" + fresh.substr(0, 8);
        for (const auto* k : next.calls)
            if (auto j = by_call_.find(k); j != by_call_.end() && j->second.token == token) j->second.token = fresh;
        const auto method = next.asked.method;
        const auto params = next.asked.params;
        const auto key = next.key;
        rounds_.emplace(fresh, std::move(next));
        lock.unlock();
        arm(fresh);
        done(json{{"result", std::move(answer)}});
        return asking(*c, fresh, key, method, params);
    }
    // From here the worker call reports to c. Should its answer be on the
    // way to the stand-in meanwhile, held_finished() passes it on.
    r.redirect = c;
    const auto from = r.origin;
    const auto id = r.request_id;
    const bool task = r.task;
    lock.unlock();
    c->deferred = true;
    const bool moved = p_.workers.adopt(from, id, origin, c->id, c).has_value();
    std::vector<ask> later;  // asked while the answer was on its way
    if (moved || task) {  // (a task's answer went to the task itself)
        std::optional<round> ended;
        {
            std::lock_guard relock(mu_);
            ended = take(token);
        }
        if (ended) later = std::move(ended->later);
    }
    if (!moved) {
        refuse(done, rpc_code::internal_error, "the call ended before the client's answer came");
        for (auto& a : later) refuse(a.done, rpc_code::internal_error, "the call ended");
        return json::object();  // ignored: the worker's answer completes c (or, for a task, completed it)
    }
    done(json{{"result", std::move(answer)}});
    if (!later.empty()) {  // the next round asks them
        auto first = std::move(later.front());
        later.erase(later.begin());
        if (auto opened = open(c, origin, c->id, std::move(first), std::move(later))) c->channel->finish(c, std::move(*opened));
    }
    return json::object();  // ignored: the worker's answer completes c
}

std::optional<rpc_result> parked_inputs::relay(const std::shared_ptr<call>& c, const call_origin& origin,
                                               const std::string& worker) {
    const auto on = c->answers.find(std::string(server_key));
    if (on == c->answers.end() || !on->is_string() || *on == p_.workers.node()) return std::nullopt;
    const auto& ch = *c->channel;
    json round{{"answers", c->answers},     {"id", c->id},
               {"method", c->method},       {"principal", ch.principal()},
               {"version", ch.version()},   {"capabilities", ch.capabilities()}};
    if (origin.of == call_origin::kind::task) round["task"] = origin.id;
    c->deferred = true;
    auto emit = [c](json m) {
        if (c->channel->ended()) return;
        if (m.value("method", "") == "notifications/message" && m.contains("params") && m["params"].is_object()) {
            auto level = parse_log_level(m["params"].value("level", ""));
            if (!level || !c->channel->wants_log(*level)) return;
        }
        c->channel->emit(c, m);
    };
    const bool task = origin.of == call_origin::kind::task;
    auto done = [c, task](std::optional<json> r) {
        // A task's call whose holder stopped is taken over by another
        // server, delivered again, and settles the task there.
        if ((!r || !r->is_object()) && task) return;
        if (!r || !r->is_object()) {
            c->channel->finish(c, fail(rpc_code::internal_error,
                                       "the litemcp server holding the tool server's request did not answer this "
                                       "round (it stopped, or the call timed out); call the tool again without "
                                       "requestState"));
            return;
        }
        if (r->value("cancelled", false)) return c->channel->finish(c, std::nullopt);
        if (auto a = r->find("answers"); a != r->end() && a->is_object()) c->answers = *a;
        if (auto q = r->find("inputRequests"); q != r->end() && q->is_object()) c->input_requests = *q;
        // An error in place of the reply (too large to pass) stands for it.
        c->channel->finish(c, outcome_of(r->contains("response") ? (*r)["response"] : *r));
    };
    auto sent = p_.workers.relay_round(worker, on->get<std::string>(), origin, c->id, std::move(round), emit, done);
    if (sent) return json::object();  // ignored: the other server's reply completes c
    if (task && sent.error().holder_gone) {
        // Its call is (or will be) another server's, delivered again: its
        // answer settles the task. Should it be this server's, c takes it.
        (void)p_.workers.adopt(origin, c->id, origin, c->id, c);
        return json::object();
    }
    c->deferred = false;
    if (task) return fail(rpc_code::internal_error, "the task's input cannot be passed to the litemcp server holding "
                                                    "its tool server's request: " + sent.error().why);
    return fail(rpc_code::invalid_params, "the tool server's request that this requestState answers cannot be reached (" +
                                              sent.error().why + "); call the tool again without requestState");
}

void parked_inputs::serve(json round, std::function<void(json)> emit, std::function<void(json)> finish,
                          std::function<void(const std::shared_ptr<call>&, call_outcome)> later) {
    auto c = std::make_shared<call>();
    c->id = round.contains("id") ? round["id"] : json();
    c->id_key = to_json(c->id);
    c->method = round.value("method", "tools/call");
    c->arrived.reset();  // not a request here
    if (round.contains("answers") && round["answers"].is_object()) c->answers = round["answers"];
    // A task's worker call is filed under the task on every server; a
    // 2026-07-28 call's, under this stand-in.
    const bool task = round.contains("task") && round["task"].is_string();
    const auto via = round.contains("via") && round["via"].is_string() ? round["via"].get<std::string>()
                                                                        : "relayed-" + random_id();
    const call_origin origin = task ? call_origin{call_origin::kind::task, round["task"].get<std::string>(), {}}
                                    : call_origin{call_origin::kind::direct, via, {}};
    c->channel = std::make_shared<relay_channel>(round, origin, std::move(emit), std::move(finish),
                                                 task ? std::move(later) : nullptr);
    auto r = resume(c, origin);  // not relayed again: the round names this server
    if (c->deferred) return;     // the worker call's answer finishes c
    c->channel->finish(c, r ? std::move(*r) : fail(rpc_code::invalid_params, "the requestState names no request of a tool server"));
}

std::optional<rpc_result> parked_inputs::gone(const std::shared_ptr<call>& c, const call_origin& origin) {
    if (origin.of == call_origin::kind::task) {
        // Asked before a restart: if the task's worker call is still open
        // (delivered again), it answers the task; else the call runs anew.
        c->deferred = true;
        if (p_.workers.adopt(origin, c->id, origin, c->id, c)) return json::object();
        c->deferred = false;
        c->answers.erase(std::string(answers_key));
        return std::nullopt;
    }
    return fail(rpc_code::invalid_params,
                "the tool server's request that this requestState answers is no longer waiting (it waits " +
                    seconds(p_.wait) + ", and not across a restart of litemcp); call the tool again without requestState");
}

void parked_inputs::held_finished(const call* holder, call_outcome outcome) {
    std::shared_ptr<call> to;
    std::optional<round> ended;
    {
        std::lock_guard lock(mu_);
        auto* r = round_of(holder);
        if (!r) return;  // expired: nobody waits
        if (!r->redirect) {
            r->answered = std::move(outcome);
            return;
        }
        to = r->redirect;
        ended = take(r->token);
    }
    refuse_all(*ended, "the call ended");
    to->channel->finish(to, std::move(outcome));
}

void parked_inputs::expire(const std::string& token) {
    std::optional<round> r;
    {
        std::lock_guard lock(mu_);
        // A round being resumed is the resuming call's to end.
        if (auto it = rounds_.find(token); it == rounds_.end() || it->second.redirect) return;
        r = take(token);
    }
    refuse_all(*r, "the client did not send its next round within " + seconds(p_.wait));
    if (!r->task && !r->answered) p_.workers.cancel(r->origin, r->request_id);
}

void parked_inputs::stop() {
    std::vector<round> all;
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
        while (!rounds_.empty()) all.push_back(std::move(*take(rounds_.begin()->first)));
        by_call_.clear();
    }
    for (auto& r : all) refuse_all(r, "litemcp is stopping");
}

}  // namespace litemcp::server
