// litemcp's lite-topic broker: the public API of store/, one interface over
// two engines.
//
// A parent topic (defined with a policy) holds any number of lite topics,
// named "<parent>/<lite>", each created by its first append. A lite topic's
// offsets only grow: the records of one group are consecutive, and the
// embedded engine numbers every record 0, 1, 2, ...; the JetStream engine
// leaves gaps between appends (its offsets come from the stream sequence),
// so no caller may count records by subtracting offsets across appends.
// Consumers bind to lite topics through the ready set and are woken when
// records arrive; their positions (cursors) are held by the store.
//
// Engines: embedded_store (store/embedded_store.h, the default) keeps every
// lite topic in one commit log on local disk indexed in RocksDB;
// jetstream_store (store/jetstream/jetstream_store.h) keeps them in NATS
// JetStream streams and KV buckets so that several servers share them.
// store::open picks one from the options; nothing above the store knows
// which it has.
//
// Threading: every method is thread-safe. append() blocks until its record
// is committed; append_async() calls its callback on the engine's thread.
// Each engine's header says which calls wait on a disk or a network.
//
// Lifetime: open() returns a ready engine; the destructor completes or fails
// every pending append and stops the engine's threads.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/errc.h"
#include "store/options.h"

namespace litemcp::store {

struct append_ack {
    std::uint64_t offset = 0;        // the record's offset in its lite topic
    std::uint64_t position = 0;      // its position in the commit log
    std::uint64_t timestamp_ms = 0;  // the store's clock at append
};

struct record {
    std::string topic;
    std::uint64_t offset = 0;
    std::uint64_t timestamp_ms = 0;
    std::uint32_t flags = 0;
    std::string payload;
};

struct read_limits {
    std::size_t max_records = 1000;     // Default: 1,000
    std::size_t max_bytes = 4u << 20;   // payload bytes; Default: 4 MiB (at least one record is returned)
    // false: records come with their offsets, timestamps and flags and an
    // empty payload (a check of what a record is, without copying megabytes).
    bool payloads = true;               // Default: true
};

enum class read_outcome {
    ok,         // records from the requested offset on (possibly none: caught up)
    truncated,  // the requested offset is older than the retained start; nothing returned
};

struct read_batch {
    read_outcome outcome = read_outcome::ok;
    std::vector<record> records;
    std::uint64_t next_offset = 0;   // where to read next
    std::uint64_t first_offset = 0;  // oldest retained offset
    std::uint64_t end_offset = 0;    // the offset the next append will get
};

struct topic_info {
    std::string name;
    std::uint64_t id = 0;            // compact numeric id used in the index
    std::uint64_t first_offset = 0;  // retained start
    std::uint64_t end_offset = 0;    // next offset
    std::uint64_t retained_bytes = 0;
    std::uint64_t created_ms = 0;
    std::uint64_t last_write_ms = 0;
    std::vector<std::string> consumers;  // bound consumer ids
};

// Upper bounds (µs) of the fsync latency buckets in store_stats; the last
// bucket counts everything slower.
inline constexpr std::array<std::uint64_t, 12> fsync_bucket_micros = {50,    100,   250,    500,    1'000,  2'500,
                                                                      5'000, 10'000, 25'000, 50'000, 100'000, 1'000'000};

// Upper bounds (µs) of the JetStream acknowledgement latency buckets in
// store_stats; the last bucket counts everything slower.
inline constexpr std::array<std::uint64_t, 10> publish_bucket_micros = {100,   250,    500,    1'000,   2'500,
                                                                        5'000, 10'000, 25'000, 100'000, 1'000'000};

struct store_stats {
    std::uint64_t appends = 0;           // records acknowledged
    std::uint64_t append_batches = 0;    // group commits
    std::uint64_t append_bytes = 0;      // encoded bytes written
    std::uint64_t append_errors = 0;     // records failed
    std::uint64_t fsyncs = 0;
    std::uint64_t fsync_micros = 0;      // total time spent in fdatasync
    // fdatasync calls per latency bucket (fsync_bucket_micros), not cumulative.
    std::array<std::uint64_t, fsync_bucket_micros.size() + 1> fsync_buckets{};
    std::uint64_t reclaimed_topics = 0;
    std::uint64_t deleted_segments = 0;
    std::uint64_t log_bytes = 0;         // on disk
    std::uint64_t log_segments = 0;
    std::uint64_t index_disk_bytes = 0;  // RocksDB SST files
    std::uint64_t checkpoint = 0;        // log position the index is durable up to
    std::uint64_t log_end = 0;
    std::uint64_t consumers = 0;
    std::uint64_t bindings = 0;
    std::uint64_t wakes = 0;
    std::uint64_t recovered_records = 0;   // re-indexed at the last open
    std::uint64_t truncated_bytes = 0;     // torn tail cut at the last open
    // The last group commit failed (an I/O error, a full disk, the index
    // refusing a write): true until one succeeds again.
    bool writes_failing = false;
    std::uint64_t last_write_failure_ms = 0;  // wall clock of the last failed commit; 0: none since open

    // The JetStream engine only (zero, and connected, with the embedded one).
    bool remote = false;                  // the store lives in NATS JetStream
    bool connected = true;                // the connection to NATS is up
    std::uint64_t reconnects = 0;         // to NATS since open
    std::uint64_t wake_gaps = 0;          // wakes found missing (then caught up by reading)
    std::uint64_t publish_micros = 0;     // total time from publish to JetStream's acknowledgement
    std::array<std::uint64_t, publish_bucket_micros.size() + 1> publish_buckets{};
    std::uint64_t watched_topics = 0;     // wake subjects this server listens on
};

struct parent_info {
    std::string name;
    topic_policy policy;
    std::uint64_t lite_topics = 0;  // lite topics it holds now
};

class store {
public:
    using append_callback = std::function<void(result<append_ack>)>;
    using wake_fn = std::function<void()>;

    // Opens the engine the options name: the embedded commit log in
    // options.dir (the default), or JetStream when options.nats.servers is
    // set (store/jetstream/jetstream_store.h).
    static result<std::unique_ptr<store>> open(store_options options);
    virtual ~store() = default;
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // Adds or replaces a parent topic's policy.
    virtual result<void> define_parent(parent_topic parent) = 0;

    // Appends one record to a lite topic ("parent/lite"), creating the topic on
    // its first append. Blocks until the record is written (and fsynced in
    // `always` mode).
    virtual result<append_ack> append(std::string_view topic, std::string_view payload, std::uint32_t flags = 0) = 0;
    // The same without waiting; done runs on the committing thread (or on the
    // caller's thread when the request is rejected before queueing).
    virtual void append_async(std::string_view topic, std::string_view payload, std::uint32_t flags,
                              append_callback done) = 0;
    // Appends several records to one lite topic as consecutive offsets, in one
    // group commit: no other record comes between them and they land (or
    // fail) together. done gets the ack of the last one (the first has offset
    // ack.offset - records.size() + 1); it runs as append_async's does.
    struct record_spec {
        std::string_view payload;
        std::uint32_t flags = 0;
    };
    virtual void append_group_async(std::string_view topic, std::span<const record_spec> records,
                                    append_callback done) = 0;
    // The same, committed by the caller: the records wait in the queue,
    // without waking the appender thread, until commit_queued() runs on any
    // thread (or the appender wakes for other work, or the store closes).
    // An I/O thread queues a burst of requests this way and commits them
    // once, on its own thread; done then runs there, inside commit_queued().
    // (An engine without a local queue sends them at once; done then runs
    // where append_async's does.)
    virtual void append_group_deferred(std::string_view topic, std::span<const record_spec> records,
                                       append_callback done) = 0;
    // Commits everything queued (one group commit) on the calling thread.
    virtual void commit_queued() = 0;

    // Reads records from offset `from` on. not_found when the topic does not exist.
    virtual result<read_batch> read(std::string_view topic, std::uint64_t from, read_limits limits = {}) const = 0;
    virtual result<topic_info> topic(std::string_view topic) const = 0;
    // Deletes a lite topic now: its records, index entries and cursors.
    virtual result<void> remove_topic(std::string_view topic) = 0;

    // Broker-held consumer positions, persisted.
    virtual result<void> set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset) = 0;
    virtual result<std::optional<std::uint64_t>> cursor(std::string_view consumer, std::string_view topic) const = 0;

    // A key-value space for the layers above (sessions, workers), persisted.
    virtual result<void> kv_put(std::string_view key, std::string_view value) = 0;
    virtual result<std::optional<std::string>> kv_get(std::string_view key) const = 0;
    virtual result<void> kv_delete(std::string_view key) = 0;
    // Stores value unless the key exists, atomically (also across the servers
    // sharing a JetStream store); true when it stored it.
    virtual result<bool> kv_create(std::string_view key, std::string_view value) = 0;
    // Stores value if the key holds exactly `expected`, atomically (also
    // across servers): compare-and-set for records that several servers
    // change. true when it stored it; false when the key holds something
    // else or nothing (read it again and retry).
    virtual result<bool> kv_swap(std::string_view key, std::string_view expected, std::string_view value) = 0;
    // Deletes the key and returns what it held, atomically (also across
    // servers): of several servers taking the same record, one gets its
    // value, so one of them acts on its removal; nullopt when it holds nothing.
    virtual result<std::optional<std::string>> kv_take(std::string_view key) = 0;
    // Keys starting with prefix and greater than after, in key order.
    virtual result<std::vector<std::pair<std::string, std::string>>> kv_scan(std::string_view prefix,
                                                                             std::string_view after = {},
                                                                             std::size_t limit = 1000) const = 0;

    // The ready set. A consumer must be added before it binds. bind() makes the
    // consumer ready at once when the topic holds records past its cursor
    // (offset 0 when it has none).
    virtual result<void> add_consumer(std::string_view consumer, wake_fn wake) = 0;
    virtual void remove_consumer(std::string_view consumer) = 0;
    virtual result<void> bind(std::string_view consumer, std::string_view topic) = 0;
    virtual void unbind(std::string_view consumer, std::string_view topic) = 0;
    virtual std::vector<std::string> take_ready(std::string_view consumer) = 0;
    virtual void mark_ready(std::string_view consumer, std::string_view topic) = 0;
    virtual void suspend(std::string_view consumer, std::string_view topic, std::chrono::milliseconds duration) = 0;
    virtual void resume(std::string_view consumer, std::string_view topic) = 0;

    // Makes everything appended so far durable and flushes the index.
    virtual result<void> checkpoint() = 0;
    // Runs one reclaim pass now; returns how many lite topics it reclaimed.
    virtual result<std::size_t> reclaim() = 0;

    // Every parent topic, with its policy and how many lite topics it holds.
    virtual std::vector<parent_info> parents() const = 0;
    // Called for every record of every committed batch, after the ready set
    // was told; it must not block or append. One observer at a time (nullptr
    // removes it). For live views such as the admin API's tail; costs nothing
    // while unset.
    using append_observer = std::function<void(std::string_view topic, std::uint64_t offset, std::uint32_t flags,
                                               std::string_view payload)>;
    virtual void observe_appends(append_observer observer) = 0;

    // Signals between the servers sharing this store: small messages, not
    // stored, delivered at most once to every other server (never back to
    // this one) -- a cancellation, a takeover, the end of a session. The
    // embedded engine has no other server: signal() does nothing and ask()
    // hears no answer. channel: [a-z0-9_-]{1,32}, not starting with "store-"
    // (the engine's own questions).
    //
    // The handler runs on an engine thread and must not block; what it
    // returns answers a question (nullopt: no answer). One handler, set
    // before the first signal can arrive.
    using signal_handler = std::function<std::optional<std::string>(std::string_view channel, std::string_view payload)>;
    virtual void on_signal(signal_handler handler) = 0;
    // An error when the signal cannot go out (too large for the NATS
    // servers' max_payload, no connection); a signal that went out may
    // still be lost. Failures are also logged.
    virtual result<void> signal(std::string_view channel, std::string_view payload) = 0;
    // Asks the other servers; done gets the first answer, or nullopt when
    // none comes within wait. It runs on an engine thread, or at once.
    using answer_fn = std::function<void(std::optional<std::string> answer)>;
    virtual void ask(std::string_view channel, std::string_view payload, std::chrono::milliseconds wait,
                     answer_fn done) = 0;
    // Whether other servers may share this store (signals go somewhere).
    virtual bool shared() const = 0;

    virtual store_stats stats() const = 0;
    virtual const store_options& options() const = 0;

protected:
    store() = default;
};

// Validates a lite-topic name "parent/lite": parent [a-z0-9][a-z0-9._-]{0,63},
// lite [A-Za-z0-9._:@=+-]{1,191}. Returns the parent part.
result<std::string_view> parse_topic_name(std::string_view name);
// Validates a consumer id: [A-Za-z0-9._:@=+/-]{1,256}.
result<void> validate_consumer_id(std::string_view id);

}  // namespace litemcp::store
