// litemcp's logs: spdlog on stderr, as text or JSON lines, with a level per
// module. A module is the word a log line starts with ("store: ...",
// "workers: ...", "session <id>: ...", "transport: ...", "auth: ...",
// "admin: ...", "access: ..."), which every line of litemcp names, together
// with the session, worker or call id it concerns.
//
// Threading: setup_logging() runs once in main() before any thread starts.
#pragma once

#include <expected>
#include <string>

namespace litemcp::server {

struct log_options {
    std::string level = "info";  // trace | debug | info | warn | error | critical | off. Default: info
    std::string format = "text";  // text | json (one JSON object per line). Default: text
    // Levels per module, e.g. "store=debug,workers=warn"; others use level. Default: none
    std::string modules;
    bool access_log = false;  // one "access:" line per HTTP exchange, at info. Default: off
};

std::expected<void, std::string> setup_logging(const log_options& o);

}  // namespace litemcp::server
