// The embedded engine of the store (store/store.h): every lite topic in one
// commit log on local disk (store/commit_log.h), indexed in RocksDB
// (store/index.h), offsets dense per lite topic (0, 1, 2, ...).
//
// Threading: appends from all threads are queued and written as one batch
// (group commit): one log write, one fsync in `always` mode, one RocksDB
// WriteBatch. The appender thread commits them, or a caller: the one that
// queued deferred appends, in commit_queued(), and a blocking append() when
// no other thread is committing (it would only wait for the appender). One
// batch at a time, in queue order. Reads run on the caller's thread and
// never wait for the appender. A maintenance thread syncs the log (interval
// mode), checkpoints the index and asks the appender to reclaim expired
// topics. The append observer and the callbacks of async appends run on the
// committing thread, so they never wait for the store.
//
// Lifetime: open() recovers the folder (docs/store.md, "Durability and
// recovery") and starts the threads; the destructor completes every queued
// append, syncs the log, checkpoints the index and joins the threads. One
// process per folder.
#pragma once

#include "store/store.h"

namespace litemcp::store {

class embedded_store final : public store {
public:
    static result<std::unique_ptr<store>> open(store_options options);
    ~embedded_store() override;

    result<void> define_parent(parent_topic parent) override;
    result<append_ack> append(std::string_view topic, std::string_view payload, std::uint32_t flags = 0) override;
    void append_async(std::string_view topic, std::string_view payload, std::uint32_t flags,
                      append_callback done) override;
    void append_group_async(std::string_view topic, std::span<const record_spec> records,
                            append_callback done) override;
    void append_group_deferred(std::string_view topic, std::span<const record_spec> records,
                               append_callback done) override;
    void commit_queued() override;
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
    result<void> checkpoint() override;
    result<std::size_t> reclaim() override;
    std::vector<parent_info> parents() const override;
    void observe_appends(append_observer observer) override;
    // One process per folder: nobody to signal.
    void on_signal(signal_handler) override {}
    result<void> signal(std::string_view, std::string_view) override { return {}; }
    void ask(std::string_view, std::string_view, std::chrono::milliseconds, answer_fn done) override {
        if (done) done(std::nullopt);
    }
    bool shared() const override { return false; }
    store_stats stats() const override;
    const store_options& options() const override;

    class impl;

private:
    explicit embedded_store(std::unique_ptr<impl> p);
    void append_group(std::string_view topic, std::span<const record_spec> records, append_callback done, bool wake);
    std::unique_ptr<impl> impl_;
};

}  // namespace litemcp::store
