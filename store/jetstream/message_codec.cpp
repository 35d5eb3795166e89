#include "store/jetstream/message_codec.h"

#include <charconv>
#include <cstring>

namespace litemcp::store::jetstream {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
    char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 24)};
    out.append(b, 4);
}

std::uint32_t get_u32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{u[0]} | std::uint32_t{u[1]} << 8 | std::uint32_t{u[2]} << 16 | std::uint32_t{u[3]} << 24;
}

}  // namespace

std::string encode_group(std::span<const group_record> records) {
    std::size_t size = 0;
    for (auto& r : records) size += 8 + r.payload.size();
    std::string out;
    out.reserve(size);
    for (auto& r : records) {
        put_u32(out, r.flags);
        put_u32(out, static_cast<std::uint32_t>(r.payload.size()));
        out.append(r.payload);
    }
    return out;
}

std::optional<std::uint64_t> header_number(const char* value) {
    if (!value) return std::nullopt;
    const char* end = value + std::strlen(value);
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(value, end, n);
    if (ec != std::errc() || p != end) return std::nullopt;
    return n;
}

std::optional<std::vector<group_record>> decode_message(std::string_view payload, const char* group_header,
                                                        const char* flags_header) {
    std::vector<group_record> out;
    if (!group_header) {
        auto flags = flags_header ? header_number(flags_header) : std::optional<std::uint64_t>(0);
        if (!flags) return std::nullopt;
        out.push_back({payload, static_cast<std::uint32_t>(*flags)});
        return out;
    }
    auto count = header_number(group_header);
    if (!count || *count == 0 || *count > max_group_records) return std::nullopt;
    out.reserve(*count);
    while (!payload.empty()) {
        if (payload.size() < 8) return std::nullopt;
        const std::uint32_t flags = get_u32(payload.data()), length = get_u32(payload.data() + 4);
        if (payload.size() - 8 < length) return std::nullopt;
        out.push_back({payload.substr(8, length), flags});
        payload.remove_prefix(8 + length);
    }
    if (out.size() != *count) return std::nullopt;
    return out;
}

}  // namespace litemcp::store::jetstream
