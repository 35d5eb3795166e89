#include "store/jetstream/stored_message.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "store/jetstream/message_codec.h"

namespace litemcp::store::jetstream {

namespace {

std::optional<std::string> base64_decode(const std::string& in) {
    if (in.empty()) return std::string();
    std::string out(3 * (in.size() / 4) + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0) return std::nullopt;
    std::size_t len = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding's zero bytes.
    if (in.size() >= 1 && in[in.size() - 1] == '=') --len;
    if (in.size() >= 2 && in[in.size() - 2] == '=') --len;
    out.resize(len);
    return out;
}

// A value from a "NATS/1.0\r\nKey: value\r\n..." header block.
std::optional<std::string> header_in_block(const std::string& block, std::string_view key) {
    std::size_t at = 0;
    while ((at = block.find("\r\n", at)) != std::string::npos) {
        at += 2;
        if (block.compare(at, key.size(), key) == 0 && block.compare(at + key.size(), 1, ":") == 0) {
            auto start = at + key.size() + 1;
            while (start < block.size() && block[start] == ' ') ++start;
            return block.substr(start, block.find("\r\n", start) - start);
        }
    }
    return std::nullopt;
}

std::optional<std::string> opt_header(natsMsg* m, const char* key) {
    const char* v = header(m, key);
    return v ? std::optional<std::string>(v) : std::nullopt;
}

result<std::optional<stored_message>> direct(const nats_link& link, const std::string& stream, const std::string& body) {
    auto reply = link.request("$JS.API.DIRECT.GET." + stream, body);
    if (!reply) return std::unexpected(reply.error());
    natsMsg* m = reply->get();
    if (int st = reply_status(m); st == 404) return std::optional<stored_message>();
    else if (st >= 400)
        return make_error(errc::io_error, "reading " + stream + ": status " + std::to_string(st));
    stored_message out;
    auto seq = header_number(header(m, "Nats-Sequence"));
    if (!seq) return make_error(errc::corrupt, "reading " + stream + ": a reply without its sequence");
    out.seq = *seq;
    out.timestamp_ms = header_number(header(m, header_timestamp)).value_or(0);
    out.payload.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    out.group = opt_header(m, header_group);
    out.flags = opt_header(m, header_flags);
    out.deleted = header(m, "KV-Operation") != nullptr;
    return std::optional<stored_message>(std::move(out));
}

result<std::optional<stored_message>> from_leader(const nats_link& link, const std::string& stream,
                                                  const std::string& body) {
    auto text = link.api("$JS.API.STREAM.MSG.GET." + stream, body);
    if (!text) {
        if (text.error().code == errc::not_found) return std::optional<stored_message>();
        return std::unexpected(text.error());
    }
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    auto msg = doc.is_discarded() ? doc.end() : doc.find("message");
    if (doc.is_discarded() || msg == doc.end() || !msg->is_object())
        return make_error(errc::corrupt, "reading " + stream + ": unreadable reply");
    stored_message out;
    out.seq = msg->value("seq", std::uint64_t{0});
    auto data = base64_decode(msg->value("data", std::string()));
    auto hdrs = base64_decode(msg->value("hdrs", std::string()));
    if (!data || !hdrs || out.seq == 0) return make_error(errc::corrupt, "reading " + stream + ": unreadable message");
    out.payload = std::move(*data);
    if (auto ts = header_in_block(*hdrs, header_timestamp)) out.timestamp_ms = header_number(ts->c_str()).value_or(0);
    out.group = header_in_block(*hdrs, header_group);
    out.flags = header_in_block(*hdrs, header_flags);
    out.deleted = header_in_block(*hdrs, "KV-Operation").has_value();
    return std::optional<stored_message>(std::move(out));
}

}  // namespace

result<std::optional<stored_message>> next_message(const nats_link& link, const std::string& stream,
                                                   const std::string& subject, std::uint64_t seq, served_by who) {
    const std::string body =
        "{\"seq\":" + std::to_string(seq == 0 ? 1 : seq) + ",\"next_by_subj\":\"" + subject + "\"}";
    return who == served_by::any_replica ? direct(link, stream, body) : from_leader(link, stream, body);
}

result<std::optional<stored_message>> last_message(const nats_link& link, const std::string& stream,
                                                   const std::string& subject, served_by who) {
    const std::string body = "{\"last_by_subj\":\"" + subject + "\"}";
    return who == served_by::any_replica ? direct(link, stream, body) : from_leader(link, stream, body);
}

}  // namespace litemcp::store::jetstream
