// The on-disk framing of one commit-log record, shared by the appender, the
// reader and recovery. Little-endian, fixed header, CRC32C over everything
// after the CRC field:
//
//   u32 crc | u32 length | u64 topic_id | u64 offset | u64 timestamp_ms
//   | u32 flags | u16 name_len | name bytes | payload bytes
//
// The full lite-topic name travels in every record so recovery can rebuild
// the index of topics created after the last checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace litemcp::store {

inline constexpr std::size_t record_header_bytes = 38;

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept;

// A decoded record whose views point into the buffer it was decoded from.
struct record_view {
    std::uint64_t topic_id = 0;
    std::uint64_t offset = 0;
    std::uint64_t timestamp_ms = 0;
    std::uint32_t flags = 0;
    std::string_view topic;
    std::string_view payload;
    std::uint32_t length = 0;  // total encoded bytes
};

enum class decode_outcome {
    ok,
    short_buffer,  // fewer bytes than the header or the declared length: torn tail
    bad_length,    // declared length impossible
    bad_crc,       // bytes present but the checksum does not match
};

inline constexpr std::size_t encoded_size(std::size_t name_len, std::size_t payload_len) {
    return record_header_bytes + name_len + payload_len;
}

// Writes encoded_size(topic.size(), payload.size()) bytes at out.
void encode_record(char* out, std::uint64_t topic_id, std::uint64_t offset,
                   std::uint64_t timestamp_ms, std::uint32_t flags, std::string_view topic,
                   std::string_view payload) noexcept;

// Decodes the record at the start of buf. max_length bounds the declared length.
decode_outcome decode_record(std::string_view buf, std::size_t max_length,
                             record_view& out) noexcept;

// Decodes only the fixed header at the start of buf (record_header_bytes):
// length, topic id, offset, timestamp and flags; topic and payload are left
// empty and the CRC, which covers the whole record, is not checked. For a
// reader that needs a record's flags and not its bytes.
decode_outcome decode_record_header(std::string_view buf, std::size_t max_length,
                                    record_view& out) noexcept;

}  // namespace litemcp::store
