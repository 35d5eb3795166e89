// Private to transport/: the http:// and https:// URLs http_client accepts,
// split into what a connection and a request need. No Beast here (and no
// Boost.URL: its compiled part lives in server/http, which transport/ cannot
// link); test/transport/http_client_test.cpp pins the rules.
//
// Accepted: scheme "http" or "https" (any case), "//", a host that is a DNS
// name or IPv4 address (letters, digits, '-', '.', '_', '~') or an IPv6
// address in brackets (no zone id), an optional port 1-65535 (empty means
// the scheme's default), then the path and query as written. The fragment
// is dropped. Refused: userinfo, spaces, control and non-ASCII bytes (a URL
// must arrive percent-encoded), anything else.
#pragma once

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/errc.h"
#include "transport/http_message.h"

namespace litemcp::transport {

struct client_url {
    bool secure = false;
    std::string host;  // lower case, without brackets: for the resolver and TLS
    bool ipv6 = false;
    std::uint16_t port = 0;
    std::string target;  // path and query, "/" at least
    // The Host header: the host (bracketed if IPv6) and the port unless it
    // is the scheme's default.
    std::string authority() const {
        std::string a = ipv6 ? "[" + host + "]" : host;
        if (port != (secure ? 443 : 80)) a.append(":").append(std::to_string(port));
        return a;
    }
    // Identifies the connections that can serve this URL.
    std::string origin() const {
        return (secure ? "https://" : "http://") + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
};

inline result<client_url> parse_client_url(std::string_view url) {
    auto bad = [&](std::string_view why) {
        return make_error(errc::bad_url, "URL '" + std::string(url.substr(0, 200)) + "': " + std::string(why));
    };
    for (unsigned char c : url)
        if (c <= 0x20 || c >= 0x7f) return bad("contains a space, control or non-ASCII character");
    client_url u;
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) return bad("not an absolute http:// or https:// URL");
    const auto scheme = url.substr(0, sep);
    if (iequals(scheme, "https")) u.secure = true;
    else if (!iequals(scheme, "http")) return bad("the scheme is not http or https");
    auto rest = url.substr(sep + 3);
    const auto end_authority = rest.find_first_of("/?#");
    auto authority = rest.substr(0, end_authority);
    rest = end_authority == std::string_view::npos ? std::string_view{} : rest.substr(end_authority);
    if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL are not supported");

    std::string_view host, port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return bad("an IPv6 address without its ']'");
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) return bad("unexpected characters after the IPv6 address");
        if (!after.empty()) port = after.substr(1);
        in6_addr ignored;
        if (::inet_pton(AF_INET6, std::string(host).c_str(), &ignored) != 1)
            return bad("the bracketed host is not an IPv6 address");
        u.ipv6 = true;
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        for (char c : host) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
            if (!ok) return bad("the host has a character a host name cannot have");
        }
    }
    if (host.empty()) return bad("no host");
    u.host.reserve(host.size());
    for (char c : host) u.host.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c);

    if (port.empty()) {
        u.port = u.secure ? 443 : 80;
    } else {
        unsigned value = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535)
            return bad("the port is not a number from 1 to 65535");
        u.port = static_cast<std::uint16_t>(value);
    }

    rest = rest.substr(0, rest.find('#'));
    if (rest.empty() || rest.front() == '?') u.target = "/";
    u.target.append(rest);
    return u;
}

}  // namespace litemcp::transport
