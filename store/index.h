// The index of the store, kept in RocksDB: lite-topic metadata, (topic,
// offset) -> log position, consumer cursors, expiry order, per-segment and
// per-parent live counts, the checkpoint, and a general key-value space for
// the server layer. This header is internal to store/ (it names RocksDB).
//
// Durability: the per-append batches are written without the RocksDB WAL --
// the commit log is their write-ahead log. Each such batch carries the
// checkpoint (the log position it indexes up to), so whatever RocksDB has
// flushed is a consistent prefix and recovery re-indexes the log after it.
// Before RocksDB flushes, it calls before_flush so the log bytes the index
// points at are on disk first. Cursor, key-value and reclaim writes go
// through the WAL.
//
// Threading: every method may be called from any thread (RocksDB is
// thread-safe); the store keeps all writers of topic metadata on its
// appender thread. Lifetime: owned by the store.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/errc.h"

namespace litemcp::store {

struct topic_meta {
    std::uint64_t id = 0;
    std::string name;
    std::uint64_t next_offset = 0;      // offset the next append gets
    std::uint64_t retained_start = 0;   // oldest offset still readable
    std::uint64_t retained_bytes = 0;   // encoded bytes of the retained records
    std::uint64_t created_ms = 0;
    std::uint64_t last_write_ms = 0;
    std::uint64_t last_pos = 0;         // log position of the newest record
    std::uint64_t expiry_key_ms = 0;    // deadline under which the expiry key is filed
};

struct offset_entry {
    std::uint64_t pos = 0;   // log position
    std::uint32_t size = 0;  // encoded record length
};

struct index_options {
    std::string dir;
    std::uint64_t cache_bytes = 32ull << 20;
    std::uint64_t write_buffer_bytes = 32ull << 20;
    bool sync_wal = false;                // fsync the WAL on cursor / kv / reclaim writes
    std::function<void()> before_flush;   // makes the commit log durable
    // RocksDB's flush and compaction threads run at the lowest CPU priority
    // (nice 19), so that a flush does not take the core from the threads
    // that serve requests. Process-wide: the pools are RocksDB's default
    // environment's. Default: on.
    bool low_priority_background = true;
};

class index {
public:
    static result<std::unique_ptr<index>> open(const index_options& options);
    ~index();

    // A group of writes applied atomically by commit().
    class batch {
    public:
        void put_meta(const topic_meta& m);
        void put_name(std::string_view name, std::uint64_t id);
        // Entries are stored in runs: one key per run of consecutive offsets
        // of a topic that one batch indexes (a group commit's records of a
        // topic), so a batch costs RocksDB one write per topic, not one per
        // record. A key written by an older version is a run of one.
        void put_entry(std::uint64_t id, std::uint64_t offset, offset_entry e);
        // Removes the entry at offset. Entries leave a topic from its front
        // only (retention), in order; a run's key goes once all its entries
        // are gone (commit() looks them up), and readers never ask for an
        // offset below the topic's retained start.
        void delete_entry(std::uint64_t id, std::uint64_t offset);
        // Removes the topic's name, metadata, entries, cursors and expiry key.
        void delete_topic(const topic_meta& m);
        void put_expiry(std::uint64_t deadline_ms, std::uint64_t id);
        void delete_expiry(std::uint64_t deadline_ms, std::uint64_t id);
        void add_segment_count(std::uint64_t segment_base, std::int64_t delta);
        void add_parent_count(std::string_view parent, std::int64_t delta);
        void delete_segment_count(std::uint64_t segment_base);
        void put_checkpoint(std::uint64_t log_pos);
        void put_next_topic_id(std::uint64_t id);
        bool empty() const { return wb_.Count() == 0 && runs_.empty() && trims_.empty(); }
        void clear() {
            wb_.Clear();
            runs_.clear();
            open_runs_.clear();
            trims_.clear();
        }

    private:
        friend class index;
        struct run {
            std::uint64_t id = 0, first = 0, count = 0;
            std::string value;  // count entries of 12 bytes
        };
        struct trim {
            std::uint64_t from = 0, end = 0;  // entries [from, end) are gone
        };
        // Writes the pending runs (less their trimmed entries) into wb_.
        void put_runs();
        rocksdb::WriteBatch wb_;
        std::vector<run> runs_;
        std::map<std::uint64_t, std::size_t> open_runs_;  // topic id -> its last run in runs_
        std::map<std::uint64_t, trim> trims_;             // topic id -> trimmed range
    };

    enum class wal { off, on };
    result<void> commit(batch& b, wal mode);
    // Flushes the memtable to disk (a checkpoint of everything committed).
    result<void> flush();
    // Lets RocksDB leave a background-error state (for example after ENOSPC).
    void try_resume();

    result<std::optional<std::uint64_t>> topic_id(std::string_view name) const;
    result<std::optional<topic_meta>> meta(std::uint64_t id) const;
    result<std::optional<offset_entry>> entry(std::uint64_t id, std::uint64_t offset) const;
    // How many run keys topic id has (each holds one or more entries).
    result<std::size_t> entry_runs(std::uint64_t id) const;
    // Visits entries of topic id from offset on, in order, until visit returns false.
    // Like entry(), it may still find an entry below the topic's retained start
    // (in a run that is only partly trimmed): callers start at the retained start.
    result<void> entries(std::uint64_t id, std::uint64_t from,
                         const std::function<bool(std::uint64_t, offset_entry)>& visit) const;
    // Expiry keys with deadline <= now_ms, oldest first, at most limit.
    result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> due(std::uint64_t now_ms,
                                                                     std::size_t limit) const;

    std::uint64_t checkpoint() const;     // 0 on a new store
    std::uint64_t next_topic_id() const;  // 1 on a new store
    std::map<std::uint64_t, std::int64_t> segment_counts() const;
    std::map<std::string, std::int64_t> parent_counts() const;

    // Cursors: the broker-held position of a consumer in a topic (WAL).
    result<void> put_cursor(std::uint64_t id, std::string_view consumer, std::uint64_t offset);
    result<std::optional<std::uint64_t>> cursor(std::uint64_t id, std::string_view consumer) const;
    result<void> delete_cursor(std::uint64_t id, std::string_view consumer);

    // General key-value space (WAL).
    result<void> kv_put(std::string_view key, std::string_view value);
    result<std::optional<std::string>> kv_get(std::string_view key) const;
    result<void> kv_delete(std::string_view key);
    // Keys starting with prefix and greater than after, in order, at most limit.
    result<std::vector<std::pair<std::string, std::string>>> kv_scan(std::string_view prefix,
                                                                     std::string_view after,
                                                                     std::size_t limit) const;

    std::uint64_t disk_bytes() const;
    std::uint64_t memory_bytes() const;

private:
    index() = default;
    result<void> runs_within(std::uint64_t id, std::uint64_t from, std::uint64_t end,
                             const std::function<void(std::string_view key)>& visit) const;
    std::unique_ptr<rocksdb::DB> db_;
    std::shared_ptr<rocksdb::EventListener> listener_;
    bool sync_wal_ = false;
};

}  // namespace litemcp::store
