#include "store/jetstream/idle_reclaimer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>
#include <nlohmann/json.hpp>

namespace litemcp::store::jetstream {

idle_reclaimer::idle_reclaimer(parts p, std::chrono::milliseconds interval) : p_(std::move(p)), interval_(interval) {}

idle_reclaimer::~idle_reclaimer() { stop(); }

void idle_reclaimer::start() {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "js-reclaim");
        std::unique_lock lock(mu_);
        while (!stopping_) {
            cv_.wait_for(lock, interval_);
            if (stopping_) break;
            lock.unlock();
            pass();
            lock.lock();
        }
    });
}

void idle_reclaimer::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void idle_reclaimer::removed(std::string_view topic) {
    const auto slash = topic.find('/');
    if (slash == std::string_view::npos) return;
    std::lock_guard lock(mu_);
    removed_[std::string(topic.substr(0, slash))][std::string(topic)] = std::chrono::steady_clock::now();
}

result<std::set<std::string>> idle_reclaimer::topics_of(const std::string& parent, int shard) const {
    const auto stream = p_.n.stream(parent, shard);
    const auto filter = p_.n.stream_subjects(parent, shard);
    std::set<std::string> out;
    // The server sends a page of subjects at a time (100,000 in 2.9) and
    // says how many there are in all.
    for (std::uint64_t offset = 0;;) {
        nlohmann::json ask{{"subjects_filter", filter}, {"offset", offset}};
        auto text = p_.link.api("$JS.API.STREAM.INFO." + stream, ask.dump());
        if (!text) return std::unexpected(text.error());
        auto doc = nlohmann::json::parse(*text, nullptr, false);
        if (!doc.is_object() || !doc.contains("state"))
            return make_error(errc::io_error, "listing the topics of " + stream + ": an unreadable answer");
        std::uint64_t page = 0;
        if (auto s = doc["state"].find("subjects"); s != doc["state"].end() && s->is_object())
            for (auto& [subject, count] : s->items()) {
                ++page;
                auto lite = decode_token(std::string_view(subject).substr(subject.rfind('.') + 1));
                if (lite) out.insert(parent + "/" + *lite);
            }
        const auto total = doc.value("total", std::uint64_t{0});
        offset += page;
        if (page == 0 || offset >= total) break;
    }
    return out;
}

std::vector<std::string> idle_reclaimer::unbound(std::vector<std::string> left) {
    std::erase_if(left, [&](const std::string& t) { return p_.bound_here(t); });
    if (left.empty()) return left;
    // Ask about all at once; every answer (or its absence) arrives within bound_wait.
    struct answers {
        std::mutex mu;
        std::condition_variable cv;
        std::size_t pending;
        std::set<std::string> bound;
    };
    auto a = std::make_shared<answers>();
    a->pending = left.size();
    for (auto& topic : left)
        p_.sig.ask(bound_question, topic, bound_wait, [a, topic](std::optional<std::string> answer) {
            std::lock_guard lock(a->mu);
            if (answer) a->bound.insert(topic);
            if (--a->pending == 0) a->cv.notify_all();
        });
    std::unique_lock lock(a->mu);
    a->cv.wait_for(lock, bound_wait * 4, [&] { return a->pending == 0; });
    if (a->pending != 0) return {};  // answers still missing: look again next pass
    std::erase_if(left, [&](const std::string& t) { return a->bound.contains(t); });
    return left;
}

std::size_t idle_reclaimer::pass(bool force) {
    std::lock_guard turn(pass_mu_);
    std::size_t reported = 0;
    for (auto& [parent, ttl] : p_.parents()) {
        const auto now = std::chrono::steady_clock::now();
        auto& due = due_[parent];
        if (!force && now < due) continue;
        due = now + std::max(interval_, std::chrono::duration_cast<std::chrono::milliseconds>(ttl / 10));
        std::vector<std::pair<std::string, std::string>> left;  // stream, topic
        bool listed = true;
        for (int shard = 0; shard < p_.n.shards(); ++shard) {
            const auto stream = p_.n.stream(parent, shard);
            auto topics = topics_of(parent, shard);
            if (!topics) {
                listed = false;
                if (topics.error().code != errc::not_found)
                    spdlog::warn("store: cannot list the topics of {}: {}", stream, topics.error().message);
                continue;
            }
            if (auto it = known_.find(stream); it != known_.end())
                for (auto& t : it->second)
                    if (!topics->contains(t)) left.emplace_back(stream, t);
            known_[stream] = std::move(*topics);
        }
        std::vector<std::string> idle;
        {
            std::lock_guard lock(mu_);
            auto& removed = removed_[parent];
            for (auto& [stream, t] : left)
                if (!removed.contains(t)) idle.push_back(t);
            // Removals before this listing began are in it: compared, done
            // (unless a stream could not be listed, and keeps its old list).
            if (listed) std::erase_if(removed, [&](const auto& r) { return r.second < now; });
        }
        auto gone = unbound(idle);
        // The bound ones (and any whose answer is missing) stay known, to be
        // looked at again next pass.
        const std::unordered_set<std::string> idle_set(idle.begin(), idle.end()), gone_set(gone.begin(), gone.end());
        for (auto& [stream, t] : left)
            if (idle_set.contains(t) && !gone_set.contains(t)) known_[stream].insert(t);
        for (auto& t : gone) {
            if (p_.on_reclaimed) p_.on_reclaimed(t);
            ++reported;
        }
    }
    reclaimed_ += reported;
    return reported;
}

}  // namespace litemcp::store::jetstream
