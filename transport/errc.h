// Error values of the transport module (see store/errc.h for the pattern).
#pragma once

#include <expected>
#include <string>

namespace litemcp::transport {

enum class errc {
    bind_failed,   // the listen address could not be bound
    tls_failed,    // the certificate or key could not be loaded; for the
                   // client: the TLS handshake failed or the server's
                   // certificate did not verify
    invalid_argument,
    // http_client
    bad_url,         // not an http:// or https:// URL the client can use
    connect_failed,  // the host did not resolve or no address accepted the connection
    timed_out,       // a connect, response or silence timeout expired
    too_large,       // response headers or a collected body past their bound
    protocol_error,  // the response is not well-formed HTTP/1.1
    closed,          // the connection ended before the response did
    cancelled,       // client_exchange::cancel, or the client was destroyed
};

struct error {
    errc code;
    std::string message;
};

template <class T>
using result = std::expected<T, error>;

inline std::unexpected<error> make_error(errc code, std::string message) {
    return std::unexpected<error>(error{code, std::move(message)});
}

}  // namespace litemcp::transport
