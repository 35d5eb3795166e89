// The JetStream engine of the store (store/store.h): lite topics in NATS
// JetStream, so that every litemcp server connected to the same NATS
// cluster sees the same topics, cursors and keys (docs/cluster.md).
//
//   parent topic  -> `shards` streams "<prefix>_<parent>_<n>" (file storage,
//                    `replicas` copies, MaxMsgsPerSubject = max_records,
//                    MaxAge = idle_ttl, Direct Get allowed, every stored
//                    message republished on its wake subject)
//   lite topic    -> one subject of one of them (names.h)
//   offset        -> stream sequence << 12 | index in the append's group
//                    (message_codec.h): growing, with gaps between appends
//   read          -> Direct Get by subject from a sequence (any replica);
//                    the leader's get when a replica lags behind a wake
//   ready set     -> wake subjects with core-NATS interest (wake_router.h)
//   cursors, keys -> KV buckets (kv_space.h)
//
// What differs from the embedded engine, by design: per-topic byte
// retention and the per-parent topic count are not enforced (the record
// count and the age are); records expire by age (MaxAge), and a topic
// whose last record aged out is reported idle (idle_reclaimer.h) some time
// after, not at once; read() never reports truncation (a reader behind the retained
// start continues from the oldest record); checkpoint() has nothing to do
// (JetStream writes on its own; 2.9 acknowledges before its fsync:
// docs/cluster.md says what survives which failure).
//
// Threading: every method is thread-safe. Appends never block on the
// network (publisher.h) unless max_pending_appends are unacknowledged;
// append() waits for its acknowledgement. Reads, topic(), cursors, keys,
// bind() and define_parent() wait for one or more round trips to NATS: the
// callers must not run them on an I/O thread. Callbacks (append done, wakes,
// the observer) run on libnats threads.
//
// Lifetime: open() connects, creates or updates the buckets and streams;
// the destructor stops listening, fails unacknowledged appends with
// errc::closed and closes the connection.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>

#include "store/jetstream/idle_reclaimer.h"
#include "store/jetstream/kv_space.h"
#include "store/jetstream/names.h"
#include "store/jetstream/nats_link.h"
#include "store/jetstream/publisher.h"
#include "store/jetstream/signals.h"
#include "store/jetstream/wake_router.h"
#include "store/ready_set.h"
#include "store/store.h"

namespace litemcp::store::jetstream {

class jetstream_store final : public store {
public:
    static result<std::unique_ptr<store>> open(store_options options);
    ~jetstream_store() override;

    result<void> define_parent(parent_topic parent) override;
    result<append_ack> append(std::string_view topic, std::string_view payload, std::uint32_t flags = 0) override;
    void append_async(std::string_view topic, std::string_view payload, std::uint32_t flags,
                      append_callback done) override;
    void append_group_async(std::string_view topic, std::span<const record_spec> records,
                            append_callback done) override;
    void append_group_deferred(std::string_view topic, std::span<const record_spec> records,
                               append_callback done) override;
    void commit_queued() override {}
    result<read_batch> read(std::string_view topic, std::uint64_t from, read_limits limits = {}) const override;
    result<topic_info> topic(std::string_view topic) const override;
    result<void> remove_topic(std::string_view topic) override;
    result<void> set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset) override;
    result<std::optional<std::uint64_t>> cursor(std::string_view consumer, std::string_view topic) const override;
    result<void> kv_put(std::string_view key, std::string_view value) override;
    result<std::optional<std::string>> kv_get(std::string_view key) const override;
    result<void> kv_delete(std::string_view key) override;
    result<bool> kv_create(std::string_view key, std::string_view value) override;
    result<bool> kv_swap(std::string_view key, std::string_view expected, std::string_view value) override;
    result<std::optional<std::string>> kv_take(std::string_view key) override;
    result<std::vector<std::pair<std::string, std::string>>> kv_scan(std::string_view prefix,
                                                                     std::string_view after = {},
                                                                     std::size_t limit = 1000) const override;
    result<void> add_consumer(std::string_view consumer, wake_fn wake) override;
    void remove_consumer(std::string_view consumer) override;
    result<void> bind(std::string_view consumer, std::string_view topic) override;
    void unbind(std::string_view consumer, std::string_view topic) override;
    std::vector<std::string> take_ready(std::string_view consumer) override;
    void mark_ready(std::string_view consumer, std::string_view topic) override;
    void suspend(std::string_view consumer, std::string_view topic, std::chrono::milliseconds duration) override;
    void resume(std::string_view consumer, std::string_view topic) override;
    result<void> checkpoint() override { return {}; }
    result<std::size_t> reclaim() override { return reclaimer_->pass(true); }
    std::vector<parent_info> parents() const override;
    void observe_appends(append_observer observer) override;
    void on_signal(signal_handler handler) override;
    result<void> signal(std::string_view channel, std::string_view payload) override;
    void ask(std::string_view channel, std::string_view payload, std::chrono::milliseconds wait,
             answer_fn done) override;
    bool shared() const override { return true; }
    store_stats stats() const override;
    const store_options& options() const override { return opts_; }

private:
    explicit jetstream_store(store_options o);
    result<void> start();
    result<void> ensure_stream(const std::string& parent, int shard, const topic_policy& policy);
    result<void> ensure_streams(const std::vector<parent_topic>& parents);
    // The topic's policy, after checking its name; errors as the embedded engine's.
    result<topic_policy> policy_for(std::string_view topic) const;
    void send(std::string_view topic, std::span<const record_spec> records, append_callback done);
    void count_result(bool ok, std::size_t records, std::size_t bytes);

    store_options opts_;
    names names_;
    std::unique_ptr<nats_link> link_;
    ready_set ready_;
    std::unique_ptr<publisher> publisher_;
    std::unique_ptr<wake_router> router_;
    std::unique_ptr<kv_space> kv_;
    std::unique_ptr<signals> signals_;
    std::unique_ptr<idle_reclaimer> reclaimer_;

    mutable std::shared_mutex parents_mu_;
    std::map<std::string, topic_policy, std::less<>> parents_;

    std::atomic<std::uint64_t> appends_{0}, append_bytes_{0}, append_errors_{0}, last_failure_ms_{0};
    std::atomic<bool> failing_{false};
};

}  // namespace litemcp::store::jetstream
