// requestState of 2026-07-28 multi round-trip requests (input_required).
//
// The state a server hands a client between rounds is attacker-controlled
// when it comes back, so litemcp seals it: the payload (the answers gathered
// so far, the method, a digest of the request's parameters, the principal,
// an expiry) is serialized, and an HMAC-SHA256 over it with a server key is
// appended. open() rejects a state that was altered, sealed with another
// key, made for another method, parameters or principal, or that expired.
// Nothing is kept on the server: any node holding the same key can continue
// a request another node started.
//
// Threading: immutable after load(); every method is const and thread-safe.
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

#include "server/rpc/json_rpc.h"

namespace litemcp::server {

struct request_state_options {
    // The HMAC key (any string; at least 16 bytes). Empty: read
    // <data>/request-state.key, generating 32 random bytes into it when
    // absent. Every node of a deployment must share it. Default: empty.
    std::string key;
    // How long a sealed state stays valid. Default: 10 min.
    std::chrono::milliseconds ttl{std::chrono::minutes(10)};
};

// What a sealed state vouches for.
struct request_binding {
    std::string method;     // tools/call, prompts/get, resources/read
    std::string digest;     // params_digest() of the request
    std::string principal;  // who made it (empty without authentication)
};

class request_state_codec {
public:
    // Loads or generates the key; an error names the file.
    static std::expected<request_state_codec, std::string> load(const request_state_options& options,
                                                                 const std::string& data_dir);

    // Seals the answers gathered so far for a request bound as given.
    std::string seal(const request_binding& binding, const json& answers) const;
    // Returns the answers of a state sealed for this binding, or why not.
    std::expected<json, std::string> open(std::string_view state, const request_binding& binding) const;

    // A fresh random key (64 hex digits).
    static std::string new_key();

    // A digest of a request's parameters without the parts that change
    // between rounds (_meta, inputResponses, requestState).
    static std::string params_digest(const json& params);

private:
    request_state_codec(std::string key, std::chrono::milliseconds ttl) : key_(std::move(key)), ttl_(ttl) {}
    std::string mac(std::string_view payload) const;
    std::string key_;
    std::chrono::milliseconds ttl_;
};

}  // namespace litemcp::server
