#include "transport/http_message.h"

#include <algorithm>

namespace litemcp::transport {

namespace {

// Header names are ASCII tokens: folding A-Z is enough, and cheaper than the
// locale-aware std::tolower on every byte of every lookup.
constexpr char fold(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i] && fold(a[i]) != fold(b[i])) return false;
    return true;
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
