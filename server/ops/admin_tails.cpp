#include "server/ops/admin_tails.h"

#include <optional>

#include "server/ops/admin_records.h"
#include "server/json/json_text.h"

namespace litemcp::server {

namespace {

// '*' matches any run of characters (including '/').
bool glob(std::string_view pattern, std::string_view s) {
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pattern.size() && pattern[p] == s[i]) {
            ++p;
            ++i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

}  // namespace

void admin_tails::add(store::store& st, std::shared_ptr<tail> t) {
    std::lock_guard lock(mu);
    tails.push_back(std::move(t));
    if (tails.size() == 1)
        st.observe_appends([this](std::string_view topic, std::uint64_t offset, std::uint32_t flags,
                                  std::string_view payload) { fan_out(topic, offset, flags, payload); });
}

void admin_tails::remove(store::store& st, const tail* t) {
    std::lock_guard lock(mu);
    std::erase_if(tails, [&](auto& x) { return x.get() == t; });
    if (tails.empty()) st.observe_appends(nullptr);
}

void admin_tails::fan_out(std::string_view topic, std::uint64_t offset, std::uint32_t flags, std::string_view payload) {
    std::lock_guard lock(mu);
    std::optional<std::string> text;
    for (auto& t : tails) {
        if (!glob(t->pattern, topic)) continue;
        if (!text) text = to_json(record_view(topic, offset, 0, flags, payload));
        t->sse->send(std::string(topic) + "@" + std::to_string(offset), *text);
    }
}

}  // namespace litemcp::server
