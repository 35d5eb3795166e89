// Identifiers and digests the server mints: session, task, call and
// consumer ids, and the SHA-256 under which credentials are kept.
//
// Threading: free functions, no shared state.
#pragma once

#include <string>
#include <string_view>

namespace litemcp::server {

// 128 bits from the OS's CSPRNG, as 32 lowercase hex digits.
std::string random_id();

// SHA-256 of data, as 64 lowercase hex digits (how litemcp keeps credentials).
std::string sha256_hex(std::string_view data);

}  // namespace litemcp::server
