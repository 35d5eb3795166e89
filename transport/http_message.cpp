#include "transport/http_message.h"

#include <algorithm>
#include <cctype>

namespace litemcp::transport {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::optional<std::string_view> header_list::get(std::string_view name) const {
    for (auto& [n, v] : items_)
        if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> header_list::get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (auto& [n, v] : items_)
        if (iequals(n, name)) out.emplace_back(v);
    return out;
}

void header_list::add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }

void header_list::set(std::string name, std::string value) {
    std::erase_if(items_, [&](auto& h) { return iequals(h.first, name); });
    add(std::move(name), std::move(value));
}

}  // namespace litemcp::transport
