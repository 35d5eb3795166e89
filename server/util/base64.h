// Base64 (RFC 4648), the one codec of the server: standard
// (with padding, for Mcp-Name's =?base64?...?= values) and base64url
// (without padding, for JWTs).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace litemcp::server {

enum class base64_alphabet {
    standard,  // '+' '/', the length a multiple of 4 with '=' padding
    url,       // '-' '_', padding optional
};

// nullopt when the text is not valid in that alphabet.
std::optional<std::string> base64_decode(std::string_view in, base64_alphabet alphabet);
// Encodes bytes; url: no padding.
std::string base64_encode(std::string_view in, base64_alphabet alphabet);

}  // namespace litemcp::server
