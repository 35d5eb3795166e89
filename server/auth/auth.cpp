#include "server/auth/auth.h"

#include "server/util/base64.h"
#include "server/http/request_checks.h"
#include "server/util/ids.h"
#include "server/json/json_fields.h"
#include "server/json/json_text.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>

namespace litemcp::server {


namespace {

std::optional<json> read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream s;
    s << in.rdbuf();
    auto j = parse_json(s.str());
    if (!j) return std::nullopt;
    return std::move(*j);
}

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// A public key from its raw parameters (OpenSSL 3's fromdata interface).
pkey_ptr make_key(const char* type, const std::function<bool(OSSL_PARAM_BLD*)>& push) {
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    pkey_ptr out;
    if (bld && push(bld)) {
        OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
        EVP_PKEY* key = nullptr;
        if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1)
            out.reset(key);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
    }
    OSSL_PARAM_BLD_free(bld);
    return out;
}

// A string member, or "" when it is missing or of another type (a token's
// JSON is the sender's: never let a type mismatch throw).
std::string text(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_hex64(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::set<std::string> scopes_of(const json& claims) {
    std::set<std::string> out;
    if (claims.contains("scope") && claims["scope"].is_string()) {
        std::istringstream in(claims["scope"].get<std::string>());
        for (std::string s; in >> s;) out.insert(s);
    }
    if (claims.contains("scp") && claims["scp"].is_array())
        for (auto& s : claims["scp"])
            if (s.is_string()) out.insert(s.get<std::string>());
    return out;
}

}  // namespace

struct authenticator::key {
    std::string kid;
    std::string alg;  // RS256 or ES256
    pkey_ptr pkey;
};

authenticator::~authenticator() = default;

std::expected<std::unique_ptr<authenticator>, std::string> authenticator::load(const auth_options& o) {
    std::unique_ptr<authenticator> a(new authenticator());
    a->o_ = o;
    a->enabled_ = !o.tokens_file.empty() || !o.jwks_file.empty();
    if (!a->enabled_) return a;
    if (o.resource.empty())
        return std::unexpected("authentication needs resource-uri: this server's canonical URI, the tokens' audience");
    if (a->o_.authorization_servers.empty() && !o.issuer.empty()) a->o_.authorization_servers = {o.issuer};
    if (!o.tokens_file.empty()) {
        auto doc = read_json(o.tokens_file);
        if (!doc || !doc->is_array()) return std::unexpected(o.tokens_file + ": not a JSON array of tokens");
        for (std::size_t i = 0; i < doc->size(); ++i) {
            auto& t = (*doc)[i];
            const std::string where = o.tokens_file + ": [" + std::to_string(i) + "]";
            if (!t.is_object() || !t.contains("principal") || !t["principal"].is_string())
                return std::unexpected(where + ".principal: a string is required");
            std::string digest;
            if (t.contains("token") && t["token"].is_string() && t["token"].get<std::string>().size() >= 16)
                digest = sha256_hex(t["token"].get<std::string>());
            else if (t.contains("sha256") && t["sha256"].is_string() && is_hex64(t["sha256"].get<std::string>())) {
                digest = t["sha256"].get<std::string>();
                for (auto& c : digest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            else
                return std::unexpected(where + ": needs \"token\" (16 characters or more) or \"sha256\" (64 hex digits)");
            token_entry e{t["principal"].get<std::string>(), {}};
            for (auto& s : t.value("scopes", json::array({"mcp"})))
                if (s.is_string()) e.scopes.insert(s.get<std::string>());
            a->tokens_[digest] = std::move(e);
        }
    }
    if (!o.jwks_file.empty()) {
        if (o.issuer.empty()) return std::unexpected("a JWKS file needs oauth-issuer: the iss of valid tokens");
        auto doc = read_json(o.jwks_file);
        if (!doc || !doc->contains("keys") || !(*doc)["keys"].is_array())
            return std::unexpected(o.jwks_file + ": not a JWKS (an object with a keys array)");
        const auto& keys = (*doc)["keys"];
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const auto& k = keys[i];
            const std::string where = o.jwks_file + ": keys[" + std::to_string(i) + "]";
            if (!k.is_object()) return std::unexpected(where + ": a key must be an object");
            // RFC 7517: these members, when present, are strings.
            for (const char* member : {"kid", "kty", "crv", "n", "e", "x", "y"})
                if (k.contains(member) && !k[member].is_string())
                    return std::unexpected(where + "." + member + ": must be a string");
            auto entry = std::make_unique<key>();
            entry->kid = string_field(k, "kid");
            const auto kty = string_field(k, "kty");
            auto field = [&](const char* name) { return base64_decode(string_field(k, name), base64_alphabet::url).value_or(""); };
            if (kty == "RSA") {
                auto n = field("n"), e = field("e");
                entry->alg = "RS256";
                // The builder keeps pointers to the BIGNUMs until it builds.
                BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
                BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
                if (bn_n && bn_e && !n.empty() && !e.empty())
                    entry->pkey = make_key("RSA", [&](OSSL_PARAM_BLD* b) {
                        return OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
                               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e);
                    });
                BN_free(bn_n);
                BN_free(bn_e);
            } else if (kty == "EC" && string_field(k, "crv") == "P-256") {
                auto x = field("x"), y = field("y");
                if (x.size() != 32 || y.size() != 32) return std::unexpected(o.jwks_file + ": an EC key's x and y must be 32 bytes");
                const std::string pub = std::string(1, '\x04') + x + y;
                entry->alg = "ES256";
                entry->pkey = make_key("EC", [&](OSSL_PARAM_BLD* b) {
                    return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
                           OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
                });
            } else {
                continue;  // other key types are not for us
            }
            if (!entry->pkey) return std::unexpected(o.jwks_file + ": key '" + entry->kid + "' is not a usable public key");
            a->keys_.push_back(std::move(entry));
        }
        if (a->keys_.empty()) return std::unexpected(o.jwks_file + ": no RSA or P-256 key in it");
    }
    return a;
}

std::optional<auth_refusal> authenticator::admit(transport::http_request& req, std::string_view required) const {
    if (!enabled_) return std::nullopt;
    auto r = check(req.headers.get("Authorization"), required);
    if (r.outcome == auth_outcome::ok) {
        req.principal = r.principal;
        return std::nullopt;
    }
    const bool forbidden = r.outcome == auth_outcome::insufficient_scope;
    spdlog::debug("auth: {} {} refused: {}", req.method, req.path, r.why);
    return auth_refusal{forbidden ? 403u : 401u, (forbidden ? "Forbidden: " : "Unauthorized: ") + r.why,
                        challenge(r, required)};
}

auth_result authenticator::check(std::optional<std::string_view> authorization, std::string_view required) const {
    if (!authorization) return {auth_outcome::missing, {}, "no Authorization header"};
    const auto bearer = http::bearer_token(authorization);
    if (!bearer) return {auth_outcome::invalid, {}, "the Authorization header is not 'Bearer <token>'"};
    const auto token = *bearer;
    if (auto it = tokens_.find(sha256_hex(token)); it != tokens_.end()) {
        if (!it->second.scopes.contains(std::string(required)))
            return {auth_outcome::insufficient_scope, it->second.principal, "the token lacks the scope " + std::string(required)};
        return {auth_outcome::ok, it->second.principal, {}};
    }
    if (!keys_.empty() && std::count(token.begin(), token.end(), '.') == 2) {
        try {
            return check_jwt(token, required);
        } catch (const std::exception& e) {  // a token that trips the JSON library is just invalid
            return {auth_outcome::invalid, {}, "the token cannot be read"};
        }
    }
    return {auth_outcome::invalid, {}, "unknown token"};
}

auth_result authenticator::check_jwt(std::string_view token, std::string_view required) const {
    auto bad = [](std::string why) { return auth_result{auth_outcome::invalid, {}, std::move(why)}; };
    const auto d1 = token.find('.'), d2 = token.find('.', d1 + 1);
    auto header_raw = base64_decode(token.substr(0, d1), base64_alphabet::url);
    auto claims_raw = base64_decode(token.substr(d1 + 1, d2 - d1 - 1), base64_alphabet::url);
    auto sig = base64_decode(token.substr(d2 + 1), base64_alphabet::url);
    if (!header_raw || !claims_raw || !sig) return bad("the token is not base64url");
    auto header = parse_json(*header_raw).value_or(json());
    auto claims = parse_json(*claims_raw).value_or(json());
    if (!header.is_object() || !claims.is_object()) return bad("the token's header or claims are not JSON objects");
    const auto alg = text(header, "alg");
    if (alg != "RS256" && alg != "ES256") return bad("alg '" + alg + "' is not accepted (RS256, ES256)");
    const auto kid = text(header, "kid");
    // The key named by kid; without a kid every key of the algorithm's type
    // is tried (key rotation). A key's type always matches alg: an RSA key
    // never verifies an ES256 token, nor the other way round.
    std::vector<const key*> candidates;
    for (auto& candidate : keys_)
        if (candidate->alg == alg && (kid.empty() || candidate->kid == kid)) candidates.push_back(candidate.get());
    if (candidates.empty()) return bad("no key for kid '" + kid + "' and alg " + alg);

    // ES256 signatures are r || s; OpenSSL verifies DER.
    std::string der = *sig;
    if (alg == "ES256") {
        if (sig->size() != 64) return bad("an ES256 signature is 64 bytes");
        ECDSA_SIG* es = ECDSA_SIG_new();
        BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()), 32, nullptr);
        BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()) + 32, 32, nullptr);
        ECDSA_SIG_set0(es, r, s);
        const int len = i2d_ECDSA_SIG(es, nullptr);
        der.assign(static_cast<std::size_t>(std::max(len, 0)), '\0');
        auto* p = reinterpret_cast<unsigned char*>(der.data());
        i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
    }
    const auto signed_part = token.substr(0, d2);
    bool verified = false;
    for (const key* k : candidates) {
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        verified = md && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, k->pkey.get()) == 1 &&
                   EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                    reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
        EVP_MD_CTX_free(md);
        if (verified) break;
    }
    if (!verified) return bad("the signature does not verify");

    if (text(claims, "iss") != o_.issuer) return bad("the issuer is not " + o_.issuer);
    bool audience = false;
    if (claims.contains("aud")) {
        if (claims["aud"].is_string()) audience = claims["aud"] == o_.resource;
        else if (claims["aud"].is_array())
            for (auto& a : claims["aud"]) audience |= a.is_string() && a == o_.resource;
    }
    if (!audience) return bad("the token was not issued for " + o_.resource);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    if (!claims.contains("exp") || !claims["exp"].is_number()) return bad("the token has no exp");
    if (claims["exp"].get<double>() + static_cast<double>(o_.leeway.count()) < static_cast<double>(now))
        return bad("the token expired");
    if (claims.contains("nbf") && claims["nbf"].is_number() &&
        claims["nbf"].get<double>() - static_cast<double>(o_.leeway.count()) > static_cast<double>(now))
        return bad("the token is not valid yet");
    const auto principal = text(claims, "sub");
    if (principal.empty()) return bad("the token has no subject");
    if (!scopes_of(claims).contains(std::string(required)))
        return {auth_outcome::insufficient_scope, principal, "the token lacks the scope " + std::string(required)};
    return {auth_outcome::ok, principal, {}};
}

std::string authenticator::metadata_url() const {
    // https://host[:port]/path -> https://host[:port]/.well-known/oauth-protected-resource/path
    const auto scheme = o_.resource.find("://");
    const auto slash = o_.resource.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    const std::string origin = slash == std::string::npos ? o_.resource : o_.resource.substr(0, slash);
    const std::string path = slash == std::string::npos ? "" : o_.resource.substr(slash);
    return origin + "/.well-known/oauth-protected-resource" + (path == "/" ? "" : path);
}

json authenticator::protected_resource_metadata() const {
    return json{{"resource", o_.resource},
                {"authorization_servers", o_.authorization_servers},
                {"scopes_supported", {scope::mcp, scope::workers, scope::admin}},
                {"bearer_methods_supported", {"header"}}};
}

std::string authenticator::challenge(const auth_result& r, std::string_view required) const {
    std::string c = "Bearer resource_metadata=\"" + metadata_url() + "\", scope=\"" + std::string(required) + "\"";
    if (r.outcome == auth_outcome::invalid) c += ", error=\"invalid_token\", error_description=\"" + r.why + "\"";
    if (r.outcome == auth_outcome::insufficient_scope) c += ", error=\"insufficient_scope\"";
    return c;
}

}  // namespace litemcp::server
