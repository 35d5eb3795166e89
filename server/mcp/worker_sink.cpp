#include "server/mcp/worker_sink.h"

#include <charconv>
#include <optional>

#include "server/json/json_text.h"
#include "server/mcp/task_channel.h"

namespace litemcp::server {

void worker_sink::notify(const call_ticket& t, json notification, std::optional<log_level> level) {
    if (!t.live) return;  // nobody waits
    auto& channel = *t.live->channel;
    if (channel.ended() || (level && !channel.wants_log(*level))) return;
    channel.emit(t.live, notification);
}

void worker_sink::finish(const call_ticket& t, std::optional<json> response) {
    if (!t.live) return;
    t.live->channel->finish(t.live, outcome_of(std::move(response)));
}

void worker_sink::ask(const call_ticket& t, std::string method, json params, std::function<void(json answer)> done) {
    auto refuse = [&done](int code, std::string message) {
        done(json{{"error", {{"code", code}, {"message", std::move(message)}}}});
    };
    if (!t.live || t.live->channel->ended()) return refuse(rpc_code::internal_error, "nobody waits for this call any more");
    if (!t.live->channel->session()) {
        if (!p_.parked) return refuse(rpc_code::internal_error, "the calling client answers input in rounds");
        return p_.parked->park(t, std::move(method), std::move(params), std::move(done));
    }
    auto live = t.live;
    const auto& principal = live->channel->principal();
    const std::string holder = principal.empty() ? "session " + live->channel->session()->id : "principal " + principal;
    std::optional<std::size_t> full;  // the client's count, when it has no room (answered outside the lock)
    {
        std::lock_guard lock(mu_);
        auto& n = asking_[holder];
        if (n >= p_.max_per_client) full = n;
        else ++n;
    }
    if (full)
        return refuse(rpc_code::internal_error, "the client already has " + std::to_string(*full) +
                                                    " requests of servers waiting for its answers; answer those first");
    // Gives the client's slot back once, however the request ends.
    struct slot {
        worker_sink* sink;
        std::string holder;
        ~slot() {
            std::lock_guard lock(sink->mu_);
            if (auto it = sink->asking_.find(holder); it != sink->asking_.end() && --it->second == 0)
                sink->asking_.erase(it);
        }
    };
    auto held = std::make_shared<slot>(this, holder);  // made in place: a copy's temporary would give the slot back
    const bool queued = p_.pool && p_.pool->post([live, method = std::move(method), params = std::move(params), done, held] {
        json answer;
        try {
            auto r = live->channel->request(live, method, params, std::chrono::minutes(10));
            if (r) {
                answer = json{{"result", std::move(*r)}};
            } else {
                json e{{"code", r.error().code}, {"message", r.error().message}};
                if (r.error().data) e["data"] = *r.error().data;
                answer = json{{"error", std::move(e)}};
            }
        } catch (const std::exception& e) {
            answer = json{{"error", {{"code", rpc_code::internal_error}, {"message", std::string("asking the client: ") + e.what()}}}};
        }
        done(std::move(answer));
    });
    if (queued) return;
    held.reset();
    refuse(rpc_code::internal_error, "litemcp is too busy to ask the client now");
}

void worker_sink::resume_round(json round, std::function<void(json message)> emit,
                               std::function<void(json outcome)> finish) {
    if (!p_.parked) return call_sink::resume_round(std::move(round), std::move(emit), std::move(finish));
    // What a task's worker call reports after the round's outcome went back
    // (its answer while the task waits for input) settles the task here.
    std::function<void(const std::shared_ptr<call>&, call_outcome)> later;
    if (round.contains("task") && round["task"].is_string() && p_.runner)
        if (auto owner = p_.tasks.find(round["task"].get<std::string>()))
            later = [channel = std::make_shared<task_channel>(p_.runner->channel_parts(), owner)](
                        const std::shared_ptr<call>& c, call_outcome outcome) { channel->finish(c, std::move(outcome)); };
    p_.parked->serve(std::move(round), std::move(emit), std::move(finish), std::move(later));
}

std::shared_ptr<call> worker_sink::restored(const call_ticket& t) {
    auto c = std::make_shared<call>();
    c->id = t.request_id;
    c->id_key = to_json(c->id);
    c->method = t.method;
    c->progress_token = t.progress_token;
    c->arrived.reset();  // arrived before the restart
    c->deferred = true;
    switch (t.origin.of) {
    case call_origin::kind::session: {
        // The request's stream is open again until the worker answers; a
        // client resuming it waits for that answer.
        auto s = p_.sessions.find(t.origin.id).value_or(nullptr);
        std::uint64_t stream = 0;
        const auto& tag = t.origin.stream;
        if (!s) return nullptr;  // the session ended or expired meanwhile
        if (auto [p, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), stream);
            ec != std::errc() || p != tag.data() + tag.size())
            return nullptr;
        auto channel = std::make_shared<session_channel>(p_.endpoint->channel_parts(), s, nullptr, false);
        channel->recorded_at(stream);
        {
            std::lock_guard lock(s->mu);
            s->live_streams.insert(stream);
        }
        c->channel = std::move(channel);
        return c;
    }
    case call_origin::kind::task: {
        // The task record names its worker: the answer settles the task.
        auto owner = p_.tasks.find(t.origin.id);
        if (!owner) return nullptr;
        c->channel = std::make_shared<task_channel>(p_.runner->channel_parts(), owner);
        return c;
    }
    case call_origin::kind::direct: break;
    }
    return nullptr;  // a 2026-07-28 request: its client went with the process
}

}  // namespace litemcp::server
