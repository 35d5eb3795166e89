// Error values of the transport module (see store/errc.h for the pattern).
#pragma once

#include <expected>
#include <string>

namespace litemcp::transport {

enum class errc {
    bind_failed,   // the listen address could not be bound
    tls_failed,    // the certificate or key could not be loaded
    invalid_argument,
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
