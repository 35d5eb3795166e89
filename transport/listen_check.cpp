// check_listen_address (http_server.h): a bind of the address, undone at
// once, with the same SO_REUSEADDR the server's acceptor sets, so a port
// in TIME_WAIT passes as it would for the server.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "transport/http_server.h"

namespace litemcp::transport {

std::expected<void, std::string> check_listen_address(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
        return std::unexpected("cannot listen on " + host + ": " + ::gai_strerror(rc));
    std::string why = "no address";
    bool ok = false;
    for (auto* a = found; a && !ok; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = std::strerror(errno);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0) ok = true;
        else why = std::strerror(errno);
        ::close(fd);
    }
    ::freeaddrinfo(found);
    if (ok) return {};
    return std::unexpected("cannot listen on " + host + ":" + service + ": " + why);
}

}  // namespace litemcp::transport
