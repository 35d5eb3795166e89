// Helpers shared by the tests: a temporary folder that cleans up after itself
// and a store opened on it with small, test-friendly options.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/store.h"

namespace litemcp::test {

class temp_dir {
public:
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "litemcp-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline store::store_options small_options(const std::string& dir) {
    store::store_options o;
    o.dir = dir;
    o.fsync = store::durability{store::fsync_mode::never, {}};
    o.segment_bytes = 64 * 1024;
    o.tail_cache_bytes = 16 * 1024;
    o.index_cache_bytes = 1 << 20;
    o.index_write_buffer_bytes = 1 << 20;
    o.checkpoint_interval = std::chrono::milliseconds(200);
    o.reclaim_interval = std::chrono::hours(1);  // tests call reclaim() themselves
    store::topic_policy p;
    p.max_record_size = 8 * 1024;
    o.parents.push_back({"t", p});
    return o;
}

inline std::unique_ptr<store::store> open_store(const store::store_options& o) {
    auto s = store::store::open(o);
    REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().message));
    return std::move(*s);
}

}  // namespace litemcp::test
