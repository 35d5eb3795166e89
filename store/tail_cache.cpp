#include "store/tail_cache.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace litemcp::store {

tail_cache::tail_cache(std::uint64_t capacity_bytes) : buf_(capacity_bytes) {}

void tail_cache::append(std::uint64_t pos, std::string_view bytes) {
    if (buf_.empty()) return;
    const std::uint64_t cap = buf_.size();
    std::unique_lock lock(mu_);
    if (pos != end_) start_ = end_ = pos;
    const std::uint64_t new_end = pos + bytes.size();
    if (bytes.size() > cap) bytes.remove_prefix(bytes.size() - cap);  // only the newest fit
    const std::uint64_t at = new_end - bytes.size();
    std::size_t done = 0;
    while (done < bytes.size()) {
        const std::uint64_t slot = (at + done) % cap;
        const std::size_t n = std::min<std::uint64_t>(bytes.size() - done, cap - slot);
        std::memcpy(buf_.data() + slot, bytes.data() + done, n);
        done += n;
    }
    end_ = new_end;
    if (end_ - start_ > cap) start_ = end_ - cap;
}

void tail_cache::reset(std::uint64_t pos) {
    std::unique_lock lock(mu_);
    start_ = end_ = pos;
}

bool tail_cache::read(std::uint64_t pos, std::size_t n, std::string& out) const {
    if (buf_.empty()) return false;
    const std::uint64_t cap = buf_.size();
    std::shared_lock lock(mu_);
    if (pos < start_ || pos + n > end_) return false;
    out.resize(n);
    std::size_t done = 0;
    while (done < n) {
        const std::uint64_t slot = (pos + done) % cap;
        const std::size_t len = std::min<std::uint64_t>(n - done, cap - slot);
        std::memcpy(out.data() + done, buf_.data() + slot, len);
        done += len;
    }
    return true;
}

}  // namespace litemcp::store
