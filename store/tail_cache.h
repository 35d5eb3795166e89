// An in-memory ring holding the newest bytes of the commit log, so readers
// that follow the tail (live streams, recent replays) never touch the disk.
//
// Threading: append() and reset() are called by the appender only; read()
// from any thread. A shared mutex makes a read see whole appends. Lifetime:
// owned by the store; its contents are rebuilt empty at open.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace litemcp::store {

class tail_cache {
public:
    explicit tail_cache(std::uint64_t capacity_bytes);

    // Records bytes written at pos; pos must equal the end of what was appended
    // before (otherwise the cache restarts at pos).
    void append(std::uint64_t pos, std::string_view bytes);
    // Forgets everything and starts at pos (after recovery or truncation).
    void reset(std::uint64_t pos);
    // Copies [pos, pos+n) into out when all of it is cached.
    bool read(std::uint64_t pos, std::size_t n, std::string& out) const;

    std::uint64_t capacity() const noexcept { return buf_.size(); }

private:
    mutable std::shared_mutex mu_;
    std::vector<char> buf_;
    std::uint64_t start_ = 0;  // oldest cached position
    std::uint64_t end_ = 0;    // one past the newest cached position
};

}  // namespace litemcp::store
