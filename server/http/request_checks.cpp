#include "server/http/request_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/url/parse_path.hpp>
#include <boost/url/parse_query.hpp>
#include <algorithm>
#include <charconv>
#include <cstring>

namespace litemcp::server::http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A q-value ("0", "0.5", "1.000"); nullopt when malformed (RFC 9110 §12.4.2).
std::optional<double> qvalue(std::string_view v) {
    if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return std::nullopt;
    double q = v[0] - '0';
    if (v.size() == 1) return q;
    if (v[1] != '.') return std::nullopt;
    double scale = 0.1;
    for (char c : v.substr(2)) {
        if (c < '0' || c > '9') return std::nullopt;
        q += (c - '0') * scale;
        scale /= 10;
    }
    return q > 1.0 ? std::nullopt : std::optional<double>(q);
}

// 3: "type/subtype", 2: "type/*", 1: "*/*", 0: no match.
int match(std::string_view range, std::string_view type) {
    if (transport::iequals(range, type)) return 3;
    if (range == "*/*") return 1;
    const auto slash = type.find('/');
    if (range.size() == slash + 2 && range.ends_with("/*") && transport::iequals(range.substr(0, slash), type.substr(0, slash)))
        return 2;
    return 0;
}

bool loopback_address(std::string_view a) {
    if (a == "127.0.0.1" || a == "localhost" || a == "::1") return true;  // what clients send, without a parse
    if (transport::iequals(a, "localhost")) return true;
    char text[INET6_ADDRSTRLEN + 1];
    if (a.empty() || a.size() > INET6_ADDRSTRLEN) return false;
    std::memcpy(text, a.data(), a.size());
    text[a.size()] = '\0';
    in_addr v4;
    if (::inet_pton(AF_INET, text, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6;
    if (::inet_pton(AF_INET6, text, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    return false;
}

}  // namespace

// The type listed as it is, between commas and spaces, in a header without
// parameters (so without q-values): what MCP clients send, found without
// parsing the list.
static bool listed_plainly(std::string_view accept, std::string_view media_type) {
    if (accept.find(';') != std::string_view::npos) return false;
    for (auto at = accept.find(media_type); at != std::string_view::npos; at = accept.find(media_type, at + 1)) {
        const auto end = at + media_type.size();
        const bool starts = at == 0 || accept[at - 1] == ',' || accept[at - 1] == ' ' || accept[at - 1] == '\t';
        const bool ends = end == accept.size() || accept[end] == ',' || accept[end] == ' ' || accept[end] == '\t';
        if (starts && ends) return true;
    }
    return false;
}

bool accepts(std::optional<std::string_view> accept, std::string_view media_type) {
    if (!accept) return false;
    if (listed_plainly(*accept, media_type)) return true;
    int best = 0;
    double best_q = 0;
    std::string_view rest = *accept;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        auto item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto semi = item.find(';');
        const int m = match(trim(item.substr(0, semi)), media_type);
        if (m == 0 || m < best) continue;
        double q = 1.0;
        while (semi != std::string_view::npos) {
            item.remove_prefix(semi + 1);
            semi = item.find(';');
            auto param = trim(item.substr(0, semi));
            auto eq = param.find('=');
            if (eq != std::string_view::npos && transport::iequals(trim(param.substr(0, eq)), "q"))
                q = qvalue(trim(param.substr(eq + 1))).value_or(0.0);  // a malformed q admits nothing
        }
        if (m > best || q > best_q) best_q = q;
        best = m;
    }
    return best > 0 && best_q > 0;
}

bool accepts(const transport::http_request& req, std::string_view media_type) {
    return accepts(req.headers.get("Accept"), media_type);
}

bool is_json(const transport::http_request& req) {
    auto ct = req.headers.get("Content-Type");
    return ct && transport::iequals(trim(ct->substr(0, ct->find(';'))), "application/json");
}

std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization) {
    if (!authorization) return std::nullopt;
    auto h = trim(*authorization);
    constexpr std::string_view scheme = "bearer";
    if (h.size() <= scheme.size() || !transport::iequals(h.substr(0, scheme.size()), scheme) ||
        (h[scheme.size()] != ' ' && h[scheme.size()] != '\t'))
        return std::nullopt;
    auto token = trim(h.substr(scheme.size()));
    if (token.empty()) return std::nullopt;
    return token;
}

std::optional<std::string_view> bearer_token(const transport::http_request& req) {
    return bearer_token(req.headers.get("Authorization"));
}

std::string_view host_of(std::string_view host) {
    if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
    const auto colon = host.find(':');
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
        return host.substr(0, colon);  // name:port or v4:port; more colons: a bare IPv6 address
    return host;
}

std::string_view origin_host(std::string_view origin) {
    auto scheme = origin.find("://");
    auto rest = scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
    return host_of(rest.substr(0, rest.find('/')));
}

bool is_loopback(std::string_view host_or_address) {
    auto h = host_of(host_or_address);
    if (h.starts_with('[') && h.ends_with(']')) return loopback_address(h.substr(1, h.size() - 2));
    if (loopback_address(h)) return true;
    // The transport's peer form: "<address>:<port>", IPv6 without brackets.
    const auto colon = host_or_address.rfind(':');
    return colon != std::string_view::npos && loopback_address(host_or_address.substr(0, colon));
}

std::optional<std::string> query_param(const transport::http_request& req, std::string_view key) {
    auto params = boost::urls::parse_query(req.query);
    if (!params) return std::nullopt;
    boost::urls::encoding_opts plus;
    plus.space_as_plus = true;
    for (auto p : *params) {
        if (p.key.decode(plus) != key) continue;
        return p.has_value ? p.value.decode(plus) : std::string();
    }
    return std::nullopt;
}

std::optional<std::vector<std::string>> path_segments(std::string_view path) {
    auto segs = boost::urls::parse_path(path);
    if (!segs || !segs->is_absolute()) return std::nullopt;
    std::vector<std::string> out;
    for (auto s : *segs) {
        auto decoded = s.decode();
        if (!decoded.empty()) out.push_back(std::move(decoded));
    }
    return out;
}

std::optional<std::string> origin_or_host_refusal(const transport::http_request& req,
                                                  const std::vector<std::string>& allowed_hosts,
                                                  const std::vector<std::string>& allowed_origins) {
    auto listed = [](const std::vector<std::string>& list, std::string_view v) {
        return std::any_of(list.begin(), list.end(), [&](auto& a) { return a == "*" || a == v; });
    };
    if (auto host = req.headers.get("Host")) {
        if (!is_loopback(*host) && !listed(allowed_hosts, host_of(*host)) && !listed(allowed_hosts, *host))
            return "Host '" + std::string(*host) + "' is not allowed (DNS rebinding protection)";
    }
    if (auto origin = req.headers.get("Origin")) {
        if (!is_loopback(origin_host(*origin)) && !listed(allowed_origins, *origin))
            return "Origin '" + std::string(*origin) + "' is not allowed";
    }
    return std::nullopt;
}

}  // namespace litemcp::server::http
