// Recovery at open: re-index the commit log past the index's checkpoint and
// cut a torn or corrupt tail, so that the index points only at whole records.
#include <spdlog/spdlog.h>

#include "store/store_impl.h"

namespace litemcp::store {

result<void> embedded_store::impl::recover() {
    for (auto& [parent, count] : index_->parent_counts()) parent_counts_[parent] = count;
    segment_counts_ = index_->segment_counts();
    next_topic_id_ = index_->next_topic_id();

    std::uint64_t cp = index_->checkpoint();
    if (cp < log_->start()) cp = log_->start();
    if (cp > log_->end())
        return make_error(errc::corrupt, "index checkpoint " + std::to_string(cp) + " is past the end of the log (" +
                                             std::to_string(log_->end()) +
                                             "): log segments are missing from " + opts_.dir + "/log");

    string_map<topic_meta> staged;
    index::batch b;
    std::optional<error> failure;
    std::uint64_t skipped = 0;
    auto commit_staged = [&](std::uint64_t checkpoint) -> result<void> {
        for (auto& [name, m] : staged) b.put_meta(m);
        if (!staged.empty()) b.put_next_topic_id(next_topic_id_);
        flush_counts(b);
        b.put_checkpoint(checkpoint);
        auto r = index_->commit(b, index::wal::off);
        b.clear();
        // The cache must see what the index now holds, or the next append (or
        // the next recovery batch) would start from the checkpoint's state.
        if (r)
            for (auto& [name, m] : staged) topics_.insert(m);
        staged.clear();
        return r;
    };

    auto visit = [&](std::uint64_t pos, const record_view& rec) {
        if (failure) return;
        auto parent = parse_topic_name(rec.topic);
        if (!parent) {
            ++skipped;
            return;
        }
        // A record of a parent no longer configured is indexed under the
        // default policy: recovery never drops acknowledged data.
        const topic_policy policy = policy_of(*parent).value_or(topic_policy{});
        auto it = staged.find(rec.topic);
        if (it == staged.end()) {
            auto loaded = load_topic(rec.topic);
            if (!loaded) {
                failure = loaded.error();
                return;
            }
            topic_meta m;
            if (*loaded) {
                m = **loaded;
            } else {
                m.id = rec.topic_id;
                m.name = std::string(rec.topic);
                m.created_ms = rec.timestamp_ms;
                parent_counts_[std::string(*parent)] += 1;
                parent_deltas_[std::string(*parent)] += 1;
            }
            it = staged.emplace(std::string(rec.topic), std::move(m)).first;
        }
        topic_meta& m = it->second;
        next_topic_id_ = std::max(next_topic_id_, rec.topic_id + 1);
        if (m.id != rec.topic_id || rec.offset > m.next_offset) {
            // A record of an earlier incarnation of this name, or a gap: never
            // index it, offsets must stay dense.
            ++skipped;
            return;
        }
        if (rec.offset < m.next_offset) return;  // already in the index
        index_record(b, m, policy, rec.offset, pos, rec.length, rec.timestamp_ms);
        ++recovered_records_;
        if (b.empty() == false && recovered_records_ % 20000 == 0) {
            if (auto r = commit_staged(pos + rec.length); !r) failure = r.error();
        }
    };

    auto end = log_->scan(cp, static_cast<std::uint32_t>(opts_.segment_bytes), visit);
    if (!end) return std::unexpected(end.error());
    if (failure) return std::unexpected(*failure);
    if (auto r = commit_staged(*end); !r) return r;

    const std::uint64_t log_end = log_->end();
    if (*end < log_end) {
        truncated_bytes_ = log_end - *end;
        spdlog::warn("store: cutting {} bytes of torn or corrupt log tail at position {}", truncated_bytes_, *end);
        if (auto r = log_->truncate(*end); !r) return r;
    }
    if (skipped) spdlog::warn("store: recovery skipped {} records that no longer belong to a live topic", skipped);
    if (recovered_records_ || truncated_bytes_)
        spdlog::info("store: recovered {} records after checkpoint {}", recovered_records_, cp);
    indexed_end_ = *end;
    if (auto r = index_->flush(); !r) return r;
    durable_checkpoint_ = *end;
    cache_->reset(*end);
    return {};
}

}  // namespace litemcp::store
