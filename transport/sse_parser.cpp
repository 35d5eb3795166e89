#include "transport/sse_parser.h"

#include <charconv>
#include <cstdint>

namespace litemcp::transport {

using namespace std::string_view_literals;

sse_parser::sse_parser(std::size_t max_event_bytes) : max_(max_event_bytes) {}

bool sse_parser::feed(std::string_view bytes, const std::function<void(sse_event_in&&)>& on_event) {
    if (failed_) return false;
    std::size_t i = 0;
    if (after_cr_ && !bytes.empty()) {
        after_cr_ = false;
        if (bytes[0] == '\n') i = 1;  // the LF of a CRLF split between two feeds
    }
    while (i < bytes.size()) {
        const auto end = bytes.find_first_of("\r\n"sv, i);
        const auto piece = bytes.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
        // Checked before the bytes are copied: a line that never ends cannot
        // grow the buffer past the bound.
        if (buffered() + piece.size() > max_) {
            failed_ = true;
            return false;
        }
        if (end == std::string_view::npos) {
            partial_.append(piece);
            return true;
        }
        if (partial_.empty()) {
            line(piece, on_event);  // the common case: a whole line in this feed, not copied
        } else {
            partial_.append(piece);
            line(partial_, on_event);
            partial_.clear();
        }
        if (buffered() > max_) {
            failed_ = true;
            return false;
        }
        i = end + 1;
        if (bytes[end] == '\r') {
            if (i == bytes.size()) after_cr_ = true;
            else if (bytes[i] == '\n') ++i;
        }
    }
    return true;
}

void sse_parser::line(std::string_view l, const std::function<void(sse_event_in&&)>& on_event) {
    if (first_line_) {
        first_line_ = false;
        if (l.starts_with("\xEF\xBB\xBF"sv)) l.remove_prefix(3);
    }
    if (l.empty()) return dispatch(on_event);
    if (l.front() == ':') return;  // a comment (a server's keep-alive)
    const auto colon = l.find(':');
    const auto field = l.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
        value = l.substr(colon + 1);
        if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "data"sv) {
        data_.append(value).push_back('\n');
    } else if (field == "event"sv) {
        event_.assign(value);
    } else if (field == "id"sv) {
        if (value.find('\0') != std::string_view::npos) return;
        last_id_.assign(value);
        has_id_ = true;
    } else if (field == "retry"sv) {
        if (value.empty()) return;
        for (char c : value)
            if (c < '0' || c > '9') return;
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
        if (ec != std::errc{} || end != value.data() + value.size()) return;  // out of range: ignored
        retry_ = std::chrono::milliseconds(ms);
    }
}

void sse_parser::dispatch(const std::function<void(sse_event_in&&)>& on_event) {
    if (data_.empty() && !has_id_ && !retry_) {
        event_.clear();
        return;
    }
    sse_event_in e;
    e.id = last_id_;
    e.has_id = has_id_;
    e.event = std::move(event_);
    if (!data_.empty()) data_.pop_back();  // the "\n" after the last data line
    e.data = std::move(data_);
    e.retry = retry_;
    event_.clear();
    data_.clear();
    has_id_ = false;
    retry_.reset();
    if (on_event) on_event(std::move(e));
}

}  // namespace litemcp::transport
