// Private to transport/: Beast's request parser writing into an http_request.
#pragma once

#include "transport/beast/common.h"
#include "transport/buffer_budget.h"

namespace litemcp::transport {

// Beast's request parser, writing straight into an http_request: no Beast
// message, fields container or copies of them. Beast still does all of the
// parsing (chunked bodies, the header and body limits, errors).
class request_reader final : public http::basic_parser<true> {
public:
    http_request req;
    // A Transfer-Encoding other than "chunked" alone (e.g. "gzip, chunked"):
    // the request is refused with 501 rather than its body read as plain
    // bytes, which a proxy in front may have framed differently (RFC 9112
    // 6.1). Empty when the codings are fine.
    std::string unsupported_coding;
    // The body's share of --max-buffered-bytes: the declared length when
    // the header ends, or a chunked body as it grows. When the budget
    // refuses, over_budget is set and parsing stops (503).
    buffer_charge charge;
    bool over_budget = false;
    // basic_parser::body_limit, remembered for on_header_impl.
    void limit_body(std::uint64_t bytes) {
        body_limit(bytes);
        body_limit_ = bytes;
    }

private:
    using http::basic_parser<true>::body_limit;  // limit_body sets it
    std::uint64_t body_limit_ = 0;               // (basic_parser does not tell its own)

    void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int,
                         beast::error_code&) override {
        req.method.assign(method.data(), method.size());
        req.target.assign(target.data(), target.size());
        req.headers.reserve(16);  // an MCP client's usual dozen, without regrowing
    }
    void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
        ec = http::error::bad_version;  // never called: this parses requests
    }
    void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
        req.headers.add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    }
    void on_header_impl(beast::error_code& ec) override {
        // Transfer-Encoding, when present, must be exactly "chunked": Beast
        // frames a body as chunked only when chunked is the last coding and
        // appears once, so "chunked, chunked" would otherwise be read as a
        // body-less request followed by the chunks as another one.
        int codings = 0, chunked = 0;
        for (auto& [name, header_value] : req.headers.all()) {
            if (name.size() != 17 || !iequals(name, "Transfer-Encoding")) continue;
            std::string_view value = header_value;
            ++codings;  // a header with no coding at all is malformed too
            while (!value.empty()) {
                auto comma = value.find(',');
                auto coding = value.substr(0, comma);
                while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
                while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
                if (!coding.empty()) {
                    if (!iequals(coding, "chunked")) {
                        unsupported_coding.assign(coding);
                        ec = http::error::bad_transfer_encoding;
                        return;
                    }
                    ++chunked;
                }
                value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
            }
        }
        if (codings > 0 && chunked != 1) ec = http::error::bad_transfer_encoding;  // 400: malformed framing
        // Counted as soon as the header is in (Beast starts the body only
        // with its first byte): a client sending the header of a large
        // body and then nothing holds its share from the start.
        const auto length = content_length();
        if (!ec && length && *length <= body_limit_ && !charge.grow_to(static_cast<std::size_t>(*length))) refuse(ec);
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code&) override {
        // Within body_limit and counted (on_header_impl).
        if (length) req.body.reserve(static_cast<std::size_t>(*length));
    }
    std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override { return append(body, ec); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code& ec) override {
        return append(body, ec);
    }
    // A chunked body grows by doubling, counted before it grows and never
    // beyond the body limit (a Content-Length body has its room already).
    std::size_t append(beast::string_view body, beast::error_code& ec) {
        const std::size_t need = req.body.size() + body.size();
        if (need > req.body.capacity()) {
            const auto cap = static_cast<std::size_t>(body_limit_ ? body_limit_ : need);
            const std::size_t room = std::max(need, std::min(2 * req.body.capacity(), cap));
            if (!charge.grow_to(room)) {
                refuse(ec);
                return 0;
            }
            req.body.reserve(room);
        }
        req.body.append(body.data(), body.size());
        return body.size();
    }
    void refuse(beast::error_code& ec) {
        over_budget = true;
        ec = http::error::body_limit;
    }
    void on_finish_impl(beast::error_code&) override {}
};

}  // namespace litemcp::transport
