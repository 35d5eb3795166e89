#include "server/sessions/session_counts.h"

#include <functional>
#include <vector>

#include <spdlog/spdlog.h>

#include "server/json/json_text.h"
#include "server/util/ids.h"

namespace litemcp::server {

namespace {
constexpr std::string_view record_prefix = "session/";
constexpr std::string_view counts_prefix = "count/sessions/";
constexpr std::string_view base_key = "count/sessions/base";
constexpr std::string_view changes_prefix = "count/sessions/s/";

std::uint64_t wall_ms() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

std::uint64_t non_negative(std::int64_t n) { return n > 0 ? static_cast<std::uint64_t>(n) : 0; }

struct stored_tally {
    std::uint64_t epoch = 0, at = 0;
    std::int64_t n = 0;
    std::map<std::string, std::int64_t> by;
};

std::string encode(std::uint64_t epoch, std::int64_t n, const std::map<std::string, std::int64_t>& by) {
    return to_json(json{{"epoch", epoch}, {"n", n}, {"by", by}, {"at", wall_ms()}});
}

std::optional<stored_tally> decode(const std::string& text) {
    auto j = parse_json(text).value_or(json());
    if (!j.is_object() || !j.contains("n") || !j["n"].is_number_integer()) return std::nullopt;
    stored_tally t;
    t.epoch = j.value("epoch", std::uint64_t{0});
    t.at = j.value("at", std::uint64_t{0});
    t.n = j["n"].get<std::int64_t>();
    if (auto by = j.find("by"); by != j.end() && by->is_object())
        for (auto& [p, k] : by->items())
            if (k.is_number_integer()) t.by[p] = k.get<std::int64_t>();
    return t;
}

}  // namespace

void session_counts::tally::add(const tally& o) {
    n += o.n;
    for (auto& [p, k] : o.by)
        if ((by[p] += k) == 0) by.erase(p);
}

std::int64_t session_counts::tally::of(const std::string& principal) const {
    auto it = by.find(principal);
    return it == by.end() ? 0 : it->second;
}

session_counts::session_counts(store::store& st, std::chrono::milliseconds recount_every)
    : st_(st),
      shared_(st.shared()),
      recount_every_(recount_every),
      key_(std::string(changes_prefix) + random_id().substr(0, 16)) {}

std::optional<session_counts::tally> session_counts::count_records() const {
    tally counted;
    std::string after;
    for (;;) {
        auto page = st_.kv_scan(record_prefix, after, 10'000);
        if (!page) {
            spdlog::warn("sessions: cannot count the session records: {}", page.error().message);
            return std::nullopt;
        }
        if (page->empty()) return counted;
        for (auto& [key, value] : *page) {
            ++counted.n;
            if (value.find("\"principal\"") == std::string::npos) continue;
            auto j = parse_json(value).value_or(json());
            if (j.is_object() && j.value("principal", "") != "") counted.by[j["principal"].get<std::string>()]++;
        }
        after = page->back().first;
    }
}

void session_counts::start() {
    if (shared_) return refresh();
    auto counted = count_records();
    std::lock_guard lock(mu_);
    base_ = counted.value_or(tally{});
}

std::optional<session_counts::refusal> session_counts::admit(const std::string& principal, std::uint64_t max,
                                                              std::uint64_t max_per) {
    {
        std::lock_guard lock(mu_);
        if (total_locked() >= max)
            return refusal{false, "the session limit (" + std::to_string(max) + ") is reached"};
        if (!principal.empty()) {
            const auto has = non_negative(base_.of(principal) + mine_.of(principal) + others_.of(principal));
            if (max_per && has >= max_per)
                return refusal{true, "'" + principal + "' has " + std::to_string(has) +
                                         " sessions open, the limit per principal; end one (DELETE) first"};
            if (++mine_.by[principal] == 0) mine_.by.erase(principal);
        }
        ++mine_.n;
        dirty_ = true;
    }
    write_mine();
    return std::nullopt;
}

void session_counts::ended(const std::string& principal) {
    {
        std::lock_guard lock(mu_);
        --mine_.n;
        if (!principal.empty() && --mine_.by[principal] == 0) mine_.by.erase(principal);
        dirty_ = true;
    }
    write_mine();
}

void session_counts::write_mine() {
    if (!shared_) return;
    std::unique_lock writing(write_mu_, std::try_to_lock);
    if (!writing.owns_lock()) return;  // the thread writing picks this change up, or the next refresh()
    for (int round = 0; round < 8; ++round) {
        std::string text;
        {
            std::lock_guard lock(mu_);
            if (!dirty_) return;
            dirty_ = false;
            text = encode(epoch_, mine_.n, mine_.by);
        }
        // Only this server writes this key: a plain put, repeated whole.
        if (auto r = st_.kv_put(key_, text); !r) {
            std::lock_guard lock(mu_);
            dirty_ = true;  // the next refresh() tries again
            spdlog::warn("sessions: cannot write this server's session count changes: {}", r.error().message);
            return;
        }
    }
}

bool session_counts::recount(const std::optional<std::string>& base_text, std::uint64_t epoch) {
    auto counted = count_records();
    if (!counted) return false;
    const std::uint64_t next = epoch + 1;
    const auto text = encode(next, counted->n, counted->by);
    auto stored = base_text ? st_.kv_swap(base_key, *base_text, text) : st_.kv_create(base_key, text);
    if (!stored) {
        spdlog::warn("sessions: cannot store the session count: {}", stored.error().message);
        return false;
    }
    if (!*stored) return false;  // another server recounted first
    spdlog::debug("sessions: {} on record, counted again (epoch {})", counted->n, next);
    std::lock_guard lock(mu_);
    base_ = std::move(*counted);
    epoch_ = next;
    mine_ = {};
    others_ = {};
    dirty_ = true;  // an empty record of changes under the new epoch
    return true;
}

void session_counts::refresh() {
    if (!shared_) return;
    write_mine();
    auto entries = st_.kv_scan(counts_prefix, "", 100'000);
    if (!entries) {
        spdlog::warn("sessions: cannot read the session counts: {}", entries.error().message);
        return;
    }
    std::optional<std::string> base_text;
    stored_tally base;
    std::vector<std::pair<std::string, stored_tally>> changes;
    for (auto& [key, value] : *entries) {
        auto t = decode(value);
        if (!t) continue;
        if (key == base_key) {
            base_text = value;
            base = std::move(*t);
        } else if (key.starts_with(changes_prefix) && key != key_) {
            changes.emplace_back(key, std::move(*t));
        }
    }
    // Each server waits a few seconds more than the others, in an order of
    // its own, so usually one of them counts.
    const std::uint64_t jitter = std::hash<std::string>{}(key_) % 5000;
    const std::uint64_t every = static_cast<std::uint64_t>(recount_every_.count());
    if ((!base_text || wall_ms() >= base.at + every + jitter) && recount(base_text, base.epoch)) {
        // Changes two epochs old are of servers that stopped (a running one
        // rewrites its own at its next change): removed.
        for (auto& [key, t] : changes)
            if (t.epoch < base.epoch) (void)st_.kv_delete(key);
        write_mine();
        return;
    }
    if (!base_text) return;  // no count yet: the next refresh() tries again
    tally others;
    for (auto& [key, t] : changes)
        if (t.epoch == base.epoch) others.add(tally{t.n, std::move(t.by)});
    {
        std::lock_guard lock(mu_);
        if (base.epoch != epoch_) {
            // A new count: this server's changes so far are in it (those made
            // while it read past them are not, until the next count).
            mine_ = {};
            epoch_ = base.epoch;
            dirty_ = true;
        }
        base_ = tally{base.n, std::move(base.by)};
        others_ = std::move(others);
    }
    write_mine();
}

std::uint64_t session_counts::total_locked() const { return non_negative(base_.n + mine_.n + others_.n); }

std::uint64_t session_counts::total() const {
    std::lock_guard lock(mu_);
    return total_locked();
}

std::uint64_t session_counts::of(const std::string& principal) const {
    std::lock_guard lock(mu_);
    return non_negative(base_.of(principal) + mine_.of(principal) + others_.of(principal));
}

}  // namespace litemcp::server
