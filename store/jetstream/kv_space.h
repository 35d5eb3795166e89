// The store's key-value space and consumer cursors, in two JetStream KV
// buckets ("<prefix>_records", "<prefix>_cursors"; history 1, no TTL,
// replicas as configured). Keys are stored as bucket keys of tokens
// (names.h): each '/'-separated part of a record key is one token, so a scan
// of a prefix ending in '/' reads only the keys below it.
//
// kv_scan reads the matching keys' newest values through an ordered
// consumer and sorts them: it costs one pass over the matching keys, so the
// callers page through large ranges rarely (start-up loads, admin listings).
//
// Threading: thread-safe; every call blocks for one round trip (a scan: one
// per batch of keys). Lifetime: owned by jetstream_store, within the link.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/jetstream/names.h"
#include "store/jetstream/nats_link.h"
#include "store/options.h"

namespace litemcp::store::jetstream {

class kv_space {
public:
    kv_space(nats_link& link, const names& n);
    ~kv_space();
    kv_space(const kv_space&) = delete;
    kv_space& operator=(const kv_space&) = delete;

    // Creates (or opens) both buckets.
    result<void> open(int replicas);

    result<void> put(std::string_view key, std::string_view value);
    result<std::optional<std::string>> get(std::string_view key) const;
    result<void> remove(std::string_view key);
    result<bool> create(std::string_view key, std::string_view value);
    // Compare-and-set: reads the key's value and revision from the leader,
    // then updates it only at that revision (two round trips).
    result<bool> swap(std::string_view key, std::string_view expected, std::string_view value);
    // Purges the key and returns what it held: a read at the leader and a
    // purge conditional on it (again when another write came between).
    result<std::optional<std::string>> take(std::string_view key);
    result<std::vector<std::pair<std::string, std::string>>> scan(std::string_view prefix, std::string_view after,
                                                                  std::size_t limit) const;

    result<void> set_cursor(std::string_view consumer, std::string_view topic, std::uint64_t offset);
    result<std::optional<std::uint64_t>> cursor(std::string_view consumer, std::string_view topic) const;
    // Forgets every cursor of a topic.
    result<void> remove_cursors(std::string_view topic);

private:
    // Stores value (nullopt: a purge marker) if the key's last sequence is
    // still `last` (0: it has none); true when this write is the one stored.
    result<bool> conditional_write(std::string_view key, std::uint64_t last, std::optional<std::string_view> value);

    nats_link& link_;
    const names& names_;
    kvStore* records_ = nullptr;
    kvStore* cursors_ = nullptr;
};

}  // namespace litemcp::store::jetstream
