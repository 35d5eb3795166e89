#include "server/streams/topic_reader.h"

#include <spdlog/spdlog.h>

namespace litemcp::server {

namespace {
constexpr std::size_t batch_records = 256;
constexpr std::size_t batch_bytes = 1u << 20;
}  // namespace

follow_outcome read_topic(store::store& st, std::string_view topic, std::uint64_t& pos,
                          const std::function<bool(const store::record&)>& each, std::string_view what) {
    for (;;) {
        auto r = st.read(topic, pos, {batch_records, batch_bytes});
        if (!r) {
            if (r.error().code == store::errc::not_found) return follow_outcome::gone;
            spdlog::error("{}: reading {} failed: {}", what, topic, r.error().message);
            return follow_outcome::failed;
        }
        if (r->outcome == store::read_outcome::truncated) {
            spdlog::warn("{}: {} lost offsets {}..{} to retention", what, topic, pos, r->first_offset - 1);
            pos = r->first_offset;
            continue;
        }
        for (auto& rec : r->records) {
            pos = rec.offset + 1;
            if (!each(rec)) return follow_outcome::stopped;
        }
        // A batch may stop at its byte bound with records still to come.
        if (r->next_offset >= r->end_offset) return follow_outcome::caught_up;
        pos = r->next_offset;
    }
}

}  // namespace litemcp::server
