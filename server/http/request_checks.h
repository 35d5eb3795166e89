// The checks every HTTP API of litemcp makes of a request (/mcp, /workers/,
// /admin/, /metrics): one rule each, so the APIs cannot disagree.
//
//   accepts        Accept, RFC 9110 §12.5.1: media ranges with wildcards
//                  ("*/*", "text/*") and q-values; q=0 refuses a type.
//   is_json        Content-Type is application/json (any parameters).
//   bearer_token   Authorization: Bearer <token>; the scheme is matched
//                  case-insensitively (RFC 9110 §11.1).
//   is_loopback    localhost, 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, as a
//                  Host name, an Origin's host or a peer address.
//   origin_or_host_refusal  Host and Origin against the allowed lists
//                  (DNS rebinding protection); loopback always passes.
//   query_param    a query-string parameter, percent-decoded (Boost.URL).
//   path_segments  the path's segments, percent-decoded (Boost.URL).
//
// Threading: pure functions of their arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/http_message.h"

namespace litemcp::server::http {

// Whether an Accept header value admits media_type ("type/subtype", lower
// case). A missing header admits nothing: MCP requires clients to list the
// types they take, and litemcp answers 406 rather than guess.
bool accepts(std::optional<std::string_view> accept, std::string_view media_type);
bool accepts(const transport::http_request& req, std::string_view media_type);

bool is_json(const transport::http_request& req);

// The token of an "Authorization: Bearer <token>" header; nullopt when the
// header is missing, names another scheme, or carries no token.
std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization);
std::optional<std::string_view> bearer_token(const transport::http_request& req);

// "localhost", "127.0.0.1", "[::1]", with or without ":port"; also the
// transport's peer form "<address>:<port>" (IPv6 without brackets).
bool is_loopback(std::string_view host_or_address);
// The host of a Host header or of an Origin ("scheme://host[:port]").
std::string_view host_of(std::string_view host_header);
std::string_view origin_host(std::string_view origin);

// Why a request's Host or Origin is refused (DNS rebinding protection), or
// nullopt when both pass: a loopback name always passes; another must be
// listed ("*" lists any). Host is compared by name and as given (with port);
// Origin as given ("scheme://host[:port]").
std::optional<std::string> origin_or_host_refusal(const transport::http_request& req,
                                                  const std::vector<std::string>& allowed_hosts,
                                                  const std::vector<std::string>& allowed_origins);
// The percent-decoded value of the query parameter `key` ("+" is a space),
// or nullopt when absent. The first occurrence wins.
std::optional<std::string> query_param(const transport::http_request& req, std::string_view key);
// "/admin/sessions/a%2Fb/" -> {"admin", "sessions", "a/b"}: empty segments
// are dropped. nullopt when the path is not a valid origin-form path.
std::optional<std::vector<std::string>> path_segments(std::string_view path);

}  // namespace litemcp::server::http
