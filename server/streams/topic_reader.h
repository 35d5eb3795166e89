// Reading a lite topic from an offset to its end, in bounded batches, with
// records lost to retention skipped (logged): the one read loop of every
// reader of topics -- the topic followers of session and listen streams,
// and the worker hub reading its queues.
//
// Threading: as thread-safe as the store's read(); pos is the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "store/store.h"

namespace litemcp::server {

enum class follow_outcome {
    caught_up,  // every record up to the topic's end was handed over
    stopped,    // the reader's callback said stop (its stream ended, or it has what it wanted)
    gone,       // the topic does not exist (never written, or removed)
    failed,     // the store could not read it (logged)
};

// Hands the records of topic from pos on to each, in offset order, until
// each returns false or the end is reached; pos ends past the last record
// handed over. what names the reader in log lines ("session 3f2a...").
follow_outcome read_topic(store::store& st, std::string_view topic, std::uint64_t& pos,
                          const std::function<bool(const store::record&)>& each, std::string_view what);

}  // namespace litemcp::server
