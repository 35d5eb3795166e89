// One message read back from a JetStream stream, by Direct Get (served by
// any replica, the reply is the message itself) or by the stream leader's
// message API (JSON with base64 fields), in one shape.
//
// Threading: plain values and blocking functions (one round trip each).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/jetstream/nats_link.h"

namespace litemcp::store::jetstream {

struct stored_message {
    std::uint64_t seq = 0;
    std::uint64_t timestamp_ms = 0;  // Lm-Ts (the append's clock)
    std::string payload;
    std::optional<std::string> group;  // Lm-Group
    std::optional<std::string> flags;  // Lm-Flags
    bool deleted = false;              // a key-value delete or purge marker (KV-Operation)
};

enum class served_by { any_replica, leader };

// The first message of subject at or after seq; nullopt when there is none.
result<std::optional<stored_message>> next_message(const nats_link& link, const std::string& stream,
                                                   const std::string& subject, std::uint64_t seq, served_by who);
// The newest message of subject; nullopt when there is none.
result<std::optional<stored_message>> last_message(const nats_link& link, const std::string& stream,
                                                   const std::string& subject, served_by who);

}  // namespace litemcp::store::jetstream
