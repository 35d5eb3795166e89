"""Integration tests of the legacy (session-based) MCP endpoint, against the
real litemcp binary on a free loopback port.

usage: test_legacy_http.py /path/to/litemcp [unittest args]"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import LEGACY, Server, call, events, messages, wait_until  # noqa: E402

BINARY = None


class ServerTest(unittest.TestCase):
    args = ()

    def setUp(self):
        self.srv = Server(BINARY, self.args).start()

    def tearDown(self):
        self.srv.cleanup()


class Handshake(ServerTest):
    def test_initialize_negotiates_and_opens_a_session(self):
        sid, init = self.srv.initialize()
        self.assertRegex(sid, r"^[0-9a-f]{32}$")
        r = init["result"]
        self.assertEqual(r["protocolVersion"], LEGACY)
        self.assertIn("tools", r["capabilities"])
        self.assertEqual(r["capabilities"]["logging"], {})
        self.assertEqual(r["serverInfo"]["name"], "litemcp")

    def test_versions(self):
        for asked, got in [("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
                           ("2024-11-05", "2024-11-05"), ("1999-01-01", "2025-11-25"),
                           ("2026-07-28", "2025-11-25")]:
            _, init = self.srv.initialize(asked)
            self.assertEqual(init["result"]["protocolVersion"], got, asked)

    def test_ping(self):
        sid, _ = self.srv.initialize()
        r = self.srv.open("POST", {"jsonrpc": "2.0", "id": 5, "method": "ping"}, {"Mcp-Session-Id": sid})
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(messages(r), [{"jsonrpc": "2.0", "id": 5, "result": {}}])

    def test_second_initialize_on_a_session_is_refused(self):
        sid, _ = self.srv.initialize()
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 9, "method": "initialize",
                                                    "params": {"protocolVersion": LEGACY, "capabilities": {},
                                                               "clientInfo": {"name": "x", "version": "1"}}},
                                           {"Mcp-Session-Id": sid})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text)["error"]["code"], -32600)


class HeaderRules(ServerTest):
    def setUp(self):
        super().setUp()
        self.sid, _ = self.srv.initialize()
        self.ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}

    def status(self, body=None, headers=None, method="POST", raw=None):
        s, _, text = self.srv.request(method, body, headers, raw=raw)
        return s, (json.loads(text) if text.strip().startswith("{") else None)

    def test_session_id_missing_or_unknown(self):
        s, b = self.status(self.ping)
        self.assertEqual(s, 400)
        self.assertIn("Mcp-Session-Id", b["error"]["message"])
        self.assertEqual(b["id"], 1)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": "0" * 32})
        self.assertEqual(s, 404)
        # A browser opening the endpoint learns what it is and how to start.
        status, _, text = self.srv.request("GET", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        self.assertEqual(status, 400)
        self.assertIn("POSTs an initialize request", json.loads(text)["error"]["message"])

    def test_protocol_version_header(self):
        s, b = self.status(self.ping, {"Mcp-Session-Id": self.sid, "MCP-Protocol-Version": "2031-01-01"})
        self.assertEqual(s, 400)
        self.assertIn("unsupported", b["error"]["message"])
        # another supported version is accepted (the spec asks 400 only for unsupported ones)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "MCP-Protocol-Version": "2025-06-18"})
        self.assertEqual(s, 200)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "MCP-Protocol-Version": None})
        self.assertEqual(s, 200)

    def test_accept_and_content_type(self):
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Accept": "application/json"})
        self.assertEqual(s, 406)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Accept": "text/event-stream, application/json"})
        self.assertEqual(s, 200)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Content-Type": "text/plain"})
        self.assertEqual(s, 415)
        s, _ = self.status(None, {"Mcp-Session-Id": self.sid, "Accept": "application/json"}, method="GET")
        self.assertEqual(s, 406)

    def test_bad_bodies(self):
        s, b = self.status(raw="{not json", headers={"Mcp-Session-Id": self.sid})
        self.assertEqual((s, b["error"]["code"]), (400, -32700))
        self.assertIn("expected a string as an object key at byte 1", b["error"]["message"])
        deep = "[" * 600 + "]" * 600  # nesting is bounded (512 levels)
        s, b = self.status(raw=deep, headers={"Mcp-Session-Id": self.sid})
        self.assertEqual((s, b["error"]["code"]), (400, -32700))
        self.assertIn("nested deeper than 512", b["error"]["message"])
        s, b = self.status({"jsonrpc": "2.0", "id": 3}, {"Mcp-Session-Id": self.sid})
        self.assertEqual((s, b["error"]["code"], b["id"]), (400, -32600, 3))
        s, b = self.status({"jsonrpc": "2.0", "id": None, "method": "ping"}, {"Mcp-Session-Id": self.sid})
        self.assertEqual((s, b["error"]["code"]), (400, -32600))
        s, b = self.status({"jsonrpc": "1.0", "id": 1, "method": "ping"}, {"Mcp-Session-Id": self.sid})
        self.assertEqual(s, 400)

    def test_a_malformed_initialize_is_refused_before_anything_is_recorded(self):
        before = self.srv.request("GET", path="/admin/sessions")
        total = json.loads(before[2])["total"]
        good = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        for params in ({**good, "clientInfo": "x"}, {**good, "clientInfo": {"name": 5, "version": "1"}},
                       {**good, "clientInfo": {"name": "t"}}, {**good, "capabilities": []},
                       {**good, "protocolVersion": 7}):
            s, b = self.status({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": params})
            self.assertEqual((s, b["error"]["code"], b["id"]), (400, -32602, 9), params)
            self.assertIn("Invalid params", b["error"]["message"])
        after = self.srv.request("GET", path="/admin/sessions")
        self.assertEqual(json.loads(after[2])["total"], total)  # no orphan session

    def test_origin_host_and_method(self):
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Origin": "https://evil.example.com"})
        self.assertEqual(s, 403)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Origin": "http://localhost:3000"})
        self.assertEqual(s, 200)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid, "Host": "evil.example.com"})
        self.assertEqual(s, 403)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid}, method="PUT")
        self.assertEqual(s, 405)
        s, _, _ = self.srv.request("POST", self.ping, {"Mcp-Session-Id": self.sid}, path="/other")
        self.assertEqual(s, 404)

    def test_notifications_and_responses_get_202(self):
        s, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
                                      {"Mcp-Session-Id": self.sid})
        self.assertEqual((s, text), (202, ""))
        s, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": "litemcp-99", "result": {}},
                                      {"Mcp-Session-Id": self.sid})
        self.assertEqual((s, text), (202, ""))

    def test_batches_only_at_2025_03_26(self):
        batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
        s, _ = self.status(raw=json.dumps(batch), headers={"Mcp-Session-Id": self.sid})
        self.assertEqual(s, 400)
        old, _ = self.srv.initialize("2025-03-26")
        s, _, text = self.srv.request("POST", raw=json.dumps(batch),
                                      headers={"Mcp-Session-Id": old, "MCP-Protocol-Version": "2025-03-26"})
        self.assertEqual(s, 200)
        out = json.loads(text)
        self.assertEqual([m["id"] for m in out], [1, 2])
        self.assertIn("tools", out[1]["result"])

    def test_delete_ends_the_session(self):
        s, _ = self.status(None, {"Mcp-Session-Id": self.sid}, method="DELETE")
        self.assertEqual(s, 200)
        s, _ = self.status(self.ping, {"Mcp-Session-Id": self.sid})
        self.assertEqual(s, 404)


class Limits(ServerTest):
    args = ("--max-sessions", "2", "--max-body-bytes", "2000")

    def test_session_cap_and_body_limit(self):
        self.srv.initialize()
        self.srv.initialize()
        s, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                               "params": {"protocolVersion": LEGACY, "capabilities": {},
                                                          "clientInfo": {"name": "x", "version": "1"}}})
        self.assertEqual(s, 503)
        self.assertIn("session limit", json.loads(text)["error"]["message"])
        s, _, _ = self.srv.request("POST", raw=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping",
                                                            "params": {"pad": "x" * 5000}}))
        self.assertEqual(s, 413)


class RawHttp(ServerTest):
    """The transport's request reading, byte by byte on a raw socket: requests
    split across reads, pipelined, over a limit, malformed or too slow."""
    args = ("--max-header-bytes", "4096", "--max-body-bytes", "3000", "--request-timeout-ms", "600",
            "--idle-timeout-ms", "1500")

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def post_bytes(self, sid, message):
        body = json.dumps(message).encode()
        return (b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Accept: application/json, text/event-stream\r\nMcp-Session-Id: " + sid.encode() +
                b"\r\nMCP-Protocol-Version: " + LEGACY.encode() +
                b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def ping_bytes(self, sid, id):
        return self.post_bytes(sid, {"jsonrpc": "2.0", "id": id, "method": "ping"})

    def assert_ping_answered(self, s, sid, id):
        """A ping on connection s gets its answer (the connection still serves)."""
        s.sendall(self.ping_bytes(sid, id))
        self.assertIn(b'"id":%d' % id, self.read_until(s, b"0\r\n\r\n"))

    def read_until(self, s, marker, count=1):
        data = bytearray()
        seen = 0
        while seen < count:
            chunk = s.recv(65536)
            if not chunk:
                break
            start = max(0, len(data) - len(marker) + 1)  # only the new bytes are searched
            data += chunk
            seen += data.count(marker, start)
        return bytes(data)

    def closed_within(self, s, seconds):
        s.settimeout(seconds)
        try:
            while True:
                if not s.recv(65536):
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def test_a_request_split_across_many_writes_is_answered(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        raw = self.ping_bytes(sid, 41)
        for i in range(0, len(raw), 7):  # the header and the body in pieces
            s.sendall(raw[i:i + 7])
            time.sleep(0.002)
        data = self.read_until(s, b"0\r\n\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:80])
        self.assertIn(b'"id":41', data)

    def test_pipelined_requests_are_answered_in_order(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        s.sendall(self.ping_bytes(sid, 1) + self.ping_bytes(sid, 2) + self.ping_bytes(sid, 3))
        data = self.read_until(s, b"0\r\n\r\n", 3)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3)
        self.assertLess(data.index(b'"id":1'), data.index(b'"id":2'))
        self.assertLess(data.index(b'"id":2'), data.index(b'"id":3'))

    def test_an_oversized_header_gets_431_and_a_malformed_request_400(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"x" * 5000 + b"\r\n\r\n")
        self.assertTrue(self.read_until(s, b"\r\n").startswith(b"HTTP/1.1 431 "))
        s = self.connect()
        s.sendall(b"GARBAGE\x01 / HTTP/9\r\n\r\n")
        answer = self.read_until(s, b"}")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
        self.assertIn(b'"code":-32600', answer)  # the client's error, not the server's
        # The server goes on serving.
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertTrue(self.read_until(s, b"}").startswith(b"HTTP/1.1 200 OK"))

    def test_a_body_that_stops_coming_is_dropped_at_the_request_timeout(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        raw = self.ping_bytes(sid, 5)
        s.sendall(raw[:-5])  # the header and part of the body
        t0 = time.time()
        self.assertTrue(self.closed_within(s, 5))
        self.assertLess(time.time() - t0, 1.3)  # the request timeout (0.6 s), not the idle one (1.5 s)

    def test_a_header_trickled_byte_by_byte_cannot_outlive_the_idle_timeout(self):
        s = self.connect()
        t0 = time.time()
        s.settimeout(0.3)
        closed = False
        for b in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"y" * 40:
            try:
                s.send(bytes([b]))
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        self.assertTrue(closed or self.closed_within(s, 5))
        self.assertLess(time.time() - t0, 5)

    def chunked_bytes(self, sid, body, piece):
        """A POST whose body comes in chunks of `piece` bytes (with a chunk
        extension on the first) and a trailer field."""
        head = (b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Accept: application/json, text/event-stream\r\nMcp-Session-Id: " + sid.encode() +
                b"\r\nMCP-Protocol-Version: " + LEGACY.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunks = b""
        for i in range(0, len(body), piece):
            part = body[i:i + piece]
            chunks += b"%x%s\r\n" % (len(part), b";ext=1" if i == 0 else b"") + part + b"\r\n"
        return head + chunks + b"0\r\nX-Trailer: t\r\n\r\n"

    def test_a_transfer_coding_other_than_chunked_gets_501(self):
        # RFC 9112 6.1: the body of "gzip, chunked" is not plain JSON; a proxy
        # in front may frame it differently, so it is refused, not guessed.
        sid, _ = self.srv.initialize()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
        for coding in (b"gzip, chunked", b"identity, chunked", b"deflate,chunked"):
            s = self.connect()
            s.sendall(self.chunked_bytes(sid, body, 9).replace(b"Transfer-Encoding: chunked",
                                                               b"Transfer-Encoding: " + coding))
            answer = self.read_until(s, b"}")
            self.assertTrue(answer.startswith(b"HTTP/1.1 501 "), (coding, answer[:60]))
            self.assertIn(b"is not implemented", answer)
            self.assertTrue(self.closed_within(s, 5))
        # Chunked twice is not chunked framing to the parser: refused, not
        # read as an empty request followed by another.
        for coding in (b"chunked, chunked", b"chunked,"):
            s = self.connect()
            raw = self.chunked_bytes(sid, body, 9).replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: " + coding)
            s.sendall(raw)
            answer = self.read_until(s, b"}")
            if coding == b"chunked,":  # an empty list element is allowed (RFC 9110 5.6.1): plain chunked
                self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), (coding, answer[:60]))
            else:
                self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), (coding, answer[:60]))
        # "chunked" in any case is the one coding litemcp reads.
        s = self.connect()
        s.sendall(self.chunked_bytes(sid, body, 9).replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: Chunked"))
        self.assertTrue(self.read_until(s, b"\r\n").startswith(b"HTTP/1.1 200 "))

    def test_a_chunked_body_is_assembled_and_answered(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        body = json.dumps({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
                           "params": {"name": "echo", "arguments": {"text": "in chunks"}}}).encode()
        raw = self.chunked_bytes(sid, body, 9)
        for i in range(0, len(raw), 50):  # chunk boundaries and reads do not line up
            s.sendall(raw[i:i + 50])
            time.sleep(0.002)
        data = self.read_until(s, b"0\r\n\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:80])
        self.assertIn(b'"id":42', data)
        self.assertIn(b"in chunks", data)
        # The connection is kept for the next request.
        self.assert_ping_answered(s, sid, 43)

    def test_a_chunked_body_over_the_limit_gets_413(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        body = json.dumps({"jsonrpc": "2.0", "id": 44, "method": "ping", "params": {"pad": "x" * 4000}}).encode()
        s.sendall(self.chunked_bytes(sid, body, 1000))
        self.assertTrue(self.read_until(s, b"\r\n").startswith(b"HTTP/1.1 413 "))

    def test_an_http_1_0_request_is_answered_and_the_connection_closed(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = self.read_until(s, b"\0")  # everything until the server closes
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:80])
        self.assertIn(b"Connection: close\r\n", data)

    def test_a_connection_in_use_outlives_the_idle_timeout_then_idles_out(self):
        # Each request moves the deadline on: requests every 0.4 s for more
        # than twice the idle timeout (1.5 s) on one connection all get their
        # answer; then, idle, the connection is closed after the idle timeout.
        sid, _ = self.srv.initialize()
        s = self.connect()
        t0 = time.time()
        for id in range(9):
            self.assert_ping_answered(s, sid, 100 + id)
            time.sleep(0.4)
        self.assertGreater(time.time() - t0, 3.2)
        idle_from = time.time()
        self.assertTrue(self.closed_within(s, 6))
        self.assertGreater(time.time() - idle_from, 0.9)  # not before its idle timeout (less the last sleep)

    def test_a_request_running_past_the_idle_timeout_keeps_its_connection(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        s.sendall(self.post_bytes(sid, {"jsonrpc": "2.0", "id": 120, "method": "tools/call",
                                        "params": {"name": "countdown", "arguments": {"steps": 20}}}))
        data = self.read_until(s, b"0\r\n\r\n")  # 2 s of work, past the 1.5 s idle timeout
        self.assertIn(b'"id":120', data)
        self.assertIn(b'"result"', data)
        self.assert_ping_answered(s, sid, 121)

    def test_a_connection_closed_mid_request_leaves_the_server_serving(self):
        sid, _ = self.srv.initialize()
        s = self.connect()
        s.sendall(self.ping_bytes(sid, 6)[:30])
        s.close()
        s = self.connect()
        self.assert_ping_answered(s, sid, 7)


class SlowReader(ServerTest):
    """An answer larger than the socket's buffers: the server writes what fits
    at once and the rest as the client reads (default timeouts)."""
    connect = RawHttp.connect
    post_bytes = RawHttp.post_bytes
    ping_bytes = RawHttp.ping_bytes
    read_until = RawHttp.read_until
    assert_ping_answered = RawHttp.assert_ping_answered

    def test_answers_larger_than_the_socket_buffer_reach_a_slow_reader_whole(self):
        # Two pipelined calls of 3 MB answers each while the client does not
        # read: the first answer fills the socket's buffers, so the second is
        # written partly at once and the rest as the client reads.
        sid, _ = self.srv.initialize()
        s = self.connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        texts = {8: "".join(chr(97 + i % 26) for i in range(3_000_000)), 9: "z" * 3_000_001}
        s.sendall(b"".join(self.post_bytes(sid, {"jsonrpc": "2.0", "id": id, "method": "tools/call",
                                                  "params": {"name": "echo", "arguments": {"text": text}}})
                           for id, text in texts.items()))
        time.sleep(0.5)  # the server's writes fill the buffers and wait
        t0 = time.time()
        rest = self.read_until(s, b"0\r\n\r\n", 2)
        self.assertLess(time.time() - t0, 20)
        for id, text in texts.items():
            # Exactly one response: its header, chunks that add up, the last chunk.
            head, _, rest = rest.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), head[:100])
            stream = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    break
                stream += rest[:size]
                self.assertEqual(rest[size:size + 2], b"\r\n")
                rest = rest[size + 2:]
            self.assertTrue(rest.startswith(b"\r\n"))
            rest = rest[2:]
            answers = [json.loads(line[6:]) for line in stream.decode().split("\n") if line.startswith("data: {")]
            self.assertEqual([a["id"] for a in answers], [id])
            self.assertEqual(answers[0]["result"]["content"][0]["text"], text)
        self.assertEqual(rest, b"")  # nothing after the second stream's end
        self.assert_ping_answered(s, sid, 10)


class Features(ServerTest):
    def setUp(self):
        super().setUp()
        self.sid, _ = self.srv.initialize(capabilities={"sampling": {}, "elicitation": {}})

    def rpc(self, id, method, params=None):
        r = self.srv.open("POST", {"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}},
                          {"Mcp-Session-Id": self.sid})
        return messages(r)

    def test_priming_event_then_progress_then_result(self):
        body, headers = call(self.sid, 7, "test_tool_with_progress", meta={"progressToken": "tok"})
        evs = list(events(self.srv.open("POST", body, headers)))
        self.assertEqual(evs[0].get("data"), "")
        self.assertIn("retry", evs[0])
        msgs = [json.loads(e["data"]) for e in evs[1:]]
        self.assertEqual([m["params"]["progress"] for m in msgs[:-1]], [0, 50, 100])
        self.assertTrue(all(m["params"]["progressToken"] == "tok" for m in msgs[:-1]))
        self.assertEqual(msgs[-1]["id"], 7)
        ids = [e["id"] for e in evs]
        self.assertEqual(len(set(ids)), len(ids))

    def test_no_priming_for_older_clients(self):
        sid, _ = self.srv.initialize("2025-06-18")
        body, headers = call(sid, 1, "test_simple_text", version="2025-06-18")
        evs = list(events(self.srv.open("POST", body, headers)))
        self.assertEqual(len(evs), 1)
        self.assertEqual(json.loads(evs[0]["data"])["result"]["content"][0]["text"],
                         "This is a simple text response for testing.")

    def test_lists_resources_prompts(self):
        tools = self.rpc(1, "tools/list")[0]["result"]["tools"]
        names = [t["name"] for t in tools]
        self.assertEqual(names, sorted(names))
        self.assertIn("test_sampling", names)
        self.assertIn("test://static-text", [r["uri"] for r in self.rpc(2, "resources/list")[0]["result"]["resources"]])
        read = self.rpc(3, "resources/read", {"uri": "test://template/42/data"})[0]["result"]
        self.assertEqual(json.loads(read["contents"][0]["text"])["id"], "42")
        missing = self.rpc(4, "resources/read", {"uri": "test://nope"})[0]
        self.assertEqual(missing["error"]["code"], -32002)
        prompt = self.rpc(5, "prompts/get", {"name": "test_prompt_with_arguments",
                                              "arguments": {"arg1": "a", "arg2": "b"}})[0]["result"]
        self.assertIn("arg1='a'", prompt["messages"][0]["content"]["text"])
        self.assertEqual(self.rpc(6, "logging/setLevel", {"level": "warning"})[0]["result"], {})
        self.assertEqual(self.rpc(7, "logging/setLevel", {"level": "loud"})[0]["error"]["code"], -32602)
        self.assertEqual(self.rpc(8, "nope/nope")[0]["error"]["code"], -32601)
        self.assertEqual(self.rpc(9, "tools/list", {"cursor": "garbage"})[0]["error"]["code"], -32602)
        self.assertIn("completion", self.rpc(10, "completion/complete", {
            "ref": {"type": "ref/prompt", "name": "test_simple_prompt"},
            "argument": {"name": "x", "value": ""}})[0]["result"])

    def test_one_keep_alive_connection_serves_many_streams(self):
        # The client sends its next request the moment a stream ends; no byte
        # of it may be lost (a 1-byte probe read watches for disconnects).
        c = self.srv.conn()
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
             "Mcp-Session-Id": self.sid}
        for i in range(600):
            c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                                  "params": {"name": "echo", "arguments": {"text": str(i)}}}), h)
            r = c.getresponse()
            body = r.read().decode()
            self.assertEqual(r.status, 200, (i, body))
            self.assertIn('"text":"%d"' % i, body)
        c.close()

    def test_invalid_arguments_are_a_tool_error(self):
        out = self.rpc(1, "tools/call", {"name": "test_sampling", "arguments": {"prompt": 5}})[0]
        self.assertTrue(out["result"]["isError"])
        out = self.rpc(2, "tools/call", {"name": "json_schema_2020_12_tool", "arguments": {"extra": 1}})[0]
        self.assertTrue(out["result"]["isError"])
        out = self.rpc(3, "tools/call", {"name": "no_such_tool"})[0]
        self.assertEqual(out["error"]["code"], -32602)

    def test_logging_respects_the_level(self):
        self.rpc(1, "logging/setLevel", {"level": "info"})
        msgs = self.rpc(2, "tools/call", {"name": "test_tool_with_logging"})
        self.assertEqual(len([m for m in msgs if m.get("method") == "notifications/message"]), 3)
        self.rpc(3, "logging/setLevel", {"level": "error"})
        msgs = self.rpc(4, "tools/call", {"name": "test_tool_with_logging"})
        self.assertEqual([m for m in msgs if m.get("method") == "notifications/message"], [])

    def test_sampling_round_trip_on_the_post_stream(self):
        body, headers = call(self.sid, 11, "test_sampling", {"prompt": "hi"})
        r = self.srv.open("POST", body, headers)
        got = None
        for e in events(r):
            if not e.get("data"):
                continue
            m = json.loads(e["data"])
            if m.get("method") == "sampling/createMessage":
                self.assertEqual(m["params"]["messages"][0]["content"]["text"], "hi")
                s, _, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": m["id"], "result": {
                    "role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"}},
                    {"Mcp-Session-Id": self.sid})
                self.assertEqual(s, 202)
            elif m.get("id") == 11:
                got = m
        self.assertEqual(got["result"]["content"][0]["text"], "LLM response: hello back")

    def test_undeclared_capability_is_refused(self):
        sid, _ = self.srv.initialize()  # no sampling capability
        body, headers = call(sid, 1, "test_sampling", {"prompt": "hi"})
        out = messages(self.srv.open("POST", body, headers))[-1]
        self.assertEqual(out["error"]["code"], -32601)

    def test_cancellation_gets_no_response(self):
        sid, _ = self.srv.initialize(capabilities={"sampling": {}})
        body, headers = call(sid, 21, "test_sampling", {"prompt": "wait"})
        r = self.srv.open("POST", body, headers)
        seen = []
        for e in events(r):
            if not e.get("data"):
                continue
            m = json.loads(e["data"])
            seen.append(m)
            if m.get("method") == "sampling/createMessage":
                self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                          "params": {"requestId": 21, "reason": "test"}}, {"Mcp-Session-Id": sid})
        self.assertFalse(any(m.get("id") == 21 for m in seen))

    def test_duplicate_in_flight_id_is_refused(self):
        body, headers = call(self.sid, 33, "test_sampling", {"prompt": "hold"})
        first = self.srv.open("POST", body, headers)
        it = events(first)
        next(it)  # priming
        req = json.loads(next(it)["data"])
        s, _, text = self.srv.request("POST", body, headers)
        self.assertEqual(s, 400)
        self.srv.request("POST", {"jsonrpc": "2.0", "id": req["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "x"}, "model": "m"}}, {"Mcp-Session-Id": self.sid})
        self.assertEqual(json.loads(list(it)[-1]["data"])["id"], 33)


class Streams(ServerTest):
    def test_resume_a_post_stream_after_a_disconnect(self):
        sid, _ = self.srv.initialize()
        body, headers = call(sid, 3, "test_tool_with_progress", meta={"progressToken": 1})
        r = self.srv.open("POST", body, headers)
        it = events(r)
        first = [next(it), next(it)]  # priming + first progress
        r._conn.close()  # the client goes away mid-request
        last = first[-1]["id"]
        time.sleep(0.4)  # the request finishes meanwhile; its events wait in the topic
        g = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": last, "Accept": "text/event-stream"})
        self.assertEqual(g.status, 200)
        rest = [e for e in events(g) if e.get("data")]
        got = [json.loads(e["data"]) for e in rest]
        self.assertEqual([m["params"]["progress"] for m in got[:-1]], [50, 100])  # no gap, no duplicate
        self.assertEqual(got[-1]["id"], 3)

    def test_resume_continues_live_while_the_request_runs(self):
        sid, _ = self.srv.initialize(capabilities={"sampling": {}})
        body, headers = call(sid, 4, "test_sampling", {"prompt": "slow"})
        r = self.srv.open("POST", body, headers)
        it = events(r)
        priming = next(it)
        request = next(it)
        r._conn.close()
        g = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": priming["id"],
                                          "Accept": "text/event-stream"})
        git = events(g)
        replayed = [e for e in [next(git), next(git)] if e.get("data")]
        self.assertEqual(json.loads(replayed[0]["data"])["method"], "sampling/createMessage")
        sreq = json.loads(request["data"])
        self.srv.request("POST", {"jsonrpc": "2.0", "id": sreq["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}}, {"Mcp-Session-Id": sid})
        rest = [json.loads(e["data"]) for e in git if e.get("data")]
        self.assertEqual(rest[-1]["result"]["content"][0]["text"], "LLM response: late")

    def test_bad_last_event_ids(self):
        a, _ = self.srv.initialize()
        b, _ = self.srv.initialize()
        body, headers = call(a, 1, "test_simple_text")
        evs = list(events(self.srv.open("POST", body, headers)))
        ev_of_a = evs[-1]["id"]
        req, off = ev_of_a.split("-")
        # Leading zeros name the same numbers but not the stream: refused
        # (once they were accepted and resumed nothing).
        for bad in ["garbage", "12", "g-x-y", "1-99999", "99999-99999", "00" + ev_of_a, req + "-0" + off, "g-00-0"]:
            s, _, _ = self.srv.request("GET", headers={"Mcp-Session-Id": a, "Last-Event-ID": bad,
                                                       "Accept": "text/event-stream"})
            self.assertEqual(s, 400, bad)
        # another session's event id never replays anything
        s, _, text = self.srv.request("GET", headers={"Mcp-Session-Id": b, "Last-Event-ID": ev_of_a,
                                                      "Accept": "text/event-stream"})
        self.assertEqual(s, 400, text)

    def test_standalone_get_takeover_and_held_messages(self):
        sid, _ = self.srv.initialize()
        self.srv.open("POST", *call(sid, 1, "test_simple_text")).read()
        # subscribe, then produce an update while no GET stream is attached
        self.srv.open("POST", {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
                               "params": {"uri": "test://watched-resource"}}, {"Mcp-Session-Id": sid}).read()
        body, headers = call(sid, 3, "test_trigger_resource_update", {"uri": "test://watched-resource"})
        self.srv.open("POST", body, headers).read()
        g1 = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        it1 = events(g1)
        self.assertEqual(next(it1)["data"], "")  # priming
        held = json.loads(next(it1)["data"])
        self.assertEqual(held, {"jsonrpc": "2.0", "method": "notifications/resources/updated",
                                "params": {"uri": "test://watched-resource"}})
        # a second GET takes the stream over; the first connection ends
        g2 = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        it2 = events(g2)
        next(it2)
        self.assertEqual(list(it1), [])
        # list_changed fans out through mcp.changes to the live stream
        body, headers = call(sid, 4, "test_trigger_tool_change")
        self.srv.open("POST", body, headers).read()
        # Delivery from the broker-held cursor is at-least-once: the taken-over
        # stream may repeat what the old one sent just before the switch.
        while True:
            m = json.loads(next(it2)["data"])
            if m["method"] != "notifications/resources/updated":
                break
        self.assertEqual(m["method"], "notifications/tools/list_changed")
        g2._conn.close()

    def test_a_get_stream_taken_over_ends_with_its_final_chunk(self):
        sid, _ = self.srv.initialize()
        old = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        old.sendall(("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
                     "Mcp-Session-Id: %s\r\n\r\n" % (self.srv.port, sid)).encode())
        got = b""
        while b"text/event-stream" not in got:
            got += old.recv(65536)
        g2 = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        next(events(g2))
        while not got.endswith(b"\r\n0\r\n\r\n"):
            more = old.recv(65536)
            if not more:
                break  # cut without the final chunk: what this test guards against
            got += more
        self.assertTrue(got.endswith(b"\r\n0\r\n\r\n"), got[-200:])
        old.close()
        g2._conn.close()

    def test_sep_1699_polling(self):
        # A stream closed at once is primed even with priming off: the
        # client needs the id to resume from.
        for args in (["--close-post-streams"], ["--close-post-streams", "--no-priming"]):
            self.srv.cleanup()
            self.srv = Server(BINARY, args).start()
            sid, _ = self.srv.initialize()
            body, headers = call(sid, 8, "test_simple_text")
            evs = list(events(self.srv.open("POST", body, headers)))
            self.assertEqual(len(evs), 1, args)
            self.assertEqual(evs[0]["data"], "")
            self.assertIn("retry", evs[0])
            g = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": evs[0]["id"],
                                              "Accept": "text/event-stream"})
            got = [json.loads(e["data"]) for e in events(g) if e.get("data")]
            self.assertEqual(got[-1]["id"], 8)

    def test_no_priming_leaves_only_the_answer(self):
        self.srv.cleanup()
        self.srv = Server(BINARY, ["--no-priming"]).start()
        sid, _ = self.srv.initialize()
        body, headers = call(sid, 3, "test_simple_text")
        evs = list(events(self.srv.open("POST", body, headers)))
        self.assertEqual(len(evs), 1)
        self.assertEqual(json.loads(evs[0]["data"])["id"], 3)
        self.assertNotIn("retry", evs[0])

    def test_reconnection_tool(self):
        sid, _ = self.srv.initialize()
        body, headers = call(sid, 9, "test_reconnection")
        evs = list(events(self.srv.open("POST", body, headers)))
        self.assertFalse(any(e.get("data") and json.loads(e["data"]).get("id") == 9 for e in evs))
        self.assertTrue(any("retry" in e for e in evs))
        last_id = [e["id"] for e in evs if "id" in e][-1]
        g = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": last_id,
                                          "Accept": "text/event-stream"})
        got = [json.loads(e["data"]) for e in events(g) if e.get("data")]
        self.assertIn("reconnected", got[-1]["result"]["content"][0]["text"])


class Tls(unittest.TestCase):
    def test_the_mcp_flow_over_tls(self):
        d = tempfile.mkdtemp(prefix="litemcp-tls-")
        try:
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
            srv = Server(BINARY, ["--tls-cert", cert, "--tls-key", key], tls=True).start()
            try:
                sid, init = srv.initialize()
                self.assertEqual(init["result"]["protocolVersion"], LEGACY)
                body, headers = call(sid, 1, "test_tool_with_progress", meta={"progressToken": 1})
                evs = list(events(srv.open("POST", body, headers)))
                self.assertEqual(json.loads(evs[-1]["data"])["id"], 1)
                g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": evs[1]["id"],
                                             "Accept": "text/event-stream"})
                replay = [e["id"] for e in events(g) if e.get("data")]
                self.assertEqual(replay, [e["id"] for e in evs[2:]])
            finally:
                srv.cleanup()
            bad = subprocess.run([BINARY, "--port", "0", "--data", d + "/data", "--tls-cert", d + "/missing.pem",
                                  "--tls-key", key], capture_output=True, text=True, timeout=20)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("missing.pem", bad.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Durability(unittest.TestCase):
    def test_sessions_and_events_survive_kill_9(self):
        srv = Server(BINARY, ["--fsync", "always"]).start()
        try:
            sid, _ = srv.initialize()
            body, headers = call(sid, 1, "test_tool_with_progress", meta={"progressToken": 5})
            evs = list(events(srv.open("POST", body, headers)))
            srv.kill9()
            srv.start()
            # the session is still valid ...
            s, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": 2, "method": "ping"}, {"Mcp-Session-Id": sid})
            self.assertEqual(s, 200, text)
            # ... and every event appended before the crash replays
            g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": evs[0]["id"],
                                         "Accept": "text/event-stream"})
            replay = [e for e in events(g) if e.get("data")]
            self.assertEqual([e["id"] for e in replay], [e["id"] for e in evs[1:]])
            self.assertEqual(json.loads(replay[-1]["data"])["id"], 1)
        finally:
            srv.cleanup()

    def start_countdown(self, srv, sid, steps=100, progress_events=2):
        """POSTs a long countdown and returns its first progress events."""
        body, headers = call(sid, 1, "countdown", {"steps": steps}, meta={"progressToken": 5})
        it = events(srv.open("POST", body, headers))
        evs = []
        for e in it:
            if e.get("data"):
                evs.append(e)
            if len(evs) == progress_events:
                return evs
        self.fail("the countdown's stream ended early")

    def resume(self, srv, sid, last_id):
        g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": last_id,
                                     "Accept": "text/event-stream"})
        return [json.loads(e["data"]) for e in events(g) if e.get("data")]

    def assert_interrupted(self, message, id=1):
        self.assertEqual(message.get("id"), id, message)
        self.assertEqual(message["error"]["code"], -31000, message)
        self.assertIn("send it again", message["error"]["message"])
        self.assertTrue(message["error"]["data"]["retryable"])

    def test_a_request_interrupted_by_kill_9_is_answered_when_resumed(self):
        srv = Server(BINARY, ["--fsync", "always"]).start()
        try:
            sid, _ = srv.initialize()
            evs = self.start_countdown(srv, sid)
            srv.kill9()
            srv.start()
            # The replay ends with an error response instead of leaving the
            # client waiting for a response that will never come ...
            replay = self.resume(srv, sid, evs[0]["id"])
            self.assertEqual(replay[0]["method"], "notifications/progress")
            self.assert_interrupted(replay[-1])
            # ... recorded once: a second resume gets the same single answer,
            # also from the last event before it.
            again = self.resume(srv, sid, evs[0]["id"])
            self.assertEqual(again, replay)
            self.assertEqual(sum(1 for m in again if "error" in m), 1)
            # The same id is free for the request sent again.
            body, headers = call(sid, 1, "countdown", {"steps": 1})
            answer = messages(srv.open("POST", body, headers))[-1]
            self.assertEqual(answer["result"]["content"][0]["text"], "countdown of 1 finished")
        finally:
            srv.cleanup()

    def test_a_request_interrupted_by_a_graceful_stop_is_answered(self):
        srv = Server(BINARY).start()
        try:
            sid, _ = srv.initialize()
            evs = self.start_countdown(srv, sid, steps=200)  # 20 s: past the 5 s grace period
            self.assertEqual(srv.stop(), 0)
            srv.start()
            replay = self.resume(srv, sid, evs[-1]["id"])
            self.assert_interrupted(replay[-1])
            self.assertEqual(sum(1 for m in replay if "error" in m), 1)
        finally:
            srv.cleanup()

    def test_idle_sessions_expire_but_not_under_an_open_stream(self):
        srv = Server(BINARY, ["--session-ttl-ms", "300", "--checkpoint-ms", "100", "--reclaim-ms", "100"]).start()
        try:
            idle, _ = srv.initialize()
            watched, _ = srv.initialize()
            g = srv.open("GET", headers={"Mcp-Session-Id": watched, "Accept": "text/event-stream"})
            next(events(g))  # the stream is attached
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            time.sleep(2.0)  # untouched for far longer than the TTL
            self.assertEqual(srv.request("POST", ping, {"Mcp-Session-Id": idle})[0], 404)
            self.assertEqual(srv.request("POST", ping, {"Mcp-Session-Id": watched})[0], 200)
            g._conn.close()
        finally:
            srv.cleanup()

    def test_graceful_shutdown_tells_open_streams_when_to_come_back(self):
        srv = Server(BINARY).start()
        try:
            sid, _ = srv.initialize()
            g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
            it = events(g)
            next(it)  # priming
            self.assertEqual(srv.stop(), 0)
            rest = list(it)
            self.assertTrue(any(e.get("retry") == "1000" for e in rest), rest)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
