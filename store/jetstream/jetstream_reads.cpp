// read() and topic() of the JetStream engine: Direct Get by subject, one
// message per round trip, served by the nearest replica; the stream
// leader's get when that replica has not stored what a wake announced.
#include "store/jetstream/jetstream_store.h"

#include "store/jetstream/message_codec.h"
#include "store/jetstream/stored_message.h"

namespace litemcp::store::jetstream {

namespace {

std::string unreadable(std::string_view topic, std::uint64_t seq) {
    return "record " + std::string(topic) + "@" + std::to_string(offset_of(seq, 0)) + " is damaged";
}

}  // namespace

result<read_batch> jetstream_store::read(std::string_view topic, std::uint64_t from, read_limits limits) const {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    const auto addr = names_.of(topic);
    // What the wakes (and the leader, at bind) announced: a replica that has
    // not stored it yet is passed over for the leader. Reading goes on to the
    // end regardless: a caller that saw an append acknowledged must find it.
    const std::uint64_t announced = router_->known_end(topic);
    read_batch out;
    out.next_offset = from;
    std::uint64_t seq = seq_of(from), skip = index_of(from), bytes = 0, last_seq = 0;
    auto who = served_by::any_replica;
    bool more = false, found_any = false;
    for (;;) {
        auto msg = next_message(*link_, addr.stream, addr.subject, seq, who);
        if (!msg) return std::unexpected(msg.error());
        if (!*msg) {
            if (who == served_by::any_replica && announced > 0 && last_seq < announced && seq <= announced) {
                who = served_by::leader;
                continue;
            }
            break;
        }
        found_any = true;
        auto& m = **msg;
        auto records = decode_message(m.payload, m.group ? m.group->c_str() : nullptr, m.flags ? m.flags->c_str() : nullptr);
        if (!records) return make_error(errc::corrupt, unreadable(topic, m.seq));
        for (std::size_t i = (m.seq == seq ? skip : 0); i < records->size(); ++i) {
            auto& r = (*records)[i];
            if (!out.records.empty() &&
                (out.records.size() >= limits.max_records || bytes + r.payload.size() > limits.max_bytes)) {
                more = true;
                break;
            }
            out.records.push_back(record{std::string(topic), offset_of(m.seq, i), m.timestamp_ms, r.flags,
                                         limits.payloads ? std::string(r.payload) : std::string()});
            bytes += out.records.back().payload.size();
            out.next_offset = offset_of(m.seq, i) + 1;
        }
        last_seq = m.seq;
        if (more || out.records.size() >= limits.max_records) {
            more = true;
            break;
        }
        // Past the group: the next message of the subject.
        out.next_offset = offset_of(m.seq + 1, 0);
        seq = m.seq + 1;
        skip = 0;
    }
    if (!found_any && from == 0) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    if (last_seq > announced) router_->note_end(topic, last_seq);
    out.first_offset = 0;  // not known without another round trip; never truncated
    out.end_offset = more ? out.next_offset + 1 : out.next_offset;
    return out;
}

result<topic_info> jetstream_store::topic(std::string_view topic) const {
    if (auto r = parse_topic_name(topic); !r) return std::unexpected(r.error());
    const auto addr = names_.of(topic);
    auto first = next_message(*link_, addr.stream, addr.subject, 1, served_by::any_replica);
    if (!first) return std::unexpected(first.error());
    auto last = last_message(*link_, addr.stream, addr.subject, served_by::leader);
    if (!last) return std::unexpected(last.error());
    if (!*last) return make_error(errc::not_found, "no lite topic '" + std::string(topic) + "'");
    auto& l = **last;
    auto records = decode_message(l.payload, l.group ? l.group->c_str() : nullptr, l.flags ? l.flags->c_str() : nullptr);
    if (!records) return make_error(errc::corrupt, unreadable(topic, l.seq));
    topic_info info;
    info.name = std::string(topic);
    info.first_offset = offset_of(*first ? (*first)->seq : l.seq, 0);
    info.end_offset = offset_of(l.seq, records->size());
    info.created_ms = *first ? (*first)->timestamp_ms : l.timestamp_ms;
    info.last_write_ms = l.timestamp_ms;
    info.consumers = ready_.bound_consumers(topic);
    return info;
}

}  // namespace litemcp::store::jetstream
