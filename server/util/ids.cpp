#include "server/util/ids.h"

#include <openssl/evp.h>
#include <sys/random.h>

namespace litemcp::server {

std::string random_id() {
    unsigned char b[16];
    std::size_t got = 0;
    while (got < sizeof b) {
        auto n = ::getrandom(b + got, sizeof b - got, 0);
        if (n > 0) got += static_cast<std::size_t>(n);
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(32, '0');
    for (int i = 0; i < 16; ++i) {
        out[static_cast<std::size_t>(2 * i)] = hex[b[i] >> 4];
        out[static_cast<std::size_t>(2 * i + 1)] = hex[b[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

}  // namespace litemcp::server
