// Bearer tokens, JWTs and JWKS files (server/auth/auth.h). The first byte
// picks what the rest of the input is:
//
//  0  a JWKS file: authenticator::load reads it or says why not, and never
//     throws (it runs at start-up, outside any handler's try);
//  1  an Authorization header value, checked by an authenticator with a
//     token file and a JWKS of an RSA and a P-256 key made at start: never
//     throws, and only the listed token is let in (nobody can sign here);
//  2  a JWT's header and claims (two JSON texts, split at the first line
//     feed), signed with the P-256 key, so that the claims are read: a token
//     let in is the configured issuer's, for this resource, with an exp, and
//     its principal is its sub.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "server/auth/auth.h"
#include "server/json/json_text.h"
#include "server/util/base64.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace litemcp::server;

constexpr std::string_view issuer = "https://issuer.example.com";
constexpr std::string_view resource = "https://mcp.example.com/mcp";
constexpr std::string_view listed_token = "fuzz-token-0123456789";
constexpr std::string_view listed_principal = "fuzz-service";

struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string b64url(std::string_view bytes) { return base64_encode(bytes, base64_alphabet::url); }

std::string bn_param(EVP_PKEY* key, const char* name) {
    BIGNUM* bn = nullptr;
    FUZZ_CHECK(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
    std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
}

// A file the authenticator reads by name: a memfd, rewritten for each input.
class memory_file {
public:
    memory_file() : fd_(memfd_create("litemcp-fuzz", 0)) { FUZZ_CHECK(fd_ >= 0); }
    ~memory_file() { close(fd_); }
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;
    void write(std::string_view text) const {
        FUZZ_CHECK(ftruncate(fd_, 0) == 0);
        FUZZ_CHECK(pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    }
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
    int fd_;
};

auth_options options_for(const memory_file& jwks, const memory_file* tokens) {
    auth_options o;
    o.jwks_file = jwks.path();
    if (tokens) o.tokens_file = tokens->path();
    o.issuer = issuer;
    o.resource = resource;
    return o;
}

// Made once: the keys, the files and the authenticator of modes 1 and 2.
struct fixture {
    pkey_ptr ec_key{EVP_EC_gen("P-256")};
    pkey_ptr rsa_key{EVP_RSA_gen(1024)};  // small: only ever verifies here
    memory_file jwks, tokens, scratch;
    std::unique_ptr<authenticator> auth;

    fixture() {
        FUZZ_CHECK(ec_key && rsa_key);
        unsigned char point[65];
        std::size_t len = 0;
        FUZZ_CHECK(EVP_PKEY_get_octet_string_param(ec_key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1 &&
                   len == 65);
        const std::string_view p(reinterpret_cast<const char*>(point), len);
        const json keys = {
            {"keys",
             {{{"kty", "EC"}, {"crv", "P-256"}, {"kid", "ec-1"}, {"x", b64url(p.substr(1, 32))}, {"y", b64url(p.substr(33))}},
              {{"kty", "RSA"},
               {"kid", "rsa-1"},
               {"n", b64url(bn_param(rsa_key.get(), OSSL_PKEY_PARAM_RSA_N))},
               {"e", b64url(bn_param(rsa_key.get(), OSSL_PKEY_PARAM_RSA_E))}}}}};
        jwks.write(to_json(keys));
        tokens.write(to_json(json::array(
            {{{"token", listed_token}, {"principal", listed_principal}, {"scopes", {"mcp", "mcp:workers"}}}})));
        auto loaded = authenticator::load(options_for(jwks, &tokens));
        FUZZ_CHECK(loaded.has_value());
        auth = std::move(*loaded);
    }

    // header.claims.signature, ES256 with the P-256 key.
    std::string sign(std::string_view header, std::string_view claims) const {
        const std::string signed_part = b64url(header) + "." + b64url(claims);
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        unsigned char der[80];
        std::size_t der_len = sizeof der;
        FUZZ_CHECK(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, ec_key.get()) == 1 &&
                   EVP_DigestSign(md, der, &der_len, reinterpret_cast<const unsigned char*>(signed_part.data()),
                                  signed_part.size()) == 1);
        EVP_MD_CTX_free(md);
        const unsigned char* p = der;
        ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
        FUZZ_CHECK(sig != nullptr);
        unsigned char rs[64];
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
        ECDSA_SIG_free(sig);
        return signed_part + "." + b64url(std::string_view(reinterpret_cast<const char*>(rs), sizeof rs));
    }
};

const fixture& the_fixture() {
    static const fixture f;
    return f;
}

void load_jwks(std::string_view text) {
    const auto& f = the_fixture();
    f.scratch.write(text);
    auto loaded = authenticator::load(options_for(f.scratch, nullptr));
    if (loaded) (void)(*loaded)->check(std::string_view("Bearer e30.e30.AAAA"), scope::mcp);
    else FUZZ_CHECK(!loaded.error().empty());
}

void check_header(std::string_view authorization) {
    const auto& f = the_fixture();
    litemcp::transport::http_request req;
    req.method = "POST";
    req.path = "/mcp";
    req.headers.add("Authorization", std::string(authorization));
    const auto refused = f.auth->admit(req, scope::mcp);
    if (!refused) FUZZ_CHECK(req.principal == listed_principal);
    else FUZZ_CHECK((refused->status == 401 || refused->status == 403) && !refused->challenge.empty());
}

void check_signed(std::string_view input) {
    const auto& f = the_fixture();
    const auto nl = input.find('\n');
    const auto header = input.substr(0, nl);
    const auto claims = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    const auto result = f.auth->check("Bearer " + f.sign(header, claims), scope::mcp);
    if (result.outcome != auth_outcome::ok && result.outcome != auth_outcome::insufficient_scope) return;
    const auto c = parse_json(claims);
    FUZZ_CHECK(c && c->is_object());
    FUZZ_CHECK(!result.principal.empty() && c->value("sub", json()) == result.principal);
    FUZZ_CHECK(c->value("iss", json()) == json(std::string(issuer)));
    const json aud = c->value("aud", json()), ours = std::string(resource);
    FUZZ_CHECK(aud == ours || (aud.is_array() && std::find(aud.begin(), aud.end(), ours) != aud.end()));
    FUZZ_CHECK(c->contains("exp") && (*c)["exp"].is_number());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: load_jwks(rest); break;
        case 1: check_header(rest); break;
        case 2: check_signed(rest); break;
    }
    return 0;
}
