// Options of the store, one plain struct per component. Every field states
// its meaning and its default; every size, queue and retention is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <string>
#include <vector>

#include "store/errc.h"

namespace litemcp::store {

// When an append is acknowledged relative to the disk.
enum class fsync_mode {
    always,    // ack after fdatasync of the batch: no acknowledged record is ever lost
    interval,  // ack after write(); a background fdatasync every interval_ms bounds the loss window
    never,     // never fsync (tests, throwaway data); the OS decides
};

struct durability {
    fsync_mode mode = fsync_mode::interval;  // Default: interval
    std::chrono::milliseconds interval{100};  // Default: 100 ms (only for mode interval)

    // Parses "always", "never" or "interval:<ms>".
    static result<durability> parse(std::string_view text);
    std::string to_string() const;
};

// The policy of a parent topic; every lite topic inside it obeys it.
struct topic_policy {
    // A lite topic with no append for this long and no bound consumer is reclaimed.
    // Default: 30 min.
    std::chrono::milliseconds idle_ttl{std::chrono::minutes(30)};
    // Retention per lite topic: the oldest records are trimmed beyond either bound.
    // Default: 100,000 records and 64 MiB.
    std::uint64_t max_records = 100'000;
    std::uint64_t max_bytes = 64ull << 20;
    // Lite topics that may exist at once in this parent. Default: 10,000,000.
    std::uint64_t max_lite_topics = 10'000'000;
    // Largest payload accepted. Default: 1 MiB. Never more than a log segment.
    std::uint32_t max_record_size = 1u << 20;
};

struct parent_topic {
    std::string name;  // [a-z0-9._-]{1,64}
    topic_policy policy;
};

// Where the JetStream engine (store/jetstream/jetstream_store.h) keeps the
// lite topics: NATS servers with JetStream enabled. An empty server list
// selects the embedded engine.
struct nats_options {
    // Server URLs, e.g. {"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"};
    // the client learns the rest of the cluster from them. Default: none.
    std::vector<std::string> servers;
    // Streams, buckets and subjects are named after it ([A-Za-z0-9_-]{1,32}),
    // so several deployments can share one NATS cluster. Default: "litemcp".
    std::string prefix = "litemcp";
    // Copies of every stream and bucket (1, 3 or 5; at most the cluster's
    // size). Default: 3.
    int replicas = 3;
    // Streams per parent topic: a lite topic's stream is chosen by a hash of
    // its name, which spreads stream leaders, and so the write load, over the
    // nodes. Changing it for existing data moves topics. Default: 3.
    int shards = 3;
    // Longest wait for JetStream's answer to one request (an append's
    // acknowledgement, a read, a key). Default: 5 s.
    std::chrono::milliseconds request_timeout{5000};
    // Wait between attempts to reconnect to a lost server; the client keeps
    // trying for ever and keeps unsent appends (up to reconnect_buffer_bytes)
    // meanwhile. Default: 250 ms.
    std::chrono::milliseconds reconnect_wait{250};
    // Bytes of publishes held while reconnecting. Default: 8 MiB.
    std::uint64_t reconnect_buffer_bytes = 8ull << 20;
    // The connection's name in the NATS server's monitoring. Default: "litemcp".
    std::string connection_name = "litemcp";
};

struct store_options {
    // Folder holding log/ (segments) and index/ (RocksDB). Created if missing.
    // Required by the embedded engine.
    std::string dir;
    // Set servers to keep the lite topics in JetStream instead. Default: none.
    nats_options nats;
    durability fsync;
    // Parent topics known at open. More may be added with store::define_parent.
    // Default: none.
    std::vector<parent_topic> parents;
    // Size at which the commit log rolls to a new segment file. Default: 64 MiB.
    std::uint64_t segment_bytes = 64ull << 20;
    // In-memory copy of the newest log bytes that serves tail reads. Default: 32 MiB.
    std::uint64_t tail_cache_bytes = 32ull << 20;
    // Most bytes of payload the appender gathers into one write. Default: 4 MiB.
    std::uint64_t max_batch_bytes = 4ull << 20;
    // Appends waiting for the appender before new ones block the caller. Default: 65,536.
    std::uint64_t max_pending_appends = 65'536;
    // Longest a deferred append (store::append_group_deferred) waits for its
    // caller's commit_queued() before the appender thread commits it anyway.
    // Default: 50 ms.
    std::chrono::milliseconds deferred_commit_wait{50};
    // Lite-topic states the appender keeps in memory (the rest is read from the
    // index on demand). Default: 65,536.
    std::uint64_t topic_cache_entries = 65'536;
    // How often the index is flushed to disk, which bounds re-indexing work at
    // recovery. Default: 5 s.
    std::chrono::milliseconds checkpoint_interval{5000};
    // How often expired lite topics and dead segments are reclaimed. Default: 1 s.
    // The JetStream engine lists a parent's topics every max(this, its
    // idle_ttl / 10) (idle_reclaimer.h).
    std::chrono::milliseconds reclaim_interval{1000};
    // Most lite topics reclaimed per pass, so one pass never stalls appends. Default: 10,000.
    std::uint64_t reclaim_batch = 10'000;
    // RocksDB block cache for the index. Default: 32 MiB.
    std::uint64_t index_cache_bytes = 32ull << 20;
    // RocksDB memtable size. Default: 32 MiB.
    std::uint64_t index_write_buffer_bytes = 32ull << 20;
    // Called with the name of each lite topic reclaimed for idleness (not for
    // remove_topic), on the appender thread, after the removal is committed
    // (the JetStream engine: on its reclaimer thread, which it may block,
    // some time after the topic's last record aged out). Must not append,
    // nor, on the embedded engine, block. Default: none.
    std::function<void(std::string_view topic)> on_reclaimed;
};

}  // namespace litemcp::store
