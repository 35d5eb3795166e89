#include "server/rpc/request_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/util/base64.h"
#include "server/json/json_text.h"

namespace litemcp::server {

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string hex(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 15]);
    }
    return out;
}

}  // namespace

std::string request_state_codec::new_key() {
    unsigned char raw[32];
    for (std::size_t got = 0; got < sizeof raw;) {
        auto n = ::getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return {};
        }
        got += static_cast<std::size_t>(n);
    }
    return hex(raw, sizeof raw);
}

std::expected<request_state_codec, std::string> request_state_codec::load(const request_state_options& options,
                                                                           const std::string& data_dir) {
    if (!options.key.empty()) {
        if (options.key.size() < 16) return std::unexpected("the request-state key must have at least 16 bytes");
        return request_state_codec(options.key, options.ttl);
    }
    const auto path = std::filesystem::path(data_dir) / "request-state.key";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream buf;
        buf << in.rdbuf();
        std::string key = buf.str();
        if (!in || key.size() < 16) return std::unexpected(path.string() + " is unreadable or shorter than 16 bytes");
        return request_state_codec(std::move(key), options.ttl);
    }
    std::string key = new_key();
    if (key.empty()) return std::unexpected("no randomness for a request-state key");
    std::filesystem::create_directories(data_dir, ec);
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << key;
        if (!out) return std::unexpected("cannot write " + tmp + ": " + std::strerror(errno));
    }
    std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
    std::filesystem::rename(tmp, path, ec);
    if (ec) return std::unexpected("cannot create " + path.string() + ": " + ec.message());
    return request_state_codec(std::move(key), options.ttl);
}

std::string request_state_codec::mac(std::string_view payload) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(payload.data()),
         payload.size(), out, &len);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(out), len), base64_alphabet::url);
}

std::string request_state_codec::seal(const request_binding& binding, const json& answers) const {
    const json payload{{"v", 1},
                       {"m", binding.method},
                       {"d", binding.digest},
                       {"p", binding.principal},
                       {"e", now_ms() + ttl_.count()},
                       {"a", answers}};
    const auto body = base64_encode(to_json(payload), base64_alphabet::url);
    return body + "." + mac(body);
}

std::expected<json, std::string> request_state_codec::open(std::string_view state,
                                                           const request_binding& binding) const {
    const auto dot = state.rfind('.');
    if (dot == std::string_view::npos) return std::unexpected("requestState is not one litemcp issued");
    const auto body = state.substr(0, dot);
    const auto expected = mac(body);
    const auto given = state.substr(dot + 1);
    if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0)
        return std::unexpected("requestState failed verification (altered, or sealed by another key)");
    auto text = base64_decode(body, base64_alphabet::url);
    if (!text) return std::unexpected("requestState is not one litemcp issued");
    auto payload = parse_json(*text).value_or(json());
    if (!payload.is_object() || payload.value("v", 0) != 1 || !payload.contains("a") || !payload["a"].is_object())
        return std::unexpected("requestState is not one litemcp issued");
    if (payload.value("e", std::int64_t{0}) < now_ms()) return std::unexpected("requestState expired; start the request again");
    if (payload.value("m", "") != binding.method || payload.value("d", "") != binding.digest)
        return std::unexpected("requestState belongs to another request (method or parameters differ)");
    if (payload.value("p", "") != binding.principal) return std::unexpected("requestState belongs to another principal");
    return payload["a"];
}

std::string request_state_codec::params_digest(const json& params) {
    json p = params.is_object() ? params : json::object();
    p.erase("_meta");
    p.erase("inputResponses");
    p.erase("requestState");
    const auto text = to_json(p);  // object keys are sorted: a canonical form
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    return hex(md, 16);
}

}  // namespace litemcp::server
