// Paged lists (tools/list, resources/list, ...): opaque cursors that hold the
// key of the previous page's last item ("c:<key>"), page_size items a page.
#pragma once

#include <string>
#include <string_view>

#include "server/rpc/provider.h"

namespace litemcp::server::methods {

inline constexpr std::size_t page_size = 500;

// items: the registry's list, in key order; key(item) gives an item's key.
template <class Items, class Key>
rpc_result page(const Items& items, const json& params, std::string_view field, Key key) {
    std::string after;
    if (params.contains("cursor")) {
        if (!params["cursor"].is_string()) return fail(rpc_code::invalid_params, "cursor must be a string");
        after = params["cursor"].get<std::string>();
        if (after.rfind("c:", 0) != 0) return fail(rpc_code::invalid_params, "invalid cursor");
        after = after.substr(2);
    }
    json list = json::array();
    std::string last;
    bool more = false;
    for (auto& item : items) {
        const std::string k = key(*item);
        if (!after.empty() && k <= after) continue;
        if (list.size() == page_size) {
            more = true;
            break;
        }
        list.push_back(item->definition);
        last = k;
    }
    json out{{std::string(field), std::move(list)}};
    if (more) out["nextCursor"] = "c:" + last;
    return out;
}

}  // namespace litemcp::server::methods
