#include "store/errc.h"

#include <charconv>

#include "store/options.h"

namespace litemcp::store {

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::invalid_name: return "invalid_name";
        case errc::unknown_parent: return "unknown_parent";
        case errc::record_too_large: return "record_too_large";
        case errc::topic_limit: return "topic_limit";
        case errc::not_found: return "not_found";
        case errc::io_error: return "io_error";
        case errc::corrupt: return "corrupt";
        case errc::index_error: return "index_error";
        case errc::invalid_argument: return "invalid_argument";
        case errc::closed: return "closed";
    }
    return "unknown";
}

result<durability> durability::parse(std::string_view text) {
    if (text == "always") return durability{fsync_mode::always, {}};
    if (text == "never") return durability{fsync_mode::never, {}};
    constexpr std::string_view prefix = "interval:";
    if (text.starts_with(prefix)) {
        auto digits = text.substr(prefix.size());
        unsigned ms = 0;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
        if (ec == std::errc() && p == digits.data() + digits.size() && ms > 0 && ms <= 60'000)
            return durability{fsync_mode::interval, std::chrono::milliseconds(ms)};
    }
    return make_error(errc::invalid_argument, "fsync must be always, never or interval:<1..60000 ms>, not '" +
                                                  std::string(text) + "'");
}

std::string durability::to_string() const {
    switch (mode) {
        case fsync_mode::always: return "always";
        case fsync_mode::never: return "never";
        case fsync_mode::interval: return "interval:" + std::to_string(interval.count());
    }
    return "?";
}

}  // namespace litemcp::store
