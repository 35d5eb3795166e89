// The shared change log: one topic that every GET stream and listen stream
// reads for list changes (and listen streams for resource updates and task
// status), so a change is one append however many streams there are.
//
// Threading: constants.
#pragma once

#include <cstdint>
#include <string_view>

namespace litemcp::server {

inline constexpr std::string_view changes_topic = "mcp.changes/all";
// A change-log record for listen streams only (notifications/resources/updated
// of a URI, a task's status): legacy GET streams get those through their
// session's own topic.
inline constexpr std::uint32_t changes_flag_listen_only = 1;

}  // namespace litemcp::server
