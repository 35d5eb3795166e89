// The bytes a client sends on a connection, read into requests as the
// server reads them (transport/beast/connection.h: do_read, parse_buffered,
// on_read): Beast's parser with litemcp's request_reader and its
// Transfer-Encoding rule, eager bodies, header and body limits, pipelined
// requests until one asks to close; then the checks every API makes of a
// request (server/http/request_checks.h). Any bytes:
//
//  * no crash, leak or undefined behaviour;
//  * the same bytes arriving in other pieces (a client's segments are its
//    own) give the same requests and end the same way -- except that a
//    syntax error Beast sees at once in one segmentation it may wait on in
//    another (syntax_seen_early), and it counts the header limit from
//    another place (limit_counted_differently);
//  * a request read has a method and a target and a body within the limit;
//    a bearer token read is not empty, nor is a path segment.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/request_checks.h"
#include "test/fuzz/fuzz_check.h"
#include "transport/beast/request_reader.h"

namespace {

namespace beast = boost::beast;
using litemcp::transport::http_request;

// The server's limits are 16 KiB of header and 4 MiB of body; these are
// small so that inputs of a few KiB reach both (431 and 413).
constexpr std::uint32_t header_limit = 2048;
constexpr std::uint64_t body_limit = 1024;

// What a connection made of the bytes.
struct connection_read {
    std::vector<http_request> requests;
    beast::error_code error;       // what ended it (a 400, 413, 431 or 501, or a close), if anything
    bool unfinished = false;       // the bytes ran out inside a request
    std::string unsupported_coding;

    bool operator==(const connection_read& o) const {
        if (requests.size() != o.requests.size() || error != o.error || unfinished != o.unfinished ||
            unsupported_coding != o.unsupported_coding)
            return false;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto &a = requests[i], &b = o.requests[i];
            if (a.method != b.method || a.target != b.target || a.headers.all() != b.headers.all() || a.body != b.body)
                return false;
        }
        return true;
    }
};

// Reads the input as arriving in pieces of the given sizes, in turn.
template <std::size_t N>
connection_read read_connection(std::string_view input, const std::array<std::size_t, N>& pieces) {
    connection_read out;
    std::string buffer;  // received and not yet parsed, as the connection's buffer_
    std::size_t received = 0, turn = 0;
    std::optional<litemcp::transport::request_reader> parser;
    auto next_request = [&] {
        parser.emplace();
        parser->eager(true);
        parser->limit_body(body_limit);
        parser->header_limit(header_limit);
    };
    next_request();
    for (;;) {
        while (!buffer.empty() && !parser->is_done()) {
            // As connection::parse_buffered: Beast 1.81 asserts when given
            // fewer than 5 bytes of a chunked body after its final chunk.
            if (parser->is_header_done() && parser->chunked() && buffer.size() < 5) break;
            beast::error_code ec;
            const auto used = parser->put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
            buffer.erase(0, used);
            if (ec && ec != beast::http::error::need_more) {
                out.error = ec;
                out.unsupported_coding = parser->unsupported_coding;
                return out;
            }
            if (ec == beast::http::error::need_more || used == 0) break;
        }
        if (parser->is_done()) {
            out.requests.push_back(std::move(parser->req));
            if (!parser->keep_alive()) return out;  // answered, then the connection closes
            next_request();
            continue;
        }
        if (received == input.size()) {
            out.unfinished = parser->got_some() || !buffer.empty();
            return out;
        }
        const auto n = std::min(pieces[turn++ % N], input.size() - received);
        buffer.append(input.substr(received, n));
        received += n;
    }
}

// What the APIs check of a request, on the path and query the connection splits off.
void check_request(http_request& req) {
    namespace checks = litemcp::server::http;
    FUZZ_CHECK(!req.method.empty() && !req.target.empty());
    FUZZ_CHECK(req.body.size() <= body_limit);
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);

    (void)checks::accepts(req, "application/json");
    (void)checks::accepts(req, "text/event-stream");
    (void)checks::is_json(req);
    if (const auto token = checks::bearer_token(req)) FUZZ_CHECK(!token->empty());
    static const std::vector<std::string> hosts{"mcp.example.com"}, origins{"https://app.example.com"};
    (void)checks::origin_or_host_refusal(req, hosts, origins);
    (void)checks::query_param(req, "cursor");
    if (const auto segments = checks::path_segments(req.path))
        for (const auto& s : *segments) FUZZ_CHECK(!s.empty());
    (void)checks::is_loopback(checks::host_of(req.headers.get("Host").value_or("")));
    (void)checks::is_loopback(checks::origin_host(req.headers.get("Origin").value_or("")));
}

// Beast parses a start line or a header at once when the first bytes it is
// given hold it, but once it has asked for more it waits for CRLF CRLF
// before it looks again: a bare LF, a control character, a bad
// Content-Length in a header is a 400 when it came in the first segment, and otherwise waits for the end of
// the header, which the header limit (431) or the idle timeout ends. Both
// refuse the request; the requests before it are the same.
bool syntax_seen_early(const connection_read& refused, const connection_read& waiting) {
    using e = beast::http::error;
    const auto& ec = refused.error;
    const bool syntax = ec && ec != e::header_limit && ec != e::body_limit;  // in the start line or the fields
    const bool waited = waiting.error ? waiting.error == e::header_limit : waiting.unfinished;
    if (!syntax || !waited) return false;
    connection_read before = waiting;
    before.error = refused.error;
    before.unfinished = refused.unfinished;
    before.unsupported_coding = refused.unsupported_coding;
    return before == refused;
}

// Beast counts the header limit from the end of the start line when the
// whole header is at hand, and from its start when it waited for more: a
// header just over the limit passes in one segmentation and is a 431 in
// another. Either way the header is bounded (by twice the limit at most);
// the requests before it are the same.
bool limit_counted_differently(const connection_read& limited, const connection_read& other) {
    if (limited.error != beast::http::error::header_limit || other.requests.size() < limited.requests.size())
        return false;
    connection_read prefix = other;
    prefix.requests.resize(limited.requests.size());
    prefix.error = limited.error;
    prefix.unfinished = limited.unfinished;
    prefix.unsupported_coding = limited.unsupported_coding;
    return prefix == limited;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto whole = read_connection(input, std::array<std::size_t, 1>{size + 1});
    const auto pieces = read_connection(input, std::array<std::size_t, 6>{7, 1, 64, 3, 512, 2});
    FUZZ_CHECK(whole == pieces || syntax_seen_early(whole, pieces) || syntax_seen_early(pieces, whole) ||
               limit_counted_differently(whole, pieces) || limit_counted_differently(pieces, whole));
    for (auto& req : whole.requests) check_request(req);
    return 0;
}
