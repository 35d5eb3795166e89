// The commit log: one append-only sequence of segment files shared by every
// lite topic. A position is a global byte offset; segment files are named
// after the position of their first byte and are contiguous, so positions
// never repeat. Records never span two segments.
//
// Threading: append(), truncate() and remove_segment() are called by one
// thread at a time (the store's appender). read(), sync(), close_removed()
// and end() may be called from any thread concurrently with them.
// Lifetime: owned by the store; closing it closes every segment file.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/errc.h"
#include "store/record.h"

namespace litemcp::store {

struct segment_info {
    std::uint64_t base = 0;   // position of the segment's first byte
    std::uint64_t bytes = 0;  // bytes of records it holds
};

class commit_log {
public:
    // Opens (creating if needed) the segments in dir. segment_bytes bounds a segment.
    static result<std::unique_ptr<commit_log>> open(std::string dir, std::uint64_t segment_bytes);
    ~commit_log();
    commit_log(const commit_log&) = delete;
    commit_log& operator=(const commit_log&) = delete;

    // Writes whole encoded records (at most segment_bytes) at end(), first rolling
    // to a new segment when they do not fit in the active one. On failure nothing
    // is left behind: a partial write is cut off again. Returns the position of
    // the first byte written.
    result<std::uint64_t> append(std::string_view records);

    // Makes every byte written so far durable: an fdatasync of each segment
    // holding bytes past durable_end() (a segment finished by a roll
    // included; append() never syncs), then of the directory when segments
    // were created since the last sync. Calls are serialized.
    result<void> sync();
    // Position up to which the last successful sync() made the log durable.
    std::uint64_t durable_end() const noexcept { return durable_end_.load(); }
    // fdatasync/fsync calls the log has made (segment files and the
    // directory; opening an empty folder's first segment aside).
    std::uint64_t file_syncs() const noexcept { return file_syncs_.load(); }

    // Reads n bytes at pos into out (resized). Fails with corrupt when pos lies
    // in no segment or past the end.
    result<void> read(std::uint64_t pos, std::size_t n, std::string& out) const;

    // Visits each valid record from pos on, in order; returns the position just
    // past the last valid record (the end of clean data). The visitor sees views
    // into a temporary buffer.
    result<std::uint64_t> scan(std::uint64_t from, std::uint32_t max_record_bytes,
                               const std::function<void(std::uint64_t pos, const record_view&)>& visit) const;

    // Drops every byte at and after pos (recovery of a torn tail).
    result<void> truncate(std::uint64_t pos);

    // Deletes a whole segment file. The active (last) segment is never removed.
    // The unlinked file stays open until close_removed(): the last close of
    // a deleted file frees its blocks (and, on a file system mounted with
    // `discard`, waits for the device), which took 10 ms and more on the
    // appender thread while it held the commit lock.
    result<void> remove_segment(std::uint64_t base);
    // Closes the files of the segments removed so far (a reader still holding
    // one closes it when done). Called by the store's maintenance thread.
    void close_removed();

    std::vector<segment_info> segments() const;
    // Base of the segment holding pos (the active segment's base past the end).
    std::uint64_t segment_of(std::uint64_t pos) const;
    std::uint64_t end() const noexcept { return end_.load(std::memory_order_acquire); }
    std::uint64_t start() const;  // position of the oldest byte still on disk
    std::uint64_t bytes_on_disk() const;

private:
    struct segment;
    commit_log(std::string dir, std::uint64_t segment_bytes);
    result<void> roll();
    std::shared_ptr<segment> active() const;
    std::shared_ptr<segment> find(std::uint64_t pos) const;

    std::string dir_;
    std::uint64_t segment_bytes_;
    mutable std::shared_mutex mu_;  // guards segments_
    std::map<std::uint64_t, std::shared_ptr<segment>> segments_;
    std::atomic<std::uint64_t> end_{0};
    std::mutex removed_mu_;                    // guards removed_
    std::vector<std::shared_ptr<segment>> removed_;  // unlinked, still open
    std::mutex sync_mu_;                       // serializes sync()
    std::atomic<bool> dir_dirty_{false};       // a segment was created since the last sync()
    std::atomic<std::uint64_t> durable_end_{0};
    std::atomic<std::uint64_t> file_syncs_{0};
};

}  // namespace litemcp::store
