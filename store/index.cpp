#include "store/index.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <cstring>
#include <limits>

namespace litemcp::store {
namespace {

// Key prefixes; one column family keeps every batch atomic without atomic_flush.
constexpr char k_meta_singleton = 'M';
constexpr char k_name = 'N';     // name -> id
constexpr char k_topic = 'T';    // id -> topic_meta
constexpr char k_offset = 'O';   // id, offset -> offset_entry
constexpr char k_cursor = 'C';   // id, consumer -> offset
constexpr char k_expiry = 'X';   // deadline, id -> ""
constexpr char k_segment = 'S';  // segment base -> live records (merge add)
constexpr char k_parent = 'P';   // parent name -> lite topics (merge add)
constexpr char k_kv = 'K';       // user key -> value

void put_be64(std::string& s, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}
std::uint64_t get_be64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
void put_le64(std::string& s, std::uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
std::uint64_t get_le64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

std::string key1(char prefix, std::uint64_t a) {
    std::string k(1, prefix);
    put_be64(k, a);
    return k;
}
std::string key2(char prefix, std::uint64_t a, std::uint64_t b) {
    std::string k = key1(prefix, a);
    put_be64(k, b);
    return k;
}
std::string key_str(char prefix, std::string_view s) {
    std::string k(1, prefix);
    k.append(s);
    return k;
}
const std::string checkpoint_key = std::string(1, k_meta_singleton) + "checkpoint";
const std::string next_id_key = std::string(1, k_meta_singleton) + "next_topic_id";

std::string encode_meta(const topic_meta& m) {
    std::string v;
    v.reserve(64 + m.name.size());
    for (auto x : {m.id, m.next_offset, m.retained_start, m.retained_bytes, m.created_ms,
                   m.last_write_ms, m.last_pos, m.expiry_key_ms})
        put_le64(v, x);
    v.append(m.name);
    return v;
}
std::optional<topic_meta> decode_meta(std::string_view v) {
    if (v.size() < 64) return std::nullopt;
    topic_meta m;
    std::uint64_t* fields[] = {&m.id, &m.next_offset, &m.retained_start, &m.retained_bytes,
                               &m.created_ms, &m.last_write_ms, &m.last_pos, &m.expiry_key_ms};
    for (int i = 0; i < 8; ++i) *fields[i] = get_le64(v.data() + i * 8);
    m.name.assign(v.substr(64));
    return m;
}

constexpr std::size_t entry_bytes = 12;

// Appends one entry to a run's value.
void append_entry(std::string& run, offset_entry e) {
    put_le64(run, e.pos);
    run.append(reinterpret_cast<const char*>(&e.size), 4);
}
offset_entry decode_entry(std::string_view v) {
    offset_entry e;
    if (v.size() >= 12) {
        e.pos = get_le64(v.data());
        std::memcpy(&e.size, v.data() + 8, 4);
    }
    return e;
}

std::string encode_i64(std::int64_t d) {
    std::string v;
    put_le64(v, static_cast<std::uint64_t>(d));
    return v;
}

// Live counters are kept as deltas merged by addition, so a delta written
// through the WAL and deltas replayed by recovery add up in any order.
class add_operator : public rocksdb::AssociativeMergeOperator {
public:
    bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger*) const override {
        std::uint64_t a = existing && existing->size() == 8 ? get_le64(existing->data()) : 0;
        std::uint64_t b = value.size() == 8 ? get_le64(value.data()) : 0;
        new_value->clear();
        put_le64(*new_value, a + b);
        return true;
    }
    const char* Name() const override { return "litemcp.add"; }
};

class flush_listener : public rocksdb::EventListener {
public:
    explicit flush_listener(std::function<void()> f) : f_(std::move(f)) {}
    void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
        if (f_) f_();
    }

private:
    std::function<void()> f_;
};

bool is_entry_key(const rocksdb::Slice& k, std::uint64_t id) {
    return k.size() == 17 && k[0] == k_offset && get_be64(k.data() + 1) == id;
}

// Puts it on the run of topic id that holds offset `from`, or else on the
// first run after it.
void seek_run(rocksdb::Iterator& it, std::uint64_t id, std::uint64_t from) {
    const std::string target = key2(k_offset, id, from);
    it.SeekForPrev(target);
    if (!it.Valid() || !is_entry_key(it.key(), id)) it.Seek(target);
}

std::unexpected<error> db_error(const rocksdb::Status& s, std::string_view what) {
    return make_error(s.IsIOError() || s.IsNoSpace() ? errc::io_error : errc::index_error,
                      std::string(what) + ": " + s.ToString());
}

}  // namespace

index::~index() {
    if (db_) db_->Close();
}

result<std::unique_ptr<index>> index::open(const index_options& o) {
    if (o.low_priority_background) {
        auto* env = rocksdb::Env::Default();
        env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH, rocksdb::CpuPriority::kLow);
        env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow);
    }
    rocksdb::Options opts;
    opts.create_if_missing = true;
    opts.merge_operator = std::make_shared<add_operator>();
    opts.write_buffer_size = o.write_buffer_bytes;
    opts.max_write_buffer_number = 3;
    opts.max_background_jobs = 2;
    opts.max_open_files = 512;
    opts.keep_log_file_num = 3;
    opts.info_log_level = rocksdb::WARN_LEVEL;
    // No fallocate: RocksDB preallocates each new WAL file (write_buffer_size
    // plus a tenth, 35 MiB here) at its first write, and the block allocator
    // may then read bitmaps from disk. That first write is a WAL-on batch
    // (the reclaim pass's, a cursor's), often under the store's commit lock,
    // so every I/O thread waited for it. Without preallocation the blocks are
    // allocated at writeback, off these threads.
    opts.allow_fallocate = false;
    // No memtable_insert_with_hint_prefix_extractor: with it, Debian's
    // RocksDB 7.8 tripped its skiplist assertions (and would corrupt its
    // memtable in a build without them) in about one run in five of the
    // 2025-11-25 conformance suite once a request's records were written as
    // one group; without it, none in 15 runs, at the same throughput.
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(o.cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Index and filter blocks stay outside the block cache: with millions of
    // topics one SST's index and filter outgrow a cache shard and would be
    // evicted and re-read on every lookup. Their memory is about 1.5 bytes per
    // key (10-bit bloom filter plus the index), e.g. ~6 MiB per million topics.
    table.cache_index_and_filter_blocks = false;
    opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    std::unique_ptr<index> ix(new index());
    ix->sync_wal_ = o.sync_wal;
    ix->listener_ = std::make_shared<flush_listener>(o.before_flush);
    opts.listeners.push_back(ix->listener_);
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(opts, o.dir, &db);
    if (!s.ok()) return db_error(s, "open index " + o.dir);
    ix->db_.reset(db);
    return ix;
}

void index::batch::put_meta(const topic_meta& m) { wb_.Put(key1(k_topic, m.id), encode_meta(m)); }
void index::batch::put_name(std::string_view name, std::uint64_t id) {
    std::string v;
    put_le64(v, id);
    wb_.Put(key_str(k_name, name), v);
}
void index::batch::put_entry(std::uint64_t id, std::uint64_t offset, offset_entry e) {
    auto open = open_runs_.find(id);
    if (open == open_runs_.end() || runs_[open->second].first + runs_[open->second].count != offset) {
        runs_.push_back(run{id, offset, 0, {}});
        open = open_runs_.insert_or_assign(id, runs_.size() - 1).first;
    }
    auto& r = runs_[open->second];
    append_entry(r.value, e);
    ++r.count;
}
void index::batch::delete_entry(std::uint64_t id, std::uint64_t offset) {
    auto [t, fresh] = trims_.try_emplace(id, trim{offset, offset + 1});
    if (!fresh) {
        t->second.from = std::min(t->second.from, offset);
        t->second.end = std::max(t->second.end, offset + 1);
    }
}
void index::batch::put_runs() {
    for (auto& r : runs_) {
        auto t = trims_.find(r.id);
        if (t != trims_.end() && t->second.end > r.first) {  // trimmed in the batch that indexes it
            const std::uint64_t cut = std::min(r.count, t->second.end - r.first);
            r.first += cut;
            r.count -= cut;
            r.value.erase(0, cut * entry_bytes);
        }
        if (r.count > 0) wb_.Put(key2(k_offset, r.id, r.first), r.value);
    }
    runs_.clear();
    open_runs_.clear();
}
void index::batch::delete_topic(const topic_meta& m) {
    put_runs();  // before the range deletion, which must cover them
    wb_.Delete(key_str(k_name, m.name));
    wb_.Delete(key1(k_topic, m.id));
    wb_.DeleteRange(key1(k_offset, m.id), key1(k_offset, m.id + 1));
    wb_.DeleteRange(key1(k_cursor, m.id), key1(k_cursor, m.id + 1));
    wb_.Delete(key2(k_expiry, m.expiry_key_ms, m.id));
}
void index::batch::put_expiry(std::uint64_t deadline_ms, std::uint64_t id) {
    wb_.Put(key2(k_expiry, deadline_ms, id), rocksdb::Slice());
}
void index::batch::delete_expiry(std::uint64_t deadline_ms, std::uint64_t id) {
    wb_.Delete(key2(k_expiry, deadline_ms, id));
}
void index::batch::add_segment_count(std::uint64_t base, std::int64_t delta) {
    wb_.Merge(key1(k_segment, base), encode_i64(delta));
}
void index::batch::delete_segment_count(std::uint64_t base) { wb_.Delete(key1(k_segment, base)); }
void index::batch::add_parent_count(std::string_view parent, std::int64_t delta) {
    wb_.Merge(key_str(k_parent, parent), encode_i64(delta));
}
void index::batch::put_checkpoint(std::uint64_t pos) {
    std::string v;
    put_le64(v, pos);
    wb_.Put(checkpoint_key, v);
}
void index::batch::put_next_topic_id(std::uint64_t id) {
    std::string v;
    put_le64(v, id);
    wb_.Put(next_id_key, v);
}

// The run keys of a topic whose entries all lie in [from, end): the run that
// holds `from` (it may start before it) and the runs after it, up to end.
result<void> index::runs_within(std::uint64_t id, std::uint64_t from, std::uint64_t end,
                                const std::function<void(std::string_view key)>& visit) const {
    rocksdb::ReadOptions ro;
    const std::string upper = key2(k_offset, id, end);
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    seek_run(*it, id, from);
    for (; it->Valid(); it->Next()) {
        auto k = it->key();
        if (!is_entry_key(k, id)) continue;
        const std::uint64_t first = get_be64(k.data() + 9);
        if (first + it->value().size() / entry_bytes <= end) visit(std::string_view(k.data(), k.size()));
    }
    if (!it->status().ok()) return db_error(it->status(), "index scan");
    return {};
}

result<void> index::commit(batch& b, wal mode) {
    // Trimmed runs first: a batch's trims only reach runs committed before it
    // (put_runs cuts its own).
    for (auto& [id, t] : b.trims_) {
        auto r = runs_within(id, t.from, t.end, [&](std::string_view key) { b.wb_.Delete(key); });
        if (!r) return r;
    }
    b.put_runs();
    b.trims_.clear();
    rocksdb::WriteOptions wo;
    wo.disableWAL = mode == wal::off;
    wo.sync = mode == wal::on && sync_wal_;
    auto s = db_->Write(wo, &b.wb_);
    if (!s.ok()) return db_error(s, "index write");
    return {};
}

result<void> index::flush() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    auto s = db_->Flush(fo);
    if (!s.ok()) return db_error(s, "index flush");
    return {};
}

void index::try_resume() { db_->Resume(); }

namespace {
template <class T, class F>
result<std::optional<T>> get_value(rocksdb::DB* db, const std::string& key, F decode) {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions(), key, &v);
    if (s.IsNotFound()) return std::optional<T>();
    if (!s.ok()) return db_error(s, "index read");
    return std::optional<T>(decode(v));
}
}  // namespace

result<std::optional<std::uint64_t>> index::topic_id(std::string_view name) const {
    return get_value<std::uint64_t>(db_.get(), key_str(k_name, name),
                                    [](const std::string& v) { return v.size() == 8 ? get_le64(v.data()) : 0; });
}

result<std::optional<topic_meta>> index::meta(std::uint64_t id) const {
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), key1(k_topic, id), &v);
    if (s.IsNotFound()) return std::optional<topic_meta>();
    if (!s.ok()) return db_error(s, "index read");
    auto m = decode_meta(v);
    if (!m) return make_error(errc::corrupt, "topic metadata " + std::to_string(id) + " is malformed");
    return m;
}

result<std::size_t> index::entry_runs(std::uint64_t id) const {
    std::size_t n = 0;
    auto r = runs_within(id, 0, std::numeric_limits<std::uint64_t>::max(), [&](std::string_view) { ++n; });
    if (!r) return std::unexpected(r.error());
    return n;
}

result<std::optional<offset_entry>> index::entry(std::uint64_t id, std::uint64_t offset) const {
    std::optional<offset_entry> found;
    auto r = entries(id, offset, [&](std::uint64_t off, offset_entry e) {
        if (off == offset) found = e;
        return false;
    });
    if (!r) return std::unexpected(r.error());
    return found;
}

result<void> index::entries(std::uint64_t id, std::uint64_t from,
                            const std::function<bool(std::uint64_t, offset_entry)>& visit) const {
    rocksdb::ReadOptions ro;
    const std::string upper = key1(k_offset, id + 1);
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (seek_run(*it, id, from); it->Valid(); it->Next()) {
        auto k = it->key();
        if (!is_entry_key(k, id)) continue;
        const std::uint64_t first = get_be64(k.data() + 9);
        const std::string_view v(it->value().data(), it->value().size());
        for (std::size_t i = 0; i + entry_bytes <= v.size(); i += entry_bytes) {
            const std::uint64_t off = first + i / entry_bytes;
            if (off < from) continue;
            if (!visit(off, decode_entry(v.substr(i, entry_bytes)))) return {};
        }
    }
    if (!it->status().ok()) return db_error(it->status(), "index scan");
    return {};
}

result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> index::due(std::uint64_t now_ms,
                                                                        std::size_t limit) const {
    rocksdb::ReadOptions ro;
    const std::string upper = key1(k_expiry, now_ms + 1);
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (it->Seek(std::string(1, k_expiry)); it->Valid() && out.size() < limit; it->Next()) {
        auto k = it->key();
        if (k.size() != 17) continue;
        out.emplace_back(get_be64(k.data() + 1), get_be64(k.data() + 9));
    }
    if (!it->status().ok()) return db_error(it->status(), "index scan");
    return out;
}

std::uint64_t index::checkpoint() const {
    std::string v;
    if (db_->Get(rocksdb::ReadOptions(), checkpoint_key, &v).ok() && v.size() == 8) return get_le64(v.data());
    return 0;
}

std::uint64_t index::next_topic_id() const {
    std::string v;
    if (db_->Get(rocksdb::ReadOptions(), next_id_key, &v).ok() && v.size() == 8) return get_le64(v.data());
    return 1;
}

namespace {
template <class K, class F>
std::map<K, std::int64_t> scan_counts(rocksdb::DB* db, char prefix, F decode_key) {
    std::map<K, std::int64_t> out;
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    const std::string p(1, prefix);
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
        if (it->value().size() != 8) continue;
        out[decode_key(it->key())] = static_cast<std::int64_t>(get_le64(it->value().data()));
    }
    return out;
}
}  // namespace

std::map<std::uint64_t, std::int64_t> index::segment_counts() const {
    return scan_counts<std::uint64_t>(db_.get(), k_segment,
                                      [](const rocksdb::Slice& k) { return get_be64(k.data() + 1); });
}

std::map<std::string, std::int64_t> index::parent_counts() const {
    return scan_counts<std::string>(db_.get(), k_parent, [](const rocksdb::Slice& k) {
        return std::string(k.data() + 1, k.size() - 1);
    });
}

namespace {
std::string cursor_key(std::uint64_t id, std::string_view consumer) {
    std::string k = key1(k_cursor, id);
    k.append(consumer);
    return k;
}
}  // namespace

result<void> index::put_cursor(std::uint64_t id, std::string_view consumer, std::uint64_t offset) {
    std::string v;
    put_le64(v, offset);
    rocksdb::WriteOptions wo;
    wo.sync = sync_wal_;
    auto s = db_->Put(wo, cursor_key(id, consumer), v);
    if (!s.ok()) return db_error(s, "cursor write");
    return {};
}

result<std::optional<std::uint64_t>> index::cursor(std::uint64_t id, std::string_view consumer) const {
    return get_value<std::uint64_t>(db_.get(), cursor_key(id, consumer),
                                    [](const std::string& v) { return v.size() == 8 ? get_le64(v.data()) : 0; });
}

result<void> index::delete_cursor(std::uint64_t id, std::string_view consumer) {
    rocksdb::WriteOptions wo;
    wo.sync = sync_wal_;
    auto s = db_->Delete(wo, cursor_key(id, consumer));
    if (!s.ok()) return db_error(s, "cursor delete");
    return {};
}

result<void> index::kv_put(std::string_view key, std::string_view value) {
    rocksdb::WriteOptions wo;
    wo.sync = sync_wal_;
    auto s = db_->Put(wo, key_str(k_kv, key), rocksdb::Slice(value.data(), value.size()));
    if (!s.ok()) return db_error(s, "kv write");
    return {};
}

result<std::optional<std::string>> index::kv_get(std::string_view key) const {
    return get_value<std::string>(db_.get(), key_str(k_kv, key), [](const std::string& v) { return v; });
}

result<void> index::kv_delete(std::string_view key) {
    rocksdb::WriteOptions wo;
    wo.sync = sync_wal_;
    auto s = db_->Delete(wo, key_str(k_kv, key));
    if (!s.ok()) return db_error(s, "kv delete");
    return {};
}

result<std::vector<std::pair<std::string, std::string>>> index::kv_scan(std::string_view prefix,
                                                                        std::string_view after,
                                                                        std::size_t limit) const {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    const std::string p = key_str(k_kv, prefix);
    std::vector<std::pair<std::string, std::string>> out;
    const std::string start = after.empty() ? p : key_str(k_kv, after);
    for (it->Seek(start); it->Valid() && it->key().starts_with(p) && out.size() < limit; it->Next()) {
        std::string k(it->key().data() + 1, it->key().size() - 1);
        if (!after.empty() && k == after) continue;
        out.emplace_back(std::move(k), it->value().ToString());
    }
    if (!it->status().ok()) return db_error(it->status(), "kv scan");
    return out;
}

std::uint64_t index::disk_bytes() const {
    std::uint64_t v = 0;
    db_->GetIntProperty("rocksdb.total-sst-files-size", &v);
    return v;
}

std::uint64_t index::memory_bytes() const {
    std::uint64_t mem = 0, cache = 0, readers = 0;
    db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
    db_->GetIntProperty("rocksdb.block-cache-usage", &cache);
    db_->GetIntProperty("rocksdb.estimate-table-readers-mem", &readers);
    return mem + cache + readers;
}

}  // namespace litemcp::store
