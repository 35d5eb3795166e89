"""Integration tests of authentication and isolation: bearer tokens from a
token file and OAuth access tokens (JWTs, RS256 and ES256, signed here with
keys the test generates with the openssl command), the protected-resource
metadata, 401/403 challenges, sessions bound to their principal, and the
per-principal caps.

usage: test_auth.py /path/to/litemcp [unittest args]"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, call, messages  # noqa: E402

BINARY = None
ISSUER = "https://auth.example.test"
RESOURCE = "https://mcp.example.test/mcp"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data, capture_output=True, check=True).stdout


def der_to_raw(sig):
    """An ECDSA DER signature (SEQUENCE of two INTEGERs) as JWS r || s."""
    assert sig[0] == 0x30
    i = 2 if sig[1] < 0x80 else 2 + (sig[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert sig[i] == 0x02
        n = sig[i + 1]
        out += sig[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


class Keys:
    """An RSA and a P-256 key pair, their JWKS, and a JWT signer."""

    def __init__(self, folder):
        self.rsa = os.path.join(folder, "rsa.pem")
        self.ec = os.path.join(folder, "ec.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", self.rsa)
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", self.ec)
        modulus = openssl("rsa", "-in", self.rsa, "-noout", "-modulus").decode().strip().split("=", 1)[1]
        point = openssl("pkey", "-in", self.ec, "-pubout", "-outform", "DER")[-65:]
        assert point[0] == 4
        self.jwks = {"keys": [
            {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": b64url(bytes.fromhex(modulus)),
             "e": b64url((65537).to_bytes(3, "big"))},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "alg": "ES256", "use": "sig",
             "x": b64url(point[1:33]), "y": b64url(point[33:65])}]}

    def jwt(self, alg="RS256", sub="alice", scope="mcp", aud=RESOURCE, iss=ISSUER, exp_in=300, nbf_in=None,
            tamper=False):
        now = int(time.time())
        claims = {"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + exp_in, "scope": scope}
        if nbf_in is not None:
            claims["nbf"] = now + nbf_in
        header = {"alg": alg, "typ": "at+jwt", "kid": "rsa-1" if alg == "RS256" else "ec-1"}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        key = self.rsa if alg == "RS256" else self.ec
        sig = openssl("dgst", "-sha256", "-sign", key, data=signing_input)
        if alg == "ES256":
            sig = der_to_raw(sig)
        if tamper:  # the same signature over other claims
            claims["sub"] = "mallory"
            signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        return signing_input.decode() + "." + b64url(sig)


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="litemcp-auth-")
        cls.keys = Keys(cls.folder)
        cls.jwks = os.path.join(cls.folder, "jwks.json")
        with open(cls.jwks, "w") as f:
            json.dump(cls.keys.jwks, f)
        cls.tokens = os.path.join(cls.folder, "tokens.json")
        with open(cls.tokens, "w") as f:
            json.dump([{"token": "service-token-0123456789", "principal": "svc", "scopes": ["mcp", "mcp:workers"]},
                       {"token": "reader-token-0123456789", "principal": "reader", "scopes": ["mcp:admin"]},
                       {"token": "scraper-token-0123456789", "principal": "prometheus", "scopes": ["mcp:metrics"]}], f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        self.srv = Server(BINARY, ["--jwks-file", self.jwks, "--tokens-file", self.tokens, "--oauth-issuer", ISSUER,
                                   "--resource-uri", RESOURCE, "--max-sessions-per-principal", "3",
                                   "--initialize-per-minute", "5"]).start()

    def tearDown(self):
        self.srv.cleanup()

    def initialize(self, token):
        status, r, text = self.srv.request("POST", {
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "auth-test", "version": "1"}}},
            {"Authorization": "Bearer " + token} if token else {})
        return status, r, text

    def test_good_tokens_of_both_algorithms_and_of_the_token_file(self):
        for token in (self.keys.jwt("RS256"), self.keys.jwt("ES256"), "service-token-0123456789"):
            status, r, text = self.initialize(token)
            self.assertEqual(status, 200, text)
            sid = r.getheader("Mcp-Session-Id")
            body, h = call(sid, 1, "echo", {"text": "authorized"})
            h["Authorization"] = "Bearer " + token
            self.assertEqual(messages(self.srv.open("POST", body, h))[-1]["result"]["content"][0]["text"], "authorized")

    def test_metrics_need_the_metrics_scope_when_authentication_is_on(self):
        status, r, _ = self.srv.request("GET", path="/metrics")
        self.assertEqual(status, 401)
        self.assertIn("mcp:metrics", r.getheader("WWW-Authenticate"))
        status, _, _ = self.srv.request("GET", path="/metrics",
                                        headers={"Authorization": "Bearer service-token-0123456789"})
        self.assertEqual(status, 403)
        status, _, text = self.srv.request("GET", path="/metrics",
                                           headers={"Authorization": "Bearer scraper-token-0123456789"})
        self.assertEqual(status, 200)
        self.assertIn("litemcp_sessions", text)
        self.assertEqual(self.srv.request("GET", path="/healthz")[0], 200)  # probes need nothing

    def test_the_bearer_scheme_is_case_insensitive_everywhere(self):
        # RFC 9110 11.1: the token file, JWTs, worker credentials and the
        # admin token all read the scheme the same way.
        for scheme in ("BEARER", "bearer", "BeArEr"):
            status, r, text = self.srv.request("POST", {
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "auth-test", "version": "1"}}},
                {"Authorization": scheme + " service-token-0123456789"})
            self.assertEqual(status, 200, (scheme, text))
            status, _, text = self.srv.request("POST", {
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "auth-test", "version": "1"}}},
                {"Authorization": scheme + " " + self.keys.jwt("ES256")})
            self.assertEqual(status, 200, (scheme, text))
        status, _, _ = self.initialize(None)
        self.assertEqual(status, 401)
        status, r, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": 0, "method": "ping"},
                                        {"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertEqual(status, 401)
        self.assertIn("invalid_token", r.getheader("WWW-Authenticate"))

    def test_refusals_say_why_and_where_the_metadata_is(self):
        cases = [
            (None, 401, None),
            ("not-a-token", 401, "invalid_token"),
            (self.keys.jwt(exp_in=-3600), 401, "expired"),
            (self.keys.jwt(nbf_in=3600), 401, "not valid yet"),
            (self.keys.jwt(aud="https://other.example.test/mcp"), 401, "not issued for"),
            (self.keys.jwt(iss="https://evil.example.test"), 401, "issuer"),
            (self.keys.jwt(tamper=True), 401, "signature"),
            (self.keys.jwt("ES256", tamper=True), 401, "signature"),
            (self.keys.jwt(scope="mcp:admin"), 403, "insufficient_scope"),
            ("eyJhbGciOjF9.e30.AA", 401, "invalid_token"),  # {"alg":1}: a number where a name belongs
            (b64url(json.dumps({"alg": "RS256", "kid": ["rsa-1"]}).encode()) + ".e30.AA", 401, "invalid_token"),
            (b64url(json.dumps({"alg": "none"}).encode()) + "." + b64url(json.dumps(
                {"iss": ISSUER, "sub": "x", "aud": RESOURCE, "exp": 2**40, "scope": "mcp"}).encode()) + ".", 401,
             "not accepted"),
            ("reader-token-0123456789", 403, "insufficient_scope"),
        ]
        for token, status, needle in cases:
            got, r, text = self.initialize(token)
            self.assertEqual(got, status, (token, text))
            challenge = r.getheader("WWW-Authenticate")
            self.assertIn('resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"',
                          challenge)
            self.assertIn('scope="mcp"', challenge)
            if needle:
                self.assertIn(needle, challenge + text, token)

    def test_protected_resource_metadata_at_both_addresses(self):
        for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
            status, _, text = self.srv.request("GET", path=path)
            self.assertEqual(status, 200)
            meta = json.loads(text)
            self.assertEqual(meta["resource"], RESOURCE)
            self.assertEqual(meta["authorization_servers"], [ISSUER])
            self.assertIn("mcp", meta["scopes_supported"])

    def test_another_principal_gets_404_never_the_session(self):
        alice = self.keys.jwt(sub="alice")
        bob = self.keys.jwt(sub="bob")
        status, r, _ = self.initialize(alice)
        sid = r.getheader("Mcp-Session-Id")
        resp = self.srv.open("POST", *call(sid, 1, "echo", {"text": "mine"}))  # no token at all
        self.assertEqual(resp.status, 401)
        body, h = call(sid, 2, "echo", {"text": "mine"})
        h["Authorization"] = "Bearer " + alice
        priming = self.srv.open("POST", body, h)
        first_id = None
        for line in priming:
            if line.startswith(b"id: "):
                first_id = line[4:].strip().decode()
                break
        priming.read()
        for method, headers in [("POST", {}), ("GET", {"Accept": "text/event-stream"}),
                                ("GET", {"Accept": "text/event-stream", "Last-Event-ID": first_id}),
                                ("DELETE", {})]:
            h = dict(headers, **{"Mcp-Session-Id": sid, "Authorization": "Bearer " + bob})
            status, _, text = self.srv.request(method, {"jsonrpc": "2.0", "id": 3, "method": "ping"}
                                               if method == "POST" else None, h)
            self.assertEqual(status, 404, (method, headers, text))
        # Still alice's, untouched.
        h = {"Mcp-Session-Id": sid, "Authorization": "Bearer " + alice}
        self.assertEqual(self.srv.request("POST", {"jsonrpc": "2.0", "id": 4, "method": "ping"}, h)[0], 200)
        # No existence oracle: bob's initialize naming alice's session is
        # answered as one naming an unknown id (a new session of bob's) ...
        init = {"jsonrpc": "2.0", "id": 5, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "probe", "version": "1"}}}
        answers = []
        for probe in (sid, "f" * 32):
            status, r, text = self.srv.request("POST", init, {"Mcp-Session-Id": probe, "Authorization": "Bearer " + bob})
            answers.append(status)
            self.assertNotEqual(r.getheader("Mcp-Session-Id"), sid)
        self.assertEqual(answers, [200, 200])
        # ... while alice herself is told her session is initialized already.
        status, _, _ = self.srv.request("POST", init, {"Mcp-Session-Id": sid, "Authorization": "Bearer " + alice})
        self.assertEqual(status, 400)

    def test_per_principal_caps_on_sessions_and_initialize_rate(self):
        carol = self.keys.jwt(sub="carol")
        sids = []
        for _ in range(3):
            status, r, _ = self.initialize(carol)
            self.assertEqual(status, 200)
            sids.append(r.getheader("Mcp-Session-Id"))
        status, _, text = self.initialize(carol)
        self.assertEqual(status, 429)
        self.assertIn("limit per principal", text)
        self.assertEqual(self.initialize(self.keys.jwt(sub="dave"))[0], 200)  # others are not affected
        self.srv.request("DELETE", headers={"Mcp-Session-Id": sids[0], "Authorization": "Bearer " + carol})
        self.assertEqual(self.initialize(carol)[0], 200)  # room again
        # Five initialize requests a minute: carol has made five.
        status, r, text = self.initialize(carol)
        self.assertEqual(status, 429)
        self.assertIn("a minute", text)
        self.assertGreaterEqual(int(r.getheader("Retry-After")), 1)

    def test_workers_and_admin_need_their_scopes(self):
        tool = {"name": "t", "inputSchema": {"type": "object"}}
        status, r, _ = self.srv.request("POST", {"name": "w", "tools": [tool]}, path="/workers")
        self.assertEqual(status, 401)
        status, _, _ = self.srv.request("POST", {"name": "w", "tools": [tool]},
                                        {"Authorization": "Bearer " + self.keys.jwt()}, path="/workers")
        self.assertEqual(status, 403)
        status, _, text = self.srv.request("POST", {"name": "w", "tools": [tool]},
                                           {"Authorization": "Bearer service-token-0123456789"}, path="/workers")
        self.assertEqual(status, 201, text)
        # The owner registers it again with its token, no credential needed.
        status, _, text = self.srv.request("POST", {"name": "w", "tools": [tool]},
                                           {"Authorization": "Bearer service-token-0123456789"}, path="/workers")
        self.assertEqual(status, 200, text)
        # Another principal with the scope cannot take the name.
        status, _, _ = self.srv.request("POST", {"name": "w", "tools": [tool]},
                                        {"Authorization": "Bearer " + self.keys.jwt(sub="eve", scope="mcp mcp:workers")},
                                        path="/workers")
        self.assertEqual(status, 409)
        status, _, _ = self.srv.request("GET", path="/admin/store",
                                        headers={"Authorization": "Bearer reader-token-0123456789"})
        self.assertEqual(status, 200)

    def test_with_authentication_on_loopback_is_not_trusted_by_default(self):
        # Without a credential principal B could read A's events through the
        # admin API from the same host; the switch can still trust loopback.
        status, r, _ = self.srv.request("GET", path="/admin/sessions")
        self.assertEqual(status, 401)
        self.assertEqual(self.srv.request("GET", path="/admin/sessions",
                                          headers={"Authorization": "Bearer reader-token-0123456789"})[0], 200)
        self.srv.cleanup()
        self.srv = Server(BINARY, ["--jwks-file", self.jwks, "--tokens-file", self.tokens, "--oauth-issuer", ISSUER,
                                   "--resource-uri", RESOURCE, "--admin-credential-on-loopback=off"]).start()
        self.assertEqual(self.srv.request("GET", path="/admin/sessions")[0], 200)

    def test_the_admin_api_takes_the_admin_scope_when_loopback_is_not_trusted(self):
        def admin(token):
            return self.srv.request("GET", path="/admin/store",
                                    headers={"Authorization": "Bearer " + token} if token else {})
        status, r, _ = admin(None)
        self.assertEqual(status, 401)
        self.assertIn("Bearer", r.getheader("WWW-Authenticate") or "")
        self.assertEqual(admin("not-a-token-of-this-server")[0], 401)
        status, r, _ = admin(self.keys.jwt())  # a good token with the scope mcp only
        self.assertEqual(status, 403)
        self.assertIn("insufficient_scope", r.getheader("WWW-Authenticate") or "")
        self.assertEqual(admin("service-token-0123456789")[0], 403)  # mcp:workers, not mcp:admin
        self.assertEqual(admin("reader-token-0123456789")[0], 200)
        self.assertEqual(admin(self.keys.jwt(scope="mcp mcp:admin"))[0], 200)


class Misconfiguration(unittest.TestCase):
    def test_authentication_needs_its_settings(self):
        folder = tempfile.mkdtemp(prefix="litemcp-auth-")
        try:
            jwks = os.path.join(folder, "jwks.json")
            with open(jwks, "w") as f:
                json.dump({"keys": []}, f)
            for args, needle in [(["--jwks-file", jwks], "resource-uri"),
                                 (["--jwks-file", jwks, "--resource-uri", RESOURCE], "oauth-issuer"),
                                 (["--jwks-file", jwks, "--resource-uri", RESOURCE, "--oauth-issuer", ISSUER], "no RSA"),
                                 (["--tokens-file", "/nonexistent.json", "--resource-uri", RESOURCE], "/nonexistent.json")]:
                r = subprocess.run([BINARY, "--port", "0", "--data", os.path.join(folder, "data")] + args,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(needle, r.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_a_jwks_with_members_of_the_wrong_type_is_refused_clearly(self):
        # Each once ended the process with an uncaught exception (SIGABRT)
        # instead of a one-line refusal that names the key.
        folder = tempfile.mkdtemp(prefix="litemcp-auth-")
        try:
            jwks = os.path.join(folder, "jwks.json")
            for doc, needle in [({"keys": [1]}, "keys[0]: a key must be an object"),
                                ({"keys": [{"kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB"}]}, "keys[0].kid: must be a string"),
                                ({"keys": [{"kty": "EC", "crv": "P-256", "x": ["a"], "y": "b"}]}, "keys[0].x: must be a string")]:
                with open(jwks, "w") as f:
                    json.dump(doc, f)
                r = subprocess.run([BINARY, "--port", "0", "--data", os.path.join(folder, "data"), "--jwks-file", jwks,
                                    "--resource-uri", RESOURCE, "--oauth-issuer", ISSUER],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(needle, r.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
