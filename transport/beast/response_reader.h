// Private to transport/: Beast's response parser writing into a
// client_response, the client's counterpart of request_reader.h.
#pragma once

#include "transport/beast/common.h"
#include "transport/http_client.h"

namespace litemcp::transport {

// Where the body of a response goes once its head is in.
class response_sink {
public:
    virtual ~response_sink() = default;
    // The final head: returns true to stream the body through data().
    virtual bool head(const client_response& res) = 0;
    virtual void data(std::string_view chunk) = 0;
};

// Parses one response, straight into `res`: no Beast message or fields
// container. Beast does the parsing (status line, chunked and Content-Length
// framing, a body delimited by the end of the connection, the header bound).
// A collected body is bounded here rather than with Beast's body_limit, which
// must be set before the head is known to be collected rather than streamed.
// A 1xx interim response parses as a complete message with interim() true:
// the caller then reads the final one with a new reader.
class response_reader final : public http::basic_parser<false> {
public:
    response_reader(response_sink& sink, std::size_t max_body) : sink_(sink), max_body_(max_body) {}

    client_response res;
    bool interim() const { return interim_; }
    bool streaming() const { return streaming_; }

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code& ec) override {
        ec = http::error::bad_method;  // never called: this parses responses
    }
    void on_response_impl(int code, beast::string_view, int, beast::error_code& ec) override {
        if (code == 101) {  // the client never asks for an upgrade
            ec = http::error::bad_status;
            return;
        }
        res.status = static_cast<unsigned>(code);
        interim_ = code < 200;
        res.headers.reserve(16);
    }
    void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
        res.headers.add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    }
    void on_header_impl(beast::error_code& ec) override {
        if (interim_) return;
        streaming_ = sink_.head(res);
        if (streaming_) return;
        // A declared length past the bound fails before any of it is read.
        if (auto length = content_length(); length && *length > max_body_) ec = http::error::body_limit;
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code&) override {
        if (!streaming_ && length) res.body.reserve(static_cast<std::size_t>(*length));  // within max_body_
    }
    std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
        return take(body, ec);
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code& ec) override {
        return take(body, ec);
    }
    void on_finish_impl(beast::error_code&) override {}

    std::size_t take(beast::string_view body, beast::error_code& ec) {
        if (streaming_) {
            if (!body.empty()) sink_.data(std::string_view(body.data(), body.size()));
        } else {
            if (res.body.size() + body.size() > max_body_) {
                ec = http::error::body_limit;
                return 0;
            }
            res.body.append(body.data(), body.size());
        }
        return body.size();
    }

    response_sink& sink_;
    std::size_t max_body_;
    bool interim_ = false;
    bool streaming_ = false;
};

}  // namespace litemcp::transport
