// A count with its noun, for log lines and messages: "1 session",
// "2 sessions" (the nouns litemcp counts take an "s").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace litemcp::server {

inline std::string counted(std::uint64_t n, std::string_view noun) {
    std::string out = std::to_string(n);
    out.append(" ").append(noun);
    if (n != 1) out.append("s");
    return out;
}

}  // namespace litemcp::server
