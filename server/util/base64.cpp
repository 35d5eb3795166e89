#include "server/util/base64.h"

namespace litemcp::server {

std::optional<std::string> base64_decode(std::string_view in, base64_alphabet alphabet) {
    const bool url = alphabet == base64_alphabet::url;
    if (!url && in.size() % 4 != 0) return std::nullopt;
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    std::size_t pad = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == (url ? '-' : '+')) v = 62;
        else if (c == (url ? '_' : '/')) v = 63;
        else if (c == '=') {
            if (++pad > 2) return std::nullopt;
            continue;
        } else {
            return std::nullopt;
        }
        if (pad) return std::nullopt;  // data after padding
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}

std::string base64_encode(std::string_view in, base64_alphabet alphabet) {
    const bool url = alphabet == base64_alphabet::url;
    const char* digits = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    unsigned buf = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buf = (buf << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(digits[(buf >> bits) & 0x3F]);
        }
    }
    if (bits > 0) out.push_back(digits[(buf << (6 - bits)) & 0x3F]);
    if (!url)
        while (out.size() % 4) out.push_back('=');
    return out;
}

}  // namespace litemcp::server
