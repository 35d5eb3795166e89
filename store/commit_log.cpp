#include "store/commit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace litemcp::store {

namespace fs = std::filesystem;

struct commit_log::segment {
    std::uint64_t base = 0;
    int fd = -1;
    std::atomic<std::uint64_t> size{0};
    std::string path;
    ~segment() {
        if (fd >= 0) ::close(fd);
    }
};

namespace {

std::string segment_name(std::uint64_t base) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%020" PRIu64 ".seg", base);
    return buf;
}

std::unexpected<error> os_error(const std::string& what, int err) {
    return make_error(errc::io_error, what + ": " + std::strerror(err));
}

result<void> sync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("open " + dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("fsync " + dir, err);
    return {};
}

}  // namespace

commit_log::commit_log(std::string dir, std::uint64_t segment_bytes)
    : dir_(std::move(dir)), segment_bytes_(segment_bytes) {}

commit_log::~commit_log() = default;

result<std::unique_ptr<commit_log>> commit_log::open(std::string dir, std::uint64_t segment_bytes) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error(errc::io_error, "create " + dir + ": " + ec.message());
    std::unique_ptr<commit_log> log(new commit_log(dir, segment_bytes));
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.size() != 24 || !name.ends_with(".seg")) continue;
        auto seg = std::make_shared<segment>();
        seg->base = std::strtoull(name.c_str(), nullptr, 10);
        seg->path = entry.path().string();
        seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CLOEXEC);
        if (seg->fd < 0) return os_error("open " + seg->path, errno);
        struct stat st {};
        if (::fstat(seg->fd, &st) != 0) return os_error("stat " + seg->path, errno);
        seg->size = static_cast<std::uint64_t>(st.st_size);
        log->segments_.emplace(seg->base, std::move(seg));
    }
    if (ec) return make_error(errc::io_error, "list " + dir + ": " + ec.message());
    // Segments are contiguous; a gap means a file went missing and positions
    // past it would be ambiguous, so everything after the gap is ignored.
    std::uint64_t expect = log->segments_.empty() ? 0 : log->segments_.begin()->first;
    for (auto it = log->segments_.begin(); it != log->segments_.end();) {
        if (it->first != expect) {
            it = log->segments_.erase(it);
            continue;
        }
        expect = it->first + it->second->size;
        ++it;
    }
    if (log->segments_.empty()) {
        if (auto r = log->roll(); !r) return std::unexpected(r.error());
        if (auto r = sync_dir(log->dir_); !r) return std::unexpected(r.error());
        log->dir_dirty_ = false;
    }
    log->end_ = expect;
    if (!log->segments_.empty()) {
        auto last = log->segments_.rbegin()->second;
        log->end_ = last->base + last->size;
        // What a crashed process wrote may still be only in the page cache:
        // the first sync() covers every segment found.
        log->durable_end_ = log->segments_.begin()->first;
    }
    return log;
}

result<void> commit_log::roll() {
    const std::uint64_t base = end_.load();
    auto seg = std::make_shared<segment>();
    seg->base = base;
    seg->path = dir_ + "/" + segment_name(base);
    seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (seg->fd < 0) return os_error("create " + seg->path, errno);
    std::unique_lock lock(mu_);
    segments_[base] = std::move(seg);
    dir_dirty_ = true;  // before end_ moves into the segment (append's release)
    return {};
}

std::shared_ptr<commit_log::segment> commit_log::active() const {
    std::shared_lock lock(mu_);
    return segments_.empty() ? nullptr : segments_.rbegin()->second;
}

std::shared_ptr<commit_log::segment> commit_log::find(std::uint64_t pos) const {
    std::shared_lock lock(mu_);
    auto it = segments_.upper_bound(pos);
    if (it == segments_.begin()) return nullptr;
    return std::prev(it)->second;
}

result<std::uint64_t> commit_log::append(std::string_view records) {
    if (records.size() > segment_bytes_)
        return make_error(errc::invalid_argument, "write larger than a segment");
    auto seg = active();
    if (seg->size.load() > 0 && seg->size.load() + records.size() > segment_bytes_) {
        // The finished segment is made durable by the next sync(), with the
        // new one's directory entry, not here: an fdatasync of up to a whole
        // segment would stall the appending thread (an I/O thread, in
        // commit_queued) for milliseconds.
        if (auto r = roll(); !r) return std::unexpected(r.error());
        seg = active();
    }
    const std::uint64_t at = seg->size.load();
    std::size_t done = 0;
    while (done < records.size()) {
        ssize_t n = ::pwrite(seg->fd, records.data() + done, records.size() - done,
                             static_cast<off_t>(at + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : ENOSPC;
            // Leave no partial record behind; if even that fails, recovery's CRC
            // check cuts the tail because size_ (our end) did not move.
            if (::ftruncate(seg->fd, static_cast<off_t>(at)) != 0) { /* recovery truncates */ }
            return os_error("write " + seg->path, err);
        }
        done += static_cast<std::size_t>(n);
    }
    seg->size.store(at + records.size());
    const std::uint64_t pos = seg->base + at;
    end_.store(pos + records.size(), std::memory_order_release);
    return pos;
}

result<void> commit_log::sync() {
    std::lock_guard serial(sync_mu_);
    // end_ first: a roll marks the directory dirty before end_ moves into
    // the new segment, so whatever end covers, new_files covers too.
    const std::uint64_t end = end_.load(std::memory_order_acquire);
    const bool new_files = dir_dirty_.exchange(false);
    const std::uint64_t from = durable_end_.load();
    std::vector<std::shared_ptr<segment>> dirty;  // every segment holding bytes in [from, end)
    {
        std::shared_lock lock(mu_);
        auto it = segments_.upper_bound(from);
        if (it != segments_.begin()) --it;
        for (; it != segments_.end() && it->first < end; ++it)
            if (it->first + it->second->size.load() > from) dirty.push_back(it->second);
    }
    auto failed = [&](std::unexpected<error> e) {
        if (new_files) dir_dirty_ = true;
        return e;
    };
    for (auto& seg : dirty) {
        if (::fdatasync(seg->fd) != 0) return failed(os_error("fdatasync " + seg->path, errno));
        ++file_syncs_;
    }
    if (new_files) {
        if (auto r = sync_dir(dir_); !r) return failed(std::unexpected(r.error()));
        ++file_syncs_;
    }
    if (end > from) durable_end_ = end;
    return {};
}

result<void> commit_log::read(std::uint64_t pos, std::size_t n, std::string& out) const {
    auto seg = find(pos);
    if (!seg || pos + n > seg->base + seg->size.load())
        return make_error(errc::corrupt, "position " + std::to_string(pos) + " is outside the log");
    out.resize(n);
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(seg->fd, out.data() + done, n - done,
                            static_cast<off_t>(pos - seg->base + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return os_error("read " + seg->path, errno);
        if (r == 0) return make_error(errc::corrupt, "short read in " + seg->path);
        done += static_cast<std::size_t>(r);
    }
    return {};
}

result<std::uint64_t> commit_log::scan(
    std::uint64_t from, std::uint32_t max_record_bytes,
    const std::function<void(std::uint64_t, const record_view&)>& visit) const {
    std::vector<std::shared_ptr<segment>> segs;
    {
        std::shared_lock lock(mu_);
        for (auto& [base, seg] : segments_)
            if (base + seg->size.load() > from || base >= from) segs.push_back(seg);
    }
    std::uint64_t pos = from;
    std::string buf;
    constexpr std::size_t chunk = 4u << 20;
    for (auto& seg : segs) {
        if (pos < seg->base) return pos;  // gap: stop at the clean end
        const std::uint64_t seg_end = seg->base + seg->size.load();
        std::uint64_t buf_pos = pos;  // position of buf[0]
        buf.clear();
        while (pos < seg_end) {
            std::size_t have = buf.size() - (pos - buf_pos);
            record_view rec;
            auto outcome = decode_record(std::string_view(buf).substr(pos - buf_pos), max_record_bytes, rec);
            if (outcome == decode_outcome::ok) {
                visit(pos, rec);
                pos += rec.length;
                continue;
            }
            if (outcome != decode_outcome::short_buffer) return pos;
            // Need more bytes: refill from pos.
            const std::uint64_t want = std::min<std::uint64_t>(seg_end - pos, std::max<std::size_t>(chunk, have + max_record_bytes + record_header_bytes + 65536));
            if (want <= have) return pos;  // the segment ends inside a record: torn tail
            auto r = read(pos, static_cast<std::size_t>(want), buf);
            if (!r) return std::unexpected(r.error());
            buf_pos = pos;
        }
    }
    return pos;
}

result<void> commit_log::truncate(std::uint64_t pos) {
    std::vector<std::shared_ptr<segment>> doomed;
    {
        std::unique_lock lock(mu_);
        for (auto it = segments_.begin(); it != segments_.end();) {
            auto& seg = it->second;
            if (seg->base > pos || (seg->base == pos && seg->base != segments_.begin()->first)) {
                doomed.push_back(seg);
                it = segments_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& seg : doomed)
        if (::unlink(seg->path.c_str()) != 0) return os_error("unlink " + seg->path, errno);
    auto seg = active();
    if (pos < seg->base + seg->size.load()) {
        if (::ftruncate(seg->fd, static_cast<off_t>(pos - seg->base)) != 0)
            return os_error("truncate " + seg->path, errno);
        if (::fdatasync(seg->fd) != 0) return os_error("fdatasync " + seg->path, errno);
        ++file_syncs_;
        seg->size = pos - seg->base;
    }
    end_.store(seg->base + seg->size.load());
    if (durable_end_.load() > end_.load()) durable_end_ = end_.load();
    ++file_syncs_;
    return sync_dir(dir_);
}

result<void> commit_log::remove_segment(std::uint64_t base) {
    std::shared_ptr<segment> seg;
    {
        std::unique_lock lock(mu_);
        auto it = segments_.find(base);
        if (it == segments_.end()) return make_error(errc::not_found, "no segment at " + std::to_string(base));
        if (std::next(it) == segments_.end()) return make_error(errc::invalid_argument, "the active segment is never removed");
        seg = it->second;
        segments_.erase(it);
    }
    if (::unlink(seg->path.c_str()) != 0) return os_error("unlink " + seg->path, errno);
    std::lock_guard lock(removed_mu_);
    removed_.push_back(std::move(seg));
    return {};
}

void commit_log::close_removed() {
    std::vector<std::shared_ptr<segment>> closing;
    {
        std::lock_guard lock(removed_mu_);
        closing.swap(removed_);
    }
    // Dropping the last references closes the files, here.
}

std::vector<segment_info> commit_log::segments() const {
    std::shared_lock lock(mu_);
    std::vector<segment_info> out;
    out.reserve(segments_.size());
    for (auto& [base, seg] : segments_) out.push_back({base, seg->size.load()});
    return out;
}

std::uint64_t commit_log::segment_of(std::uint64_t pos) const {
    std::shared_lock lock(mu_);
    auto it = segments_.upper_bound(pos);
    return it == segments_.begin() ? 0 : std::prev(it)->first;
}

std::uint64_t commit_log::start() const {
    std::shared_lock lock(mu_);
    return segments_.empty() ? 0 : segments_.begin()->first;
}

std::uint64_t commit_log::bytes_on_disk() const {
    std::shared_lock lock(mu_);
    std::uint64_t total = 0;
    for (auto& [base, seg] : segments_) total += seg->size.load();
    return total;
}

}  // namespace litemcp::store
