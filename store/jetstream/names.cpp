#include "store/jetstream/names.h"

#include <array>

namespace litemcp::store::jetstream {

namespace {

bool plain(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string encode_token(std::string_view raw) {
    if (raw.empty()) return "=_";
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(raw.size() + 8);
    for (unsigned char c : raw) {
        if (plain(c)) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('=');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
    return out;
}

std::optional<std::string> decode_token(std::string_view token) {
    if (token == "=_") return std::string();
    if (token.empty()) return std::nullopt;
    std::string out;
    out.reserve(token.size());
    for (std::size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        if (c != '=') {
            if (!plain(static_cast<unsigned char>(c))) return std::nullopt;
            out.push_back(c);
            continue;
        }
        if (i + 2 >= token.size()) return std::nullopt;
        const int hi = hex_value(token[i + 1]), lo = hex_value(token[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

names::names(std::string prefix, int shards) : prefix_(std::move(prefix)), shards_(shards < 1 ? 1 : shards) {}

int names::shard_of(std::string_view lite) const {
    // FNV-1a: stable across processes and versions, unlike std::hash.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : lite) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return static_cast<int>(h % static_cast<std::uint64_t>(shards_));
}

std::string names::stream(std::string_view parent, int shard) const {
    return prefix_ + "_" + encode_token(parent) + "_" + std::to_string(shard);
}

std::string names::stream_subjects(std::string_view parent, int shard) const {
    return prefix_ + ".d." + encode_token(parent) + "." + std::to_string(shard) + ".*";
}

std::string names::wake_subjects(std::string_view parent, int shard) const {
    return prefix_ + ".w." + encode_token(parent) + "." + std::to_string(shard) + ".*";
}

names::address names::of(std::string_view topic) const {
    const auto slash = topic.find('/');
    const auto parent = topic.substr(0, slash);
    const auto lite = topic.substr(slash + 1);
    const int shard = shard_of(lite);
    const std::string tail = encode_token(parent) + "." + std::to_string(shard) + "." + encode_token(lite);
    return {stream(parent, shard), prefix_ + ".d." + tail, prefix_ + ".w." + tail};
}

std::optional<std::string> names::topic_of_wake(std::string_view subject) const {
    const std::string head = prefix_ + ".w.";
    if (!subject.starts_with(head)) return std::nullopt;
    subject.remove_prefix(head.size());
    const auto a = subject.find('.');
    if (a == std::string_view::npos) return std::nullopt;
    const auto b = subject.find('.', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    auto parent = decode_token(subject.substr(0, a));
    auto lite = decode_token(subject.substr(b + 1));
    if (!parent || !lite) return std::nullopt;
    return *parent + "/" + *lite;
}

std::string names::all_wakes() const { return prefix_ + ".w.>"; }

std::string names::records_bucket() const { return prefix_ + "_records"; }
std::string names::cursors_bucket() const { return prefix_ + "_cursors"; }

std::string names::record_key(std::string_view key) {
    std::string out;
    for (;;) {
        const auto slash = key.find('/');
        out += encode_token(key.substr(0, slash));
        if (slash == std::string_view::npos) return out;
        out.push_back('.');
        key.remove_prefix(slash + 1);
    }
}

std::optional<std::string> names::key_of_record(std::string_view bucket_key) {
    std::string out;
    for (;;) {
        const auto dot = bucket_key.find('.');
        auto part = decode_token(bucket_key.substr(0, dot));
        if (!part) return std::nullopt;
        out += *part;
        if (dot == std::string_view::npos) return out;
        out.push_back('/');
        bucket_key.remove_prefix(dot + 1);
    }
}

std::string names::record_filter(std::string_view prefix) {
    const auto slash = prefix.rfind('/');
    if (slash == std::string_view::npos) return ">";
    return record_key(prefix.substr(0, slash)) + ".>";
}

std::string names::cursor_key(std::string_view consumer, std::string_view topic) {
    return encode_token(topic) + "." + encode_token(consumer);
}

std::string names::cursor_filter(std::string_view topic) { return encode_token(topic) + ".*"; }

}  // namespace litemcp::store::jetstream
