// The store's implementation class; internal to store/.
//
// Threads: callers (append/read/cursor/kv/ready-set calls), the appender,
// and the maintenance thread (interval fsync, checkpoints, scheduling
// reclaim passes on the appender). Whichever thread commits a batch holds
// commit_mu_, which guards the committing state (topic state, the topic
// cache, parent counts and every write of topic metadata): the appender, or
// a caller committing the queue itself (commit_queued, a blocking append).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "store/commit_log.h"
#include "store/index.h"
#include "store/ready_set.h"
#include "store/embedded_store.h"
#include "store/tail_cache.h"

namespace litemcp::store {

// Appender-owned in-memory state of lite topics, bounded LRU over the index.
class topic_cache {
public:
    explicit topic_cache(std::size_t capacity) : capacity_(capacity) {}
    topic_meta* find(std::string_view name);
    topic_meta* insert(topic_meta m);
    void erase(std::string_view name);
    std::size_t size() const { return map_.size(); }

private:
    using list_t = std::list<topic_meta>;
    std::size_t capacity_;
    list_t lru_;  // front = most recent
    string_map<list_t::iterator> map_;
};

class embedded_store::impl {
public:
    explicit impl(store_options o);
    ~impl();

    result<void> start();  // opens, recovers, starts threads
    void stop();

    // --- callers ---
    // Where a blocking append() waits. Shared by the caller and the appender,
    // so complete() can notify after unlocking (the woken caller does not
    // then block on the mutex) without the slot dying under it.
    struct sync_slot {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
        result<append_ack> value = make_error(errc::closed, "not completed");
        void complete(result<append_ack> r) {
            {
                std::lock_guard lock(mu);
                value = std::move(r);
                done = true;
            }
            cv.notify_one();
        }
        bool is_done() {
            std::lock_guard lock(mu);
            return done;
        }
        result<append_ack> wait() {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return done; });
            return std::move(value);
        }
    };
    struct pending {
        // A blocking caller's strings are used in place (it waits); an async
        // caller's are copied into owned (topic then payload). Views into owned
        // are made on use: moving a short string moves its bytes.
        std::string_view ext_topic, ext_payload;
        std::string owned;
        std::size_t topic_len = 0;
        bool is_owned = false;
        std::string_view topic() const {
            return is_owned ? std::string_view(owned).substr(0, topic_len) : ext_topic;
        }
        std::string_view payload() const {
            return is_owned ? std::string_view(owned).substr(topic_len) : ext_payload;
        }
        std::uint32_t flags = 0;
        // More records of the same group follow it in the queue: the batch
        // is not cut after this one.
        bool group_continues = false;
        append_callback done;
        std::shared_ptr<sync_slot> slot;
        // filled by the appender
        std::uint64_t offset = 0, timestamp_ms = 0, pos = 0;
        std::uint32_t size = 0;
        topic_meta* state = nullptr;
        std::size_t policy = 0;  // its parent's, in the batch's list of policies
        bool failed = false;
        error err;
    };
    // Queues one append, or a group (consecutive in the queue, so committed
    // in one batch), moving from records; fails it when the store is closing.
    // wake: let the appender commit it (an ordinary append), or leave it for
    // commit_queued() (append_group_deferred).
    void enqueue(std::span<pending> records, bool wake);
    // With q_mu_ held: waits while the queue is full (max_pending_appends).
    void wait_for_room(std::unique_lock<std::mutex>& lock);
    result<void> check_append(std::string_view topic, std::string_view payload) const;
    std::optional<topic_policy> policy_of(std::string_view parent) const;

    // --- appender thread ---
    void run_appender();
    // Takes what is queued and commits it as one batch, one caller at a
    // time: the appender thread, which then runs the queued jobs, or a
    // caller's (commit_queued, a blocking append), which leaves the jobs to
    // the appender.
    // Returns whether more appends are queued (a batch stops at max_batch_bytes).
    bool drain(bool run_jobs);
    bool drain_held(bool run_jobs);  // the same, with commit_mu_ held
    // A blocking append's record is queued (mine: its slot): commits the
    // queue up to it on the calling thread when no other thread is
    // committing; else, or for what is queued after it, wakes the appender.
    void commit_here_or_wake(sync_slot& mine);
    void commit(std::vector<pending>& batch);
    // Adds index writes for one record already in the log: entry, metadata,
    // segment and parent counts, retention trim, expiry key. Shared by append
    // and recovery.
    void index_record(index::batch& b, topic_meta& m, const topic_policy& policy, std::uint64_t offset,
                      std::uint64_t pos, std::uint32_t size, std::uint64_t ts);
    result<topic_meta*> load_topic(std::string_view name);
    result<topic_meta*> create_topic(std::string_view name, std::string_view parent, std::uint64_t id,
                                     std::uint64_t now_ms);
    void flush_counts(index::batch& b);
    result<std::size_t> reclaim_pass();
    // Adds the removal of a topic to b and updates the counts.
    result<void> drop_topic(index::batch& b, const topic_meta& m);
    result<void> remove_topic_now(std::string_view name);
    void delete_dead_segments();
    result<void> recover();

    // Runs f on the appender thread and waits for it.
    template <class F>
    auto on_appender(F f) -> decltype(f());

    // --- maintenance ---
    void run_maintenance();
    void run_syncer();
    result<void> checkpoint_now();
    result<void> sync_log();

    std::uint64_t now_ms() const;

    store_options opts_;
    std::unique_ptr<commit_log> log_;
    std::unique_ptr<index> index_;
    std::unique_ptr<tail_cache> cache_;
    ready_set ready_;

    mutable std::shared_mutex parents_mu_;
    std::mutex kv_write_mu_;  // key writes, so kv_create's and kv_swap's read-then-write is atomic
    std::map<std::string, topic_policy, std::less<>> parents_;

    // appender queue
    std::mutex q_mu_;
    std::condition_variable q_cv_;       // appender waits for work
    std::condition_variable space_cv_;   // producers wait for room
    std::deque<pending> queue_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    bool wanted_ = false;  // the appender has work it was not told to wait for
    std::thread appender_;
    // Held while a batch is taken from the queue and committed, so batches
    // commit in queue order whichever thread commits them.
    std::mutex commit_mu_;
    std::vector<pending> drain_batch_;             // guarded by commit_mu_
    std::vector<std::function<void()>> drain_jobs_;  // guarded by commit_mu_

    // appender-owned
    topic_cache topics_;
    std::uint64_t next_topic_id_ = 1;
    std::map<std::string, std::int64_t, std::less<>> parent_counts_;
    std::mutex observer_mu_;
    std::shared_ptr<const append_observer> observer_;  // read by the committing thread per batch
    std::map<std::uint64_t, std::int64_t> segment_counts_;  // live records per segment
    std::map<std::uint64_t, std::int64_t> segment_deltas_;  // pending in the batch
    std::map<std::string, std::int64_t, std::less<>> parent_deltas_;
    // Entries indexed by the batch being built, which the index cannot see yet
    // (retention may trim them within the same batch).
    std::map<std::pair<std::uint64_t, std::uint64_t>, offset_entry> batch_entries_;
    std::string buf_;

    // progress, readable from any thread
    std::atomic<std::uint64_t> indexed_end_{0};      // log end covered by committed index batches
    std::atomic<std::uint64_t> durable_checkpoint_{0};  // ... and flushed to disk
    std::mutex checkpoint_mu_;

    // maintenance
    std::mutex m_mu_;
    std::condition_variable m_cv_;
    bool m_stopping_ = false;
    std::thread maintenance_;  // checkpoints and reclaim passes
    std::thread syncer_;       // the interval fsync (fsync_mode::interval only)
    std::atomic<bool> log_dirty_{false};

    // stats
    std::array<std::atomic<std::uint64_t>, fsync_bucket_micros.size() + 1> fsync_buckets_{};
    std::atomic<std::uint64_t> appends_{0}, batches_{0}, bytes_{0}, errors_{0}, fsyncs_{0},
        fsync_us_{0}, reclaimed_{0}, deleted_segments_{0};
    std::uint64_t recovered_records_ = 0, truncated_bytes_ = 0;
    std::atomic<bool> writes_failing_{false};
    std::atomic<std::uint64_t> last_write_failure_ms_{0};
};

template <class F>
auto embedded_store::impl::on_appender(F f) -> decltype(f()) {
    using R = decltype(f());
    std::optional<R> out;
    std::mutex mu;
    std::condition_variable cv;
    {
        std::lock_guard lock(q_mu_);
        if (stopping_) return make_error(errc::closed, "the store is closing");
        jobs_.push_back([&] {
            R r = f();
            std::lock_guard l(mu);
            out.emplace(std::move(r));
            cv.notify_one();
        });
        wanted_ = true;
    }
    q_cv_.notify_one();
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return out.has_value(); });
    return std::move(*out);
}

}  // namespace litemcp::store
