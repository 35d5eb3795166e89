// The appender: the one thread that writes the commit log and the topic
// metadata. It gathers every queued append into one batch (group commit).
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "store/store_impl.h"

namespace litemcp::store {

namespace {

// A topic past a retention bound is trimmed to 1/trim_step below it: a topic
// bounded at 10,000 records keeps 9,375 to 10,000.
constexpr std::uint64_t trim_step = 16;

// This thread is committing a batch (drain_held): a blocking append from
// one of the batch's callbacks would wait for itself.
thread_local bool committing = false;

}  // namespace

result<void> embedded_store::impl::check_append(std::string_view topic, std::string_view payload) const {
    auto parent = parse_topic_name(topic);
    if (!parent) return std::unexpected(parent.error());
    auto policy = policy_of(*parent);
    if (!policy) return make_error(errc::unknown_parent, "parent topic '" + std::string(*parent) + "' is not defined");
    if (payload.size() > policy->max_record_size)
        return make_error(errc::record_too_large, "record of " + std::to_string(payload.size()) +
                                                      " bytes exceeds max_record_size " +
                                                      std::to_string(policy->max_record_size) + " of " +
                                                      std::string(*parent));
    return {};
}

void embedded_store::impl::wait_for_room(std::unique_lock<std::mutex>& lock) {
    if (stopping_ || queue_.size() < opts_.max_pending_appends) return;
    // Full: the appender must run, even if the queue holds only deferred appends.
    wanted_ = true;
    q_cv_.notify_one();
    space_cv_.wait(lock, [&] { return stopping_ || queue_.size() < opts_.max_pending_appends; });
}

void embedded_store::impl::enqueue(std::span<pending> records, bool wake) {
    std::unique_lock lock(q_mu_);
    wait_for_room(lock);
    if (stopping_) {
        lock.unlock();
        // The last record carries the group's result (one record: its own).
        auto& last = records.back();
        auto err = make_error(errc::closed, "the store is closing");
        if (last.slot) last.slot->complete(err);
        else if (last.done) last.done(err);
        return;
    }
    for (auto& p : records) queue_.push_back(std::move(p));
    const bool notify = wake && !std::exchange(wanted_, true);
    lock.unlock();
    if (notify) q_cv_.notify_one();
}

result<append_ack> embedded_store::append(std::string_view topic, std::string_view payload, std::uint32_t flags) {
    if (auto r = impl_->check_append(topic, payload); !r) return std::unexpected(r.error());
    if (committing)
        return make_error(errc::invalid_argument,
                          "a blocking append from a commit's callback would wait for itself; post the work elsewhere");
    auto slot = std::make_shared<impl::sync_slot>();
    impl::pending p;
    p.ext_topic = topic;
    p.ext_payload = payload;
    p.flags = flags;
    p.slot = slot;
    impl_->enqueue({&p, 1}, false);
    impl_->commit_here_or_wake(*slot);
    return slot->wait();
}

void embedded_store::append_async(std::string_view topic, std::string_view payload, std::uint32_t flags,
                         append_callback done) {
    if (auto r = impl_->check_append(topic, payload); !r) {
        if (done) done(std::unexpected(r.error()));
        return;
    }
    impl::pending p;
    p.owned.reserve(topic.size() + payload.size());
    p.owned.append(topic).append(payload);
    p.topic_len = topic.size();
    p.is_owned = true;
    p.flags = flags;
    p.done = std::move(done);
    impl_->enqueue({&p, 1}, true);
}

void embedded_store::append_group_async(std::string_view topic, std::span<const record_spec> records, append_callback done) {
    append_group(topic, records, std::move(done), true);
}

void embedded_store::append_group_deferred(std::string_view topic, std::span<const record_spec> records,
                                  append_callback done) {
    append_group(topic, records, std::move(done), false);
}

void embedded_store::commit_queued() {
    while (impl_->drain(false)) {
    }
}

void embedded_store::append_group(std::string_view topic, std::span<const record_spec> records, append_callback done,
                         bool wake) {
    if (records.empty()) {
        if (done) done(make_error(errc::invalid_argument, "an append group needs at least one record"));
        return;
    }
    // One topic: checking its largest record checks them all.
    auto largest = std::max_element(records.begin(), records.end(),
                                    [](auto& a, auto& b) { return a.payload.size() < b.payload.size(); });
    if (auto ok = impl_->check_append(topic, largest->payload); !ok) {
        if (done) done(std::unexpected(ok.error()));
        return;
    }
    std::vector<impl::pending> group(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        auto& p = group[i];
        p.owned.reserve(topic.size() + records[i].payload.size());
        p.owned.append(topic).append(records[i].payload);
        p.topic_len = topic.size();
        p.is_owned = true;
        p.flags = records[i].flags;
        p.group_continues = i + 1 < records.size();
    }
    group.back().done = std::move(done);
    impl_->enqueue(group, wake);
}

void embedded_store::impl::run_appender() {
    // SCHED_BATCH: a woken appender does not preempt the thread that queued
    // the append. On a busy core the producers go on queueing until they
    // block, and the appender then commits all of it as one batch, instead of
    // one context switch per append.
    sched_param sp{};
    if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp) != 0)
        spdlog::debug("store: the appender runs without SCHED_BATCH");
    for (;;) {
        {
            // Woken for appends and jobs (wanted_), and every
            // deferred_commit_wait: deferred appends whose commit_queued()
            // is late are committed then.
            std::unique_lock lock(q_mu_);
            q_cv_.wait_for(lock, opts_.deferred_commit_wait, [&] { return stopping_ || wanted_; });
            wanted_ = false;
            if (queue_.empty() && jobs_.empty()) {
                if (stopping_) return;
                continue;
            }
        }
        while (drain(true)) {
        }
    }
}

void embedded_store::impl::commit_here_or_wake(sync_slot& mine) {
    // The caller would sleep until its record is committed: when no other
    // thread is committing, it commits the queue itself rather than waking
    // the appender and being woken back (two context switches an append),
    // up to its own record -- what came after it is the appender's (the
    // caller may hold locks of its own). Otherwise the appender is woken
    // for it: the committing thread may have taken its batch before this
    // record was queued.
    if (std::unique_lock commit_lock(commit_mu_, std::try_to_lock); commit_lock) {
        bool more = true;
        while (more && !mine.is_done()) more = drain_held(false);
        if (!more) return;
    }
    {
        std::lock_guard lock(q_mu_);
        if (std::exchange(wanted_, true)) return;
    }
    q_cv_.notify_one();
}

bool embedded_store::impl::drain(bool run_jobs) {
    std::lock_guard commit_lock(commit_mu_);
    return drain_held(run_jobs);
}

bool embedded_store::impl::drain_held(bool run_jobs) {
    committing = true;
    struct done_committing {
        ~done_committing() { committing = false; }
    } reset;
    auto& batch = drain_batch_;
    auto& jobs = drain_jobs_;
    bool more = false;
    {
        std::lock_guard lock(q_mu_);
        std::uint64_t bytes = 0;
        while (!queue_.empty() && (batch.empty() || bytes < opts_.max_batch_bytes || batch.back().group_continues)) {
            bytes += queue_.front().payload().size() + queue_.front().topic().size();
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        while (run_jobs && !jobs_.empty()) {
            jobs.push_back(std::move(jobs_.front()));
            jobs_.pop_front();
        }
        more = !queue_.empty();
    }
    space_cv_.notify_all();
    if (!batch.empty()) commit(batch);
    batch.clear();
    for (auto& job : jobs) job();
    jobs.clear();
    return more;
}

result<topic_meta*> embedded_store::impl::load_topic(std::string_view name) {
    if (auto* m = topics_.find(name)) return m;
    auto id = index_->topic_id(name);
    if (!id) return std::unexpected(id.error());
    if (!*id) return static_cast<topic_meta*>(nullptr);
    auto meta = index_->meta(**id);
    if (!meta) return std::unexpected(meta.error());
    if (!*meta) return make_error(errc::corrupt, "topic '" + std::string(name) + "' has a name but no metadata");
    return topics_.insert(std::move(**meta));
}

result<topic_meta*> embedded_store::impl::create_topic(std::string_view name, std::string_view parent, std::uint64_t id,
                                              std::uint64_t now) {
    auto policy = policy_of(parent);
    if (!policy) return make_error(errc::unknown_parent, "parent topic '" + std::string(parent) + "' is not defined");
    auto count = parent_counts_.find(parent);
    const std::int64_t have = count == parent_counts_.end() ? 0 : count->second;
    if (static_cast<std::uint64_t>(have) >= policy->max_lite_topics)
        return make_error(errc::topic_limit, "parent topic '" + std::string(parent) + "' already holds " +
                                                 std::to_string(have) + " lite topics (max_lite_topics)");
    topic_meta m;
    m.id = id;
    m.name = std::string(name);
    m.created_ms = now;
    if (count == parent_counts_.end()) parent_counts_.emplace(std::string(parent), 1);
    else ++count->second;
    parent_deltas_[std::string(parent)] += 1;
    next_topic_id_ = std::max(next_topic_id_, id + 1);
    return topics_.insert(std::move(m));
}

void embedded_store::impl::index_record(index::batch& b, topic_meta& m, const topic_policy& policy, std::uint64_t offset,
                               std::uint64_t pos, std::uint32_t size, std::uint64_t ts) {
    const std::uint64_t seg = log_->segment_of(pos);
    b.put_entry(m.id, offset, offset_entry{pos, size});
    batch_entries_[{m.id, offset}] = offset_entry{pos, size};
    segment_deltas_[seg] += 1;
    segment_counts_[seg] += 1;
    const bool is_new = m.next_offset == 0 && m.expiry_key_ms == 0;
    if (is_new) b.put_name(m.name, m.id);
    m.next_offset = offset + 1;
    m.retained_bytes += size;
    m.last_write_ms = ts;
    m.last_pos = pos;
    // Retention: trim the oldest records, always keeping the newest one. A
    // topic over a bound is trimmed below it by 1/trim_step of the bound, so
    // a full topic pays for one index scan (two iterators, about 70 us under
    // load) per 1/trim_step of its records rather than a lookup per append.
    // The same steps run in recovery, so the trimmed prefix is the same.
    auto over = [&](std::uint64_t records_max, std::uint64_t bytes_max) {
        return m.retained_start + 1 < m.next_offset &&
               (m.next_offset - m.retained_start > records_max || m.retained_bytes > bytes_max);
    };
    if (over(policy.max_records, policy.max_bytes)) {
        const std::uint64_t records_max = policy.max_records - policy.max_records / trim_step;
        const std::uint64_t bytes_max = policy.max_bytes - policy.max_bytes / trim_step;
        auto trim = [&](std::optional<offset_entry> e) {
            if (e) {
                const std::uint64_t s = log_->segment_of(e->pos);
                segment_deltas_[s] -= 1;
                segment_counts_[s] -= 1;
                m.retained_bytes -= std::min<std::uint64_t>(m.retained_bytes, e->size);
            }
            b.delete_entry(m.id, m.retained_start);
            ++m.retained_start;
        };
        // Entries of this batch are not in the index yet: they are looked up
        // in batch_entries_ as the scan reaches them.
        auto trim_unindexed_before = [&](std::uint64_t offset) {
            while (m.retained_start < offset && over(records_max, bytes_max)) {
                auto in_batch = batch_entries_.find({m.id, m.retained_start});
                trim(in_batch == batch_entries_.end() ? std::nullopt : std::optional<offset_entry>(in_batch->second));
            }
        };
        (void)index_->entries(m.id, m.retained_start, [&](std::uint64_t offset, offset_entry e) {
            trim_unindexed_before(offset);
            if (!over(records_max, bytes_max)) return false;
            if (offset == m.retained_start) trim(e);
            return over(records_max, bytes_max);
        });
        trim_unindexed_before(m.next_offset);
    }
    // Expiry is filed coarsely: a new key only when the deadline moved enough;
    // the reclaimer checks the real deadline before it reclaims.
    const auto ttl = static_cast<std::uint64_t>(policy.idle_ttl.count());
    const std::uint64_t deadline = ts + ttl;
    const std::uint64_t granularity = std::max<std::uint64_t>(1000, ttl / 16);
    if (m.expiry_key_ms == 0 || deadline > m.expiry_key_ms + granularity) {
        if (m.expiry_key_ms != 0) b.delete_expiry(m.expiry_key_ms, m.id);
        b.put_expiry(deadline, m.id);
        m.expiry_key_ms = deadline;
    }
}

void embedded_store::impl::flush_counts(index::batch& b) {
    for (auto& [seg, d] : segment_deltas_)
        if (d != 0) b.add_segment_count(seg, d);
    for (auto& [parent, d] : parent_deltas_)
        if (d != 0) b.add_parent_count(parent, d);
    segment_deltas_.clear();
    parent_deltas_.clear();
    batch_entries_.clear();
}

void embedded_store::impl::commit(std::vector<pending>& batch) {
    const std::uint64_t now = now_ms();
    const std::uint64_t start_pos = log_->end();
    const std::uint64_t saved_next_id = next_topic_id_;
    auto saved_parent_counts = parent_counts_;
    auto saved_segment_counts = segment_counts_;
    // Topic states are edited on copies and written back only on success, so a
    // failed batch leaves no trace in memory either.
    string_map<topic_meta> staged;
    // Policies of the parents in this batch, looked up once each (policy_of
    // locks and searches the parents' map).
    std::vector<std::pair<std::string_view, topic_policy>> policies;
    // Returns the policy's index in policies (kept in pending::policy for
    // index_record), or nullopt for an unknown parent.
    auto policy_for = [&](std::string_view parent) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < policies.size(); ++i)
            if (policies[i].first == parent) return i;
        auto policy = policy_of(parent);
        if (!policy) return std::nullopt;
        policies.emplace_back(parent, *policy);  // a view into the batch's own topic
        return policies.size() - 1;
    };
    // A topic name is parsed once for a run of records on it (a group's
    // records share their topic).
    std::string_view parsed_topic;
    result<std::string_view> parsed_parent = std::string_view();
    buf_.clear();

    // A group's records share one topic, so a topic-level failure hits its
    // first record; the rest of the group fails with it.
    std::optional<error> group_error;
    auto fail = [&](pending& p, error e) {
        p.failed = true;
        p.err = std::move(e);
        if (p.group_continues) group_error = p.err;
    };

    std::size_t ok_count = 0;
    for (auto& p : batch) {
        if (group_error) {
            auto e = *std::exchange(group_error, std::nullopt);
            fail(p, std::move(e));
            continue;
        }
        if (parsed_topic.empty() || p.topic() != parsed_topic) {
            parsed_topic = p.topic();
            parsed_parent = parse_topic_name(parsed_topic);
        }
        const auto& parent = parsed_parent;
        auto policy = parent ? policy_for(*parent) : std::nullopt;
        if (!policy) {
            fail(p, error{errc::unknown_parent, "parent topic of '" + std::string(p.topic()) + "' is not defined"});
            continue;
        }
        auto it = staged.find(p.topic());
        if (it == staged.end()) {
            auto loaded = load_topic(p.topic());
            if (!loaded) {
                fail(p, loaded.error());
                continue;
            }
            topic_meta m;
            if (*loaded) {
                m = **loaded;
            } else {
                auto created = create_topic(p.topic(), *parent, next_topic_id_, now);
                if (!created) {
                    fail(p, created.error());
                    continue;
                }
                m = **created;
                topics_.erase(p.topic());  // written back below only if the batch lands
            }
            it = staged.emplace(std::string(p.topic()), std::move(m)).first;
        }
        p.policy = *policy;
        p.state = &it->second;
        // Reserve the offset now; index_record sets next_offset for real.
        p.offset = it->second.next_offset++;
        p.timestamp_ms = now;
        p.size = static_cast<std::uint32_t>(encoded_size(p.topic().size(), p.payload().size()));
        const std::size_t at = buf_.size();
        buf_.resize(at + p.size);
        encode_record(buf_.data() + at, it->second.id, p.offset, now, p.flags, p.topic(), p.payload());
        p.pos = at;  // relative until written
        ++ok_count;
    }
    // Undo the offset reservations; index_record re-applies them in order.
    for (auto& p : batch)
        if (!p.failed) p.state->next_offset = std::min(p.state->next_offset, p.offset);

    error write_error{errc::io_error, ""};
    bool written = ok_count == 0;
    if (ok_count > 0) {
        // Write in chunks that fit a segment; records never span segments.
        std::size_t chunk_start = 0;
        written = true;
        std::vector<std::pair<std::size_t, std::uint64_t>> chunk_pos;  // buffer offset -> log position
        std::size_t i = 0;
        std::vector<pending*> live;
        for (auto& p : batch)
            if (!p.failed) live.push_back(&p);
        while (i < live.size()) {
            std::size_t end = chunk_start;
            std::size_t j = i;
            while (j < live.size() && (end - chunk_start) + live[j]->size <= opts_.segment_bytes) {
                end += live[j]->size;
                ++j;
            }
            auto r = log_->append(std::string_view(buf_).substr(chunk_start, end - chunk_start));
            if (!r) {
                written = false;
                write_error = r.error();
                break;
            }
            for (std::size_t k = i; k < j; ++k) live[k]->pos = *r + (live[k]->pos - chunk_start);
            cache_->append(*r, std::string_view(buf_).substr(chunk_start, end - chunk_start));
            chunk_start = end;
            i = j;
        }
        if (written && opts_.fsync.mode == fsync_mode::always) {
            if (auto r = sync_log(); !r) {
                written = false;
                write_error = r.error();
            }
        }
        if (written) {
            index::batch b;
            for (auto* p : live) {
                index_record(b, *p->state, policies[p->policy].second, p->offset, p->pos, p->size, p->timestamp_ms);
            }
            for (auto& [name, m] : staged) b.put_meta(m);
            if (next_topic_id_ != saved_next_id) b.put_next_topic_id(next_topic_id_);
            flush_counts(b);
            b.put_checkpoint(log_->end());
            auto r = index_->commit(b, index::wal::off);
            if (!r) {
                // RocksDB stays in a background-error state after, say, a flush hit
                // a full disk; resume and try once more before failing the batch.
                index_->try_resume();
                r = index_->commit(b, index::wal::off);
            }
            if (!r) {
                written = false;
                write_error = r.error();
            }
        }
        if (!written) {
            spdlog::error("store: append batch of {} records failed: {}", live.size(), write_error.message);
            if (auto r = log_->truncate(start_pos); !r)
                spdlog::error("store: could not cut the failed batch from the log: {}", r.error().message);
            cache_->reset(log_->end());
            next_topic_id_ = saved_next_id;
            parent_counts_ = std::move(saved_parent_counts);
            segment_counts_ = std::move(saved_segment_counts);
            segment_deltas_.clear();
            parent_deltas_.clear();
            batch_entries_.clear();
            for (auto* p : live) fail(*p, write_error);
            last_write_failure_ms_ = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count());
            writes_failing_ = true;
        }
    }

    std::vector<std::string_view> touched;
    if (written && ok_count > 0) {
        writes_failing_ = false;
        for (auto& [name, m] : staged) topics_.insert(m);
        indexed_end_.store(log_->end());
        log_dirty_ = true;
        touched.reserve(staged.size());
        for (auto& [name, m] : staged) touched.push_back(name);
        ++batches_;
        appends_ += ok_count;
        bytes_ += buf_.size();
        ready_.notify(touched);
        std::shared_ptr<const append_observer> observer;
        {
            std::lock_guard lock(observer_mu_);
            observer = observer_;
        }
        if (observer)
            for (auto& p : batch)
                if (!p.failed) (*observer)(p.topic(), p.offset, p.flags, p.payload());
    }
    for (auto& p : batch) {
        result<append_ack> r = p.failed ? result<append_ack>(std::unexpected(p.err))
                                        : result<append_ack>(append_ack{p.offset, p.pos, p.timestamp_ms});
        if (p.failed) ++errors_;
        if (p.slot) {
            p.slot->complete(std::move(r));
        } else if (p.done) {
            // A callback that throws must not leave the batch's other
            // callers waiting, nor reach whichever thread committed it.
            try {
                p.done(std::move(r));
            } catch (const std::exception& e) {
                spdlog::error("store: an append's callback failed on topic {}: {}", p.topic(), e.what());
            }
        }
    }
}

}  // namespace litemcp::store
