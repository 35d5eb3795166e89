// Bearer-token authentication (MCP authorization, 2025-06-18 and later):
// litemcp is an OAuth 2.1 resource server. A token is either listed in a
// token file (opaque tokens for services and tests) or a JWT access token
// signed with RS256 or ES256 by a key of a local JWKS file, issued by the
// configured issuer for this server's resource URI (the audience), within
// its exp/nbf window. Each token maps to a principal and its scopes:
//
//   mcp           the MCP endpoint
//   mcp:workers   registering workers
//   mcp:admin     the admin API (loopback clients need no token)
//
// Authentication is on as soon as a token file or a JWKS file is set.
//
// Threading: immutable after load(); check() is thread-safe. Lifetime:
// owned by the server; files are read once at start.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/rpc/json_rpc.h"
#include "transport/http_message.h"

namespace litemcp::server {

struct auth_options {
    // JSON array of {"token": "<secret>" | "sha256": "<hex digest>", "principal": "...", "scopes": [...]}.
    // Default: none.
    std::string tokens_file;
    // JWKS (RFC 7517) with the issuer's RSA and P-256 public keys. Default: none.
    std::string jwks_file;
    // The iss every JWT must carry. Required with a JWKS file.
    std::string issuer;
    // This server's canonical URI, e.g. https://mcp.example.com/mcp: the aud a JWT
    // must carry (RFC 8707) and the resource of the protected-resource metadata.
    // Required when authentication is on.
    std::string resource;
    // Authorization servers named in the protected-resource metadata. Default: the issuer.
    std::vector<std::string> authorization_servers;
    // Tolerance for exp and nbf. Default: 60 s.
    std::chrono::seconds leeway{60};
};

namespace scope {
inline constexpr std::string_view mcp = "mcp";
inline constexpr std::string_view workers = "mcp:workers";
inline constexpr std::string_view admin = "mcp:admin";
inline constexpr std::string_view metrics = "mcp:metrics";  // a scraper of /metrics
}  // namespace scope

enum class auth_outcome {
    ok,
    missing,             // no bearer token: 401
    invalid,             // unknown, malformed, badly signed, wrong issuer or audience, expired: 401
    insufficient_scope,  // valid, but not for this: 403
};

struct auth_result {
    auth_outcome outcome = auth_outcome::missing;
    std::string principal;  // when ok (and for insufficient_scope)
    std::string why;        // for the error_description and logs
};

// Why a request may not go on: what to answer (401 or 403), what to say, and
// the WWW-Authenticate challenge to send with it.
struct auth_refusal {
    unsigned status = 401;
    std::string message;    // "Unauthorized: ..." or "Forbidden: ..."
    std::string challenge;  // the WWW-Authenticate value
};

class authenticator {
public:
    static std::expected<std::unique_ptr<authenticator>, std::string> load(const auth_options& o);
    ~authenticator();

    bool enabled() const { return enabled_; }
    // Checks the Authorization header's value (nullopt: none) for a scope.
    auth_result check(std::optional<std::string_view> authorization, std::string_view required_scope) const;
    // The one gate of every API that takes access tokens: with authentication
    // on, checks req's Authorization for the scope and sets req.principal;
    // nullopt when req may go on, else why not (the API chooses the body).
    std::optional<auth_refusal> admit(transport::http_request& req, std::string_view required_scope) const;
    // RFC 9728 metadata, and the URL it is served at for this resource.
    json protected_resource_metadata() const;
    std::string metadata_url() const;
    // The WWW-Authenticate value for a 401 or 403 answer.
    std::string challenge(const auth_result& r, std::string_view required_scope) const;

private:
    authenticator() = default;
    struct key;
    struct token_entry {
        std::string principal;
        std::set<std::string> scopes;
    };
    auth_result check_jwt(std::string_view token, std::string_view required_scope) const;

    bool enabled_ = false;
    auth_options o_;
    std::map<std::string, token_entry> tokens_;  // by SHA-256 hex of the token
    std::vector<std::unique_ptr<key>> keys_;
};

}  // namespace litemcp::server
