// How the JetStream engine names things in NATS: streams, subjects, bucket
// keys. Lite topic "<parent>/<lite>" lives on subject
// "<prefix>.d.<parent>.<shard>.<lite>" of stream "<prefix>_<parent>_<shard>";
// its wakes are republished on "<prefix>.w.<parent>.<shard>.<lite>". Names
// are made of tokens (encode_token): NATS subjects and keys allow fewer
// characters than topic names and keys do, so every other byte is written
// "=XX" (hex) and the encoding is reversible.
//
// Threading: immutable after construction; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace litemcp::store::jetstream {

// [A-Za-z0-9_-] as is, every other byte as "=XX"; an empty string as "=_".
std::string encode_token(std::string_view raw);
// The inverse; nullopt for a token encode_token cannot have made.
std::optional<std::string> decode_token(std::string_view token);

class names {
public:
    names(std::string prefix, int shards);

    const std::string& prefix() const { return prefix_; }
    int shards() const { return shards_; }

    // The shard of a lite topic: a stable hash of its lite part.
    int shard_of(std::string_view lite) const;
    std::string stream(std::string_view parent, int shard) const;
    // Every subject of one shard stream ("<prefix>.d.<parent>.<shard>.*").
    std::string stream_subjects(std::string_view parent, int shard) const;
    std::string wake_subjects(std::string_view parent, int shard) const;

    struct address {
        std::string stream;
        std::string subject;       // where its records are
        std::string wake_subject;  // where they are republished
    };
    // topic must be a valid "<parent>/<lite>" name.
    address of(std::string_view topic) const;
    // The topic a wake subject names; nullopt for any other subject.
    std::optional<std::string> topic_of_wake(std::string_view subject) const;
    // Every wake subject at once (for watching every append).
    std::string all_wakes() const;

    std::string records_bucket() const;
    std::string cursors_bucket() const;
    // A key of the key-value space as a bucket key: each '/'-separated part a token.
    static std::string record_key(std::string_view key);
    static std::optional<std::string> key_of_record(std::string_view bucket_key);
    // The bucket filter matching every key that starts with prefix: exact
    // when prefix ends with '/', else the nearest enclosing part (callers
    // check the prefix again).
    static std::string record_filter(std::string_view prefix);
    static std::string cursor_key(std::string_view consumer, std::string_view topic);
    // Every cursor of one topic.
    static std::string cursor_filter(std::string_view topic);

private:
    std::string prefix_;
    int shards_;
};

}  // namespace litemcp::store::jetstream
