// How records sit in JetStream messages. One append is one message: a single
// record is the message's payload; a group (store::append_group_async) is
// one message holding every record, so the group lands or fails whole and
// no other record comes between its records. A record's offset is its
// message's stream sequence shifted left by group_bits, plus its index in
// the group: offsets grow, a group's are consecutive, and appends leave
// gaps (the stream's other subjects take sequences too).
//
// Headers: "Lm-Ts" the append's wall clock (ms), "Lm-Flags" a single
// record's flags (absent: 0), "Lm-Group" the record count of a group, whose
// payload is then, per record, u32 flags | u32 length | bytes
// (little-endian).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace litemcp::store::jetstream {

inline constexpr int group_bits = 12;
inline constexpr std::size_t max_group_records = std::size_t{1} << group_bits;

inline constexpr const char* header_timestamp = "Lm-Ts";
inline constexpr const char* header_flags = "Lm-Flags";
inline constexpr const char* header_group = "Lm-Group";

constexpr std::uint64_t offset_of(std::uint64_t seq, std::uint64_t index) { return (seq << group_bits) | index; }
constexpr std::uint64_t seq_of(std::uint64_t offset) { return offset >> group_bits; }
constexpr std::uint64_t index_of(std::uint64_t offset) { return offset & (max_group_records - 1); }

struct group_record {
    std::string_view payload;
    std::uint32_t flags = 0;
};

// The payload of a group message.
std::string encode_group(std::span<const group_record> records);

// The records of one message, in order; nullopt when a group payload is
// malformed. group_header is the "Lm-Group" value (nullptr: one record),
// flags_header the "Lm-Flags" value (nullptr: 0).
std::optional<std::vector<group_record>> decode_message(std::string_view payload, const char* group_header,
                                                        const char* flags_header);

// A decimal header value; nullopt when absent or not a number.
std::optional<std::uint64_t> header_number(const char* value);

}  // namespace litemcp::store::jetstream
