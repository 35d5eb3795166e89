// Reclaiming: lite topics idle past their parent's TTL with no bound
// consumer, explicit topic removal, and deletion of segments that hold no
// live record. Runs on the appender thread. Expiry keys are ordered by
// deadline in the index, so a pass reads only what is due.
//
// A topic is only dropped once all its records are below the durable
// checkpoint: recovery re-indexes the log after the checkpoint, and must not
// bring back a topic that was dropped.
#include <spdlog/spdlog.h>

#include "store/store_impl.h"

namespace litemcp::store {
namespace {
std::string_view parent_of(std::string_view name) { return name.substr(0, name.find('/')); }
}  // namespace

result<void> embedded_store::impl::drop_topic(index::batch& b, const topic_meta& m) {
    auto r = index_->entries(m.id, m.retained_start, [&](std::uint64_t, offset_entry e) {
        const std::uint64_t seg = log_->segment_of(e.pos);
        segment_deltas_[seg] -= 1;
        segment_counts_[seg] -= 1;
        return true;
    });
    if (!r) return r;
    b.delete_topic(m);
    const auto parent = std::string(parent_of(m.name));
    parent_deltas_[parent] -= 1;
    parent_counts_[parent] -= 1;
    topics_.erase(m.name);
    return {};
}

result<std::size_t> embedded_store::impl::reclaim_pass() {
    const std::uint64_t now = now_ms();
    auto due = index_->due(now, opts_.reclaim_batch);
    if (!due) return std::unexpected(due.error());
    index::batch refile, drop;
    std::size_t dropped = 0;
    std::vector<std::string> dropped_names;
    const std::uint64_t durable = durable_checkpoint_.load();
    for (auto [deadline, id] : *due) {
        auto meta = index_->meta(id);
        if (!meta) return std::unexpected(meta.error());
        if (!*meta || (*meta)->expiry_key_ms != deadline) {
            refile.delete_expiry(deadline, id);  // the topic is gone or filed anew
            continue;
        }
        topic_meta m = std::move(**meta);
        const auto policy = policy_of(parent_of(m.name)).value_or(topic_policy{});
        const auto ttl = static_cast<std::uint64_t>(policy.idle_ttl.count());
        const std::uint64_t actual = m.last_write_ms + ttl;
        std::uint64_t again = 0;
        if (actual > now) again = actual;
        else if (ready_.has_bindings(m.name)) again = now + std::max<std::uint64_t>(10, ttl / 4);
        else if (m.last_pos >= durable) again = now + static_cast<std::uint64_t>(opts_.checkpoint_interval.count());
        if (again) {
            refile.delete_expiry(deadline, id);
            refile.put_expiry(again, id);
            m.expiry_key_ms = again;
            refile.put_meta(m);
            if (topics_.find(m.name)) topics_.insert(m);
            continue;
        }
        if (auto r = drop_topic(drop, m); !r) return std::unexpected(r.error());
        ++dropped;
        if (opts_.on_reclaimed) dropped_names.push_back(m.name);
    }
    if (!refile.empty()) {
        if (auto r = index_->commit(refile, index::wal::off); !r) return std::unexpected(r.error());
    }
    if (!drop.empty()) {
        flush_counts(drop);
        if (auto r = index_->commit(drop, index::wal::on); !r) return std::unexpected(r.error());
        reclaimed_ += dropped;
        spdlog::debug("store: reclaimed {} idle lite topics", dropped);
        for (auto& name : dropped_names) opts_.on_reclaimed(name);
    }
    delete_dead_segments();
    return dropped;
}

result<void> embedded_store::impl::remove_topic_now(std::string_view name) {
    auto loaded = load_topic(name);
    if (!loaded) return std::unexpected(loaded.error());
    if (!*loaded) return make_error(errc::not_found, "no lite topic '" + std::string(name) + "'");
    topic_meta m = **loaded;
    if (m.last_pos >= durable_checkpoint_.load()) {
        if (auto r = checkpoint_now(); !r) return r;
    }
    index::batch b;
    if (auto r = drop_topic(b, m); !r) return r;
    flush_counts(b);
    if (auto r = index_->commit(b, index::wal::on); !r) return r;
    return {};
}

void embedded_store::impl::delete_dead_segments() {
    const std::uint64_t durable = durable_checkpoint_.load();
    auto segs = log_->segments();
    if (segs.size() < 2) return;
    segs.pop_back();  // the active segment stays
    index::batch b;
    std::vector<std::uint64_t> doomed;
    for (auto& s : segs) {
        if (s.base + s.bytes > durable) break;
        auto it = segment_counts_.find(s.base);
        if (it != segment_counts_.end() && it->second > 0) continue;
        b.delete_segment_count(s.base);
        doomed.push_back(s.base);
    }
    if (doomed.empty()) return;
    if (auto r = index_->commit(b, index::wal::on); !r) {
        spdlog::error("store: could not record segment deletion: {}", r.error().message);
        return;
    }
    for (auto base : doomed) {
        segment_counts_.erase(base);
        if (auto r = log_->remove_segment(base); !r) {
            spdlog::error("store: could not delete segment {}: {}", base, r.error().message);
            continue;
        }
        ++deleted_segments_;
    }
}

}  // namespace litemcp::store
