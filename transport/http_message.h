// Plain HTTP request and response values exchanged between transport/ and
// the layers above. No Boost types here, so including this header is cheap.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace litemcp::transport {

// Header names compare case-insensitively (RFC 9110); order is kept.
class header_list {
public:
    std::optional<std::string_view> get(std::string_view name) const;
    // Every value of a header, in order (for repeated headers).
    std::vector<std::string_view> get_all(std::string_view name) const;
    void add(std::string name, std::string value);
    void set(std::string name, std::string value);  // replaces every earlier value
    void reserve(std::size_t n) { items_.reserve(n); }
    const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

private:
    std::vector<std::pair<std::string, std::string>> items_;
};

bool iequals(std::string_view a, std::string_view b) noexcept;

struct http_request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // as sent: path and query
    std::string path;    // target without the query
    std::string query;   // after '?', without it
    header_list headers;
    std::string body;
    std::string peer;    // remote address
    std::string principal;  // set by the application's authentication; empty without
    bool secure = false; // arrived over TLS
};

struct http_response {
    unsigned status = 200;
    header_list headers;
    std::string body;
};

}  // namespace litemcp::transport
