#include "store/record.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace litemcp::store {
namespace {

constexpr std::uint32_t castagnoli = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ castagnoli : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto table = make_table();

std::uint32_t crc32c_portable(const unsigned char* p, std::size_t n, std::uint32_t crc) {
    for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const unsigned char* p,
                                                             std::size_t n,
                                                             std::uint32_t crc) {
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
const bool have_sse42 = __builtin_cpu_supports("sse4.2");
#endif

template <class T>
void put(char*& out, T v) {
    std::memcpy(out, &v, sizeof v);  // the formats are little-endian, as is every target we build for
    out += sizeof v;
}
template <class T>
T get(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#if defined(__x86_64__)
    if (have_sse42) return ~crc32c_sse42(p, n, crc);
#endif
    return ~crc32c_portable(p, n, crc);
}

void encode_record(char* out, std::uint64_t topic_id, std::uint64_t offset,
                   std::uint64_t timestamp_ms, std::uint32_t flags, std::string_view topic,
                   std::string_view payload) noexcept {
    char* start = out;
    const auto length = static_cast<std::uint32_t>(encoded_size(topic.size(), payload.size()));
    out += 4;  // crc, filled last
    put(out, length);
    put(out, topic_id);
    put(out, offset);
    put(out, timestamp_ms);
    put(out, flags);
    put(out, static_cast<std::uint16_t>(topic.size()));
    std::memcpy(out, topic.data(), topic.size());
    out += topic.size();
    std::memcpy(out, payload.data(), payload.size());
    const std::uint32_t crc = crc32c(start + 4, length - 4);
    std::memcpy(start, &crc, 4);
}

decode_outcome decode_record_header(std::string_view buf, std::size_t max_length,
                                    record_view& out) noexcept {
    if (buf.size() < record_header_bytes) return decode_outcome::short_buffer;
    const char* p = buf.data();
    const auto length = get<std::uint32_t>(p + 4);
    const auto name_len = get<std::uint16_t>(p + 36);
    if (length < record_header_bytes + name_len || length > max_length)
        return decode_outcome::bad_length;
    out.length = length;
    out.topic_id = get<std::uint64_t>(p + 8);
    out.offset = get<std::uint64_t>(p + 16);
    out.timestamp_ms = get<std::uint64_t>(p + 24);
    out.flags = get<std::uint32_t>(p + 32);
    return decode_outcome::ok;
}

decode_outcome decode_record(std::string_view buf, std::size_t max_length,
                             record_view& out) noexcept {
    record_view v;
    if (auto o = decode_record_header(buf, max_length, v); o != decode_outcome::ok) return o;
    const char* p = buf.data();
    if (buf.size() < v.length) return decode_outcome::short_buffer;
    if (get<std::uint32_t>(p) != crc32c(p + 4, v.length - 4)) return decode_outcome::bad_crc;
    const auto name_len = get<std::uint16_t>(p + 36);
    v.topic = std::string_view(p + record_header_bytes, name_len);
    v.payload = std::string_view(p + record_header_bytes + name_len, v.length - record_header_bytes - name_len);
    out = v;  // (untouched unless the record is whole)
    return decode_outcome::ok;
}

}  // namespace litemcp::store
