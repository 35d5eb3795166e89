// Error values of the store module. Every fallible store call returns a
// result<T> (std::expected) carrying one of these codes and a message meant
// for an operator; nothing in store/ throws across its public API.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace litemcp::store {

enum class errc {
    invalid_name,      // topic or consumer name fails validation
    unknown_parent,    // the parent topic of a lite topic is not defined
    record_too_large,  // payload exceeds the parent's max_record_size
    topic_limit,       // the parent already holds max_lite_topics lite topics
    not_found,         // no such lite topic / key / consumer
    io_error,          // the OS failed a read, write or fsync (disk full, EIO, ...)
    corrupt,           // a record failed its CRC or framing check
    index_error,       // RocksDB returned an error
    invalid_argument,  // a malformed option or argument
    closed,            // the store is shutting down
};

std::string_view to_string(errc code) noexcept;

struct error {
    errc code;
    std::string message;
};

template <class T>
using result = std::expected<T, error>;

inline std::unexpected<error> make_error(errc code, std::string message) {
    return std::unexpected<error>(error{code, std::move(message)});
}

}  // namespace litemcp::store
