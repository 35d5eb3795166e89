#include "store/store.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <pthread.h>

#include "store/store_impl.h"

namespace litemcp::store {

// ---- topic_cache -----------------------------------------------------------

topic_meta* topic_cache::find(std::string_view name) {
    auto it = map_.find(name);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &*it->second;
}

topic_meta* topic_cache::insert(topic_meta m) {
    if (auto* existing = find(m.name)) {
        *existing = std::move(m);
        return existing;
    }
    lru_.push_front(std::move(m));
    map_.emplace(lru_.front().name, lru_.begin());
    // Evicting is free: the index holds every committed state, and the appender
    // works on copies while a batch is in flight.
    while (map_.size() > capacity_) {
        map_.erase(lru_.back().name);
        lru_.pop_back();
    }
    return &lru_.front();
}

void topic_cache::erase(std::string_view name) {
    auto it = map_.find(name);
    if (it == map_.end()) return;
    auto node = it->second;
    map_.erase(it);
    lru_.erase(node);
}

// ---- impl lifecycle --------------------------------------------------------

embedded_store::impl::impl(store_options o)
    : opts_(std::move(o)), topics_(std::max<std::uint64_t>(opts_.topic_cache_entries, 16)) {
    for (auto& p : opts_.parents) parents_[p.name] = p.policy;
}

embedded_store::impl::~impl() { stop(); }

std::uint64_t embedded_store::impl::now_ms() const {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

result<void> embedded_store::impl::start() {
    if (opts_.dir.empty()) return make_error(errc::invalid_argument, "store_options.dir is required");
    if (opts_.segment_bytes < 4096) return make_error(errc::invalid_argument, "segment_bytes must be at least 4096");
    if (opts_.checkpoint_interval.count() <= 0 || opts_.reclaim_interval.count() <= 0 ||
        (opts_.fsync.mode == fsync_mode::interval && opts_.fsync.interval.count() <= 0))
        return make_error(errc::invalid_argument, "fsync interval, checkpoint_interval and reclaim_interval must be positive");
    if (opts_.max_batch_bytes == 0 || opts_.max_pending_appends == 0)
        return make_error(errc::invalid_argument, "max_batch_bytes and max_pending_appends must be positive");
    for (auto& [name, policy] : parents_) {
        if (auto r = parse_topic_name(name + "/x"); !r) return std::unexpected(r.error());
        if (policy.max_record_size + record_header_bytes + 512 > opts_.segment_bytes)
            return make_error(errc::invalid_argument, "parent " + name + ": max_record_size exceeds a log segment");
    }
    std::error_code ec;
    std::filesystem::create_directories(opts_.dir, ec);
    if (ec) return make_error(errc::io_error, "create " + opts_.dir + ": " + ec.message());

    auto log = commit_log::open(opts_.dir + "/log", opts_.segment_bytes);
    if (!log) return std::unexpected(log.error());
    log_ = std::move(*log);

    index_options io;
    io.dir = opts_.dir + "/index";
    io.cache_bytes = opts_.index_cache_bytes;
    io.write_buffer_bytes = opts_.index_write_buffer_bytes;
    io.sync_wal = opts_.fsync.mode == fsync_mode::always;
    // The index must never reach the disk ahead of the log bytes it points at.
    io.before_flush = [this] { (void)sync_log(); };
    auto ix = index::open(io);
    if (!ix) return std::unexpected(ix.error());
    index_ = std::move(*ix);
    cache_ = std::make_unique<tail_cache>(opts_.tail_cache_bytes);

    if (auto r = recover(); !r) return r;

    // Named as top -H and perf show them.
    appender_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "store-append");
        run_appender();
    });
    maintenance_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "store-maint");
        run_maintenance();
    });
    if (opts_.fsync.mode == fsync_mode::interval)
        syncer_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "store-fsync");
            run_syncer();
        });
    return {};
}

void embedded_store::impl::stop() {
    {
        std::lock_guard lock(q_mu_);
        if (stopping_ && !appender_.joinable()) return;
        stopping_ = true;
    }
    q_cv_.notify_all();
    space_cv_.notify_all();
    if (appender_.joinable()) appender_.join();
    {
        std::lock_guard lock(m_mu_);
        m_stopping_ = true;
    }
    m_cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    if (syncer_.joinable()) syncer_.join();
    if (index_ && log_) {
        if (auto r = checkpoint_now(); !r) spdlog::warn("store: final checkpoint failed: {}", r.error().message);
    }
}

// ---- maintenance -----------------------------------------------------------

result<void> embedded_store::impl::sync_log() {
    if (opts_.fsync.mode == fsync_mode::never || !log_) return {};
    const auto t0 = std::chrono::steady_clock::now();
    auto r = log_->sync();
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    fsync_us_ += us;
    std::size_t b = 0;
    while (b < fsync_bucket_micros.size() && us > fsync_bucket_micros[b]) ++b;
    ++fsync_buckets_[b];
    ++fsyncs_;
    return r;
}

result<void> embedded_store::impl::checkpoint_now() {
    std::lock_guard lock(checkpoint_mu_);
    const std::uint64_t cp = indexed_end_.load();
    if (cp == durable_checkpoint_.load()) return {};
    // Flush syncs the log first (index_options::before_flush); in `never` mode
    // the log is synced here so a checkpoint is always a durable point.
    if (opts_.fsync.mode == fsync_mode::never) {
        if (auto r = log_->sync(); !r) return r;
    }
    if (auto r = index_->flush(); !r) {
        index_->try_resume();
        return r;
    }
    durable_checkpoint_.store(cp);
    return {};
}

// The interval fsync has a thread of its own: a checkpoint waits for
// RocksDB's flush, which runs at a low CPU priority and may take long on a
// busy core, and must not hold the log's fsync back meanwhile.
void embedded_store::impl::run_syncer() {
    using clock = std::chrono::steady_clock;
    auto next_sync = clock::now() + opts_.fsync.interval;
    std::unique_lock lock(m_mu_);
    while (!m_stopping_) {
        m_cv_.wait_until(lock, next_sync, [&] { return m_stopping_; });
        if (m_stopping_) break;
        lock.unlock();
        if (log_dirty_.exchange(false)) {
            if (auto r = sync_log(); !r) {
                spdlog::error("store: log fsync failed: {}", r.error().message);
                log_dirty_ = true;
            }
        }
        next_sync = clock::now() + opts_.fsync.interval;
        lock.lock();
    }
}

void embedded_store::impl::run_maintenance() {
    using clock = std::chrono::steady_clock;
    auto next_checkpoint = clock::now() + opts_.checkpoint_interval;
    auto next_reclaim = clock::now() + opts_.reclaim_interval;
    std::unique_lock lock(m_mu_);
    while (!m_stopping_) {
        m_cv_.wait_until(lock, std::min(next_checkpoint, next_reclaim), [&] { return m_stopping_; });
        if (m_stopping_) break;
        lock.unlock();
        const auto now = clock::now();
        if (now >= next_checkpoint) {
            if (auto r = checkpoint_now(); !r) spdlog::error("store: checkpoint failed: {}", r.error().message);
            next_checkpoint = now + opts_.checkpoint_interval;
        }
        if (now >= next_reclaim) {
            auto r = on_appender([this] { return reclaim_pass(); });
            if (!r && r.error().code != errc::closed) spdlog::error("store: reclaim failed: {}", r.error().message);
            log_->close_removed();  // here, not on the appender: see remove_segment
            next_reclaim = clock::now() + opts_.reclaim_interval;
        }
        lock.lock();
    }
}

std::optional<topic_policy> embedded_store::impl::policy_of(std::string_view parent) const {
    std::shared_lock lock(parents_mu_);
    auto it = parents_.find(parent);
    if (it == parents_.end()) return std::nullopt;
    return it->second;
}

// ---- facade ----------------------------------------------------------------

embedded_store::embedded_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
embedded_store::~embedded_store() = default;

result<std::unique_ptr<store>> embedded_store::open(store_options options) {
    auto p = std::make_unique<impl>(std::move(options));
    if (auto r = p->start(); !r) return std::unexpected(r.error());
    return std::unique_ptr<store>(new embedded_store(std::move(p)));
}

const store_options& embedded_store::options() const { return impl_->opts_; }

result<void> embedded_store::define_parent(parent_topic parent) {
    if (auto r = parse_topic_name(parent.name + "/x"); !r) return std::unexpected(r.error());
    if (parent.policy.max_record_size + record_header_bytes + 512 > impl_->opts_.segment_bytes)
        return make_error(errc::invalid_argument, "max_record_size exceeds a log segment");
    std::unique_lock lock(impl_->parents_mu_);
    impl_->parents_[parent.name] = parent.policy;
    return {};
}

result<read_batch> embedded_store::read(std::string_view topic, std::uint64_t from, read_limits limits) const {
    auto& ix = *impl_->index_;
    auto id = ix.topic_id(topic);
    if (!id) return std::unexpected(id.error());
    if (!*id) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    auto meta = ix.meta(**id);
    if (!meta) return std::unexpected(meta.error());
    if (!*meta) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    read_batch out;
    out.first_offset = (*meta)->retained_start;
    out.end_offset = (*meta)->next_offset;
    out.next_offset = from;
    if (from < out.first_offset) {
        out.outcome = read_outcome::truncated;
        return out;
    }
    if (from >= out.end_offset) return out;

    std::vector<std::pair<std::uint64_t, offset_entry>> entries;
    std::size_t bytes = 0;
    auto scan = ix.entries(**id, from, [&](std::uint64_t off, offset_entry e) {
        if (off >= out.end_offset) return false;
        if (!entries.empty() && (entries.size() >= limits.max_records || bytes + e.size > limits.max_bytes))
            return false;
        entries.emplace_back(off, e);
        bytes += e.size;
        return entries.size() < limits.max_records;
    });
    if (!scan) return std::unexpected(scan.error());
    if (entries.empty() || entries.front().first != from) {
        // Trimmed between the metadata read and the scan.
        out.outcome = read_outcome::truncated;
        out.first_offset = entries.empty() ? out.end_offset : entries.front().first;
        return out;
    }
    std::string buf;
    out.records.reserve(entries.size());
    for (auto& [off, e] : entries) {
        record_view v;
        const std::size_t n = limits.payloads ? e.size : std::min<std::size_t>(e.size, record_header_bytes);
        bool ok = impl_->cache_->read(e.pos, n, buf) || impl_->log_->read(e.pos, n, buf).has_value();
        ok = ok &&
             (limits.payloads ? decode_record(buf, e.size, v) : decode_record_header(buf, e.size, v)) ==
                 decode_outcome::ok &&
             v.topic_id == **id && v.offset == off;
        if (!ok) {
            // Retention may have trimmed the record (and its segment been
            // deleted) since the index scan: that is truncation, not damage.
            auto now = ix.meta(**id);
            if (now && *now && (*now)->retained_start > off) {
                if (out.records.empty()) {
                    out.outcome = read_outcome::truncated;
                    out.first_offset = (*now)->retained_start;
                }
                return out;
            }
            return make_error(errc::corrupt, "record " + std::string(topic) + "@" + std::to_string(off) +
                                                 " at log position " + std::to_string(e.pos) + " is damaged");
        }
        out.records.push_back(record{std::string(topic), off, v.timestamp_ms, v.flags, std::string(v.payload)});
        out.next_offset = off + 1;
    }
    return out;
}

result<topic_info> embedded_store::topic(std::string_view topic) const {
    auto id = impl_->index_->topic_id(topic);
    if (!id) return std::unexpected(id.error());
    if (!*id) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    auto meta = impl_->index_->meta(**id);
    if (!meta) return std::unexpected(meta.error());
    if (!*meta) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    const auto& m = **meta;
    return topic_info{m.name, m.id, m.retained_start, m.next_offset, m.retained_bytes, m.created_ms,
                      m.last_write_ms, impl_->ready_.bound_consumers(topic)};
}

result<void> embedded_store::remove_topic(std::string_view topic) {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    std::string name(topic);
    return impl_->on_appender([this, name] { return impl_->remove_topic_now(name); });
}

result<void> embedded_store::set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset) {
    if (auto r = validate_consumer_id(consumer); !r) return r;
    auto id = impl_->index_->topic_id(topic);
    if (!id) return std::unexpected(id.error());
    if (!*id) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    return impl_->index_->put_cursor(**id, consumer, offset);
}

result<std::optional<std::uint64_t>> embedded_store::cursor(std::string_view consumer, std::string_view topic) const {
    auto id = impl_->index_->topic_id(topic);
    if (!id) return std::unexpected(id.error());
    if (!*id) return std::optional<std::uint64_t>();
    return impl_->index_->cursor(**id, consumer);
}

result<void> embedded_store::kv_put(std::string_view key, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    std::lock_guard lock(impl_->kv_write_mu_);
    return impl_->index_->kv_put(key, value);
}
result<std::optional<std::string>> embedded_store::kv_get(std::string_view key) const { return impl_->index_->kv_get(key); }
result<void> embedded_store::kv_delete(std::string_view key) {
    std::lock_guard lock(impl_->kv_write_mu_);
    return impl_->index_->kv_delete(key);
}
result<bool> embedded_store::kv_create(std::string_view key, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    std::lock_guard lock(impl_->kv_write_mu_);
    auto existing = impl_->index_->kv_get(key);
    if (!existing) return std::unexpected(existing.error());
    if (*existing) return false;
    if (auto r = impl_->index_->kv_put(key, value); !r) return std::unexpected(r.error());
    return true;
}
result<bool> embedded_store::kv_swap(std::string_view key, std::string_view expected, std::string_view value) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    std::lock_guard lock(impl_->kv_write_mu_);
    auto existing = impl_->index_->kv_get(key);
    if (!existing) return std::unexpected(existing.error());
    if (!*existing || **existing != expected) return false;
    if (auto r = impl_->index_->kv_put(key, value); !r) return std::unexpected(r.error());
    return true;
}
result<std::optional<std::string>> embedded_store::kv_take(std::string_view key) {
    if (key.empty()) return make_error(errc::invalid_argument, "empty key");
    std::lock_guard lock(impl_->kv_write_mu_);
    auto existing = impl_->index_->kv_get(key);
    if (!existing || !*existing) return existing;
    if (auto r = impl_->index_->kv_delete(key); !r) return std::unexpected(r.error());
    return existing;
}
result<std::vector<std::pair<std::string, std::string>>> embedded_store::kv_scan(std::string_view prefix,
                                                                        std::string_view after,
                                                                        std::size_t limit) const {
    return impl_->index_->kv_scan(prefix, after, limit);
}

result<void> embedded_store::add_consumer(std::string_view consumer, wake_fn wake) {
    if (auto r = validate_consumer_id(consumer); !r) return r;
    impl_->ready_.add_consumer(consumer, std::move(wake));
    return {};
}
void embedded_store::remove_consumer(std::string_view consumer) { impl_->ready_.remove_consumer(consumer); }

result<void> embedded_store::bind(std::string_view consumer, std::string_view topic) {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    // Bind first, then look: an append between the two wakes us either way.
    if (!impl_->ready_.bind(consumer, topic, false))
        return make_error(errc::not_found, "consumer '" + std::string(consumer) + "' is not registered");
    auto id = impl_->index_->topic_id(topic);
    if (!id) return std::unexpected(id.error());
    if (!*id) return {};
    auto meta = impl_->index_->meta(**id);
    if (!meta) return std::unexpected(meta.error());
    auto cur = impl_->index_->cursor(**id, consumer);
    if (!cur) return std::unexpected(cur.error());
    if (*meta && cur->value_or(0) < (*meta)->next_offset) impl_->ready_.mark_ready(consumer, topic);
    return {};
}
void embedded_store::unbind(std::string_view consumer, std::string_view topic) { impl_->ready_.unbind(consumer, topic); }
std::vector<std::string> embedded_store::take_ready(std::string_view consumer) { return impl_->ready_.take_ready(consumer); }
void embedded_store::mark_ready(std::string_view consumer, std::string_view topic) { impl_->ready_.mark_ready(consumer, topic); }
void embedded_store::suspend(std::string_view consumer, std::string_view topic, std::chrono::milliseconds duration) {
    impl_->ready_.suspend(consumer, topic, duration);
}
void embedded_store::resume(std::string_view consumer, std::string_view topic) { impl_->ready_.resume(consumer, topic); }

result<void> embedded_store::checkpoint() {
    // Syncing explicitly covers `never` mode and an idle index (nothing to flush).
    if (auto r = impl_->log_->sync(); !r) return r;
    return impl_->checkpoint_now();
}

std::vector<parent_info> embedded_store::parents() const {
    std::vector<parent_info> out;
    {
        std::shared_lock lock(impl_->parents_mu_);
        for (auto& [name, policy] : impl_->parents_) out.push_back({name, policy, 0});
    }
    using counts_t = std::map<std::string, std::int64_t, std::less<>>;
    auto counts = impl_->on_appender([this]() -> result<counts_t> { return impl_->parent_counts_; });
    if (!counts) return out;  // closing: no counts
    for (auto& p : out)
        if (auto it = counts->find(p.name); it != counts->end() && it->second > 0)
            p.lite_topics = static_cast<std::uint64_t>(it->second);
    return out;
}

void embedded_store::observe_appends(append_observer observer) {
    std::lock_guard lock(impl_->observer_mu_);
    impl_->observer_ = observer ? std::make_shared<const append_observer>(std::move(observer)) : nullptr;
}

result<std::size_t> embedded_store::reclaim() {
    return impl_->on_appender([this] { return impl_->reclaim_pass(); });
}

store_stats embedded_store::stats() const {
    auto& p = *impl_;
    store_stats s;
    s.appends = p.appends_;
    s.append_batches = p.batches_;
    s.append_bytes = p.bytes_;
    s.append_errors = p.errors_;
    s.writes_failing = p.writes_failing_;
    s.last_write_failure_ms = p.last_write_failure_ms_;
    s.fsyncs = p.fsyncs_;
    s.fsync_micros = p.fsync_us_;
    for (std::size_t i = 0; i < s.fsync_buckets.size(); ++i) s.fsync_buckets[i] = p.fsync_buckets_[i];
    s.reclaimed_topics = p.reclaimed_;
    s.deleted_segments = p.deleted_segments_;
    s.log_bytes = p.log_->bytes_on_disk();
    s.log_segments = p.log_->segments().size();
    s.index_disk_bytes = p.index_->disk_bytes();
    s.checkpoint = p.durable_checkpoint_;
    s.log_end = p.log_->end();
    auto rs = p.ready_.stats();
    s.consumers = rs.consumers;
    s.bindings = rs.bindings;
    s.wakes = rs.wakes;
    s.recovered_records = p.recovered_records_;
    s.truncated_bytes = p.truncated_bytes_;
    return s;
}

}  // namespace litemcp::store
