#include "server/sessions/session_counts.h"

#include <functional>
#include <limits>
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

using tally = session_counts::tally;

json tally_json(const tally& t) { return json{{"n", t.n}, {"by", t.by}}; }

std::optional<tally> tally_of(const json& j) {
    if (!j.is_object() || !j.contains("n") || !j["n"].is_number_integer()) return std::nullopt;
    tally t;
    t.n = j["n"].get<std::int64_t>();
    if (auto by = j.find("by"); by != j.end() && by->is_object())
        for (auto& [p, k] : by->items())
            if (k.is_number_integer()) t.by[p] = k.get<std::int64_t>();
    return t;
}

// A record of counts: a server's changes, or the base (with `from`).
struct stored_counts {
    std::uint64_t epoch = 0, at = 0;
    tally counts;
    std::map<std::string, tally> from;  // the base's: each server's changes it counted
};

std::string encode(std::uint64_t epoch, const tally& t, const std::map<std::string, tally>* from = nullptr) {
    json j = tally_json(t);
    j["epoch"] = epoch;
    j["at"] = wall_ms();
    if (from) {
        json f = json::object();
        for (auto& [server, changes] : *from) f[server] = tally_json(changes);
        j["from"] = std::move(f);
    }
    return to_json(j);
}

std::optional<stored_counts> decode(const std::string& text) {
    auto j = parse_json(text).value_or(json());
    auto counts = tally_of(j);
    if (!counts) return std::nullopt;
    stored_counts c;
    c.counts = std::move(*counts);
    c.epoch = j.value("epoch", std::uint64_t{0});
    c.at = j.value("at", std::uint64_t{0});
    if (auto f = j.find("from"); f != j.end() && f->is_object())
        for (auto& [server, changes] : f->items())
            if (auto t = tally_of(changes)) c.from[server] = std::move(*t);
    return c;
}

}  // namespace

void session_counts::tally::add(const tally& o, std::int64_t sign) {
    n += sign * o.n;
    for (auto& [p, k] : o.by)
        if ((by[p] += sign * k) == 0) by.erase(p);
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
    // A shared store reads every matching key at each scan (kv_space.h):
    // one pass then; the embedded store pages through its index.
    const std::size_t page_size = shared_ ? std::numeric_limits<std::size_t>::max() : 10'000;
    for (;;) {
        auto page = st_.kv_scan(record_prefix, after, page_size);
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
        if (page->size() < page_size) return counted;
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
    for (;;) {
        {
            std::unique_lock writing(write_mu_, std::try_to_lock);
            if (!writing.owns_lock()) return;  // the thread writing picks this change up (it looks again below)
            for (;;) {
                std::string text;
                {
                    std::lock_guard lock(mu_);
                    if (!dirty_) break;
                    dirty_ = false;
                    text = encode(epoch_, mine_);
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
        // A change made after the last look, by a thread that found the
        // write lock taken, is written now.
        std::lock_guard lock(mu_);
        if (!dirty_) return;
    }
}

bool session_counts::recount(const std::optional<std::string>& base_text, std::uint64_t epoch,
                             const std::map<std::string, tally>& from) {
    last_recount_ = std::chrono::steady_clock::now();
    auto counted = count_records();
    if (!counted) return false;
    const std::uint64_t next = epoch + 1;
    auto stored = base_text ? st_.kv_swap(base_key, *base_text, encode(next, *counted, &from))
                            : st_.kv_create(base_key, encode(next, *counted, &from));
    if (!stored) {
        spdlog::warn("sessions: cannot store the session count: {}", stored.error().message);
        return false;
    }
    if (!*stored) return false;  // another server counted first
    spdlog::debug("sessions: {} on record, counted again (epoch {})", counted->n, next);
    return true;  // the next read of the base takes it up
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
    std::optional<stored_counts> base;
    std::map<std::string, stored_counts> changes;  // every server's, this one's included
    for (auto& [key, value] : *entries) {
        if (key == base_key) {
            base_text = value;  // kept for the compare-and-set even if unreadable
            base = decode(value);
        } else if (key.starts_with(changes_prefix)) {
            if (auto c = decode(value)) changes.emplace(key, std::move(*c));
        }
    }
    const std::uint64_t epoch = base ? base->epoch : 0;
    // Due: the base is older than a period (each server waits a few seconds
    // more, in an order of its own, so usually one of them counts), and this
    // server has not tried within a period, whatever the base's clock says.
    const std::uint64_t every = static_cast<std::uint64_t>(recount_every_.count());
    const std::uint64_t jitter = std::hash<std::string>{}(key_) % 5000;
    const bool base_due = !base || wall_ms() >= base->at + every + jitter;
    const bool tried_lately = last_recount_ != std::chrono::steady_clock::time_point{} &&
                              std::chrono::steady_clock::now() - last_recount_ < recount_every_;
    if (base_due && !tried_lately) {
        // The changes as they are before the records are read are in the
        // count: each server takes them out of its own (below).
        std::map<std::string, tally> from;
        for (auto& [key, c] : changes)
            if (c.epoch == epoch) from[key] = c.counts;
        if (recount(base_text, epoch, from)) return refresh();  // read the new base
    }
    if (!base) return;  // no count yet: the next refresh() tries again
    // Stopped servers' changes two epochs old are dropped from the store.
    const std::uint64_t stale = 3 * every;
    tally others;
    for (auto& [key, c] : changes) {
        if (key == key_) continue;
        if (c.epoch == epoch) {
            others.add(c.counts);
        } else if (c.epoch + 1 == epoch) {  // not rebased yet: what the count holds of them comes out
            others.add(c.counts);
            if (auto f = base->from.find(key); f != base->from.end()) others.add(f->second, -1);
        } else if (c.epoch < epoch && c.at + stale < wall_ms()) {
            (void)st_.kv_delete(key);
        }
    }
    {
        std::lock_guard lock(mu_);
        if (epoch != epoch_) {
            // A new count, which holds this server's changes as the recount
            // read them: the changes made since stay.
            const auto f = base->from.find(key_);
            if (epoch == epoch_ + 1 && f != base->from.end())
                mine_.add(f->second, -1);
            else  // nothing of this server's was read, or it is more than one count behind
                mine_ = {};  // (cut off meanwhile): the records held it all
            epoch_ = epoch;
            dirty_ = true;
        }
        base_ = base->counts;
        others_ = std::move(others);
    }
    write_mine();
}

std::uint64_t session_counts::total_locked() const { return non_negative(base_.n + mine_.n + others_.n); }

std::uint64_t session_counts::total() const {
    std::lock_guard lock(mu_);
    return total_locked();
}

std::uint64_t session_counts::epoch() const {
    std::lock_guard lock(mu_);
    return epoch_;
}

std::uint64_t session_counts::of(const std::string& principal) const {
    std::lock_guard lock(mu_);
    return non_negative(base_.of(principal) + mine_.of(principal) + others_.of(principal));
}

}  // namespace litemcp::server
