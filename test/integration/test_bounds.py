"""Integration tests of the server's resource bounds under hostile clients:
half-sent bodies and stuck SSE readers held within --max-buffered-bytes
(refused with 503 + Retry-After, or dropped), a 1 GB body refused with 413
without being buffered, a slowloris closed at the header deadline, a
half-closing client answered, a resetting client's call cancelled, and
idle connections closed at --max-connections to let a new client in.

Bounds are asserted, not timings (those are test/bench/http_bench.py's
`hostile` section): the suite runs against sanitized builds on a loaded
2-core machine, so loads stay small (tens of sockets) and waits generous.

usage: test_bounds.py /path/to/litemcp [unittest args]"""

import functools
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import LEGACY, Server, Worker, call, messages, wait_until  # noqa: E402
from test_ops import parse_metrics  # noqa: E402

BINARY = None
MiB = 1 << 20
BUDGET = 64 * MiB  # --max-buffered-bytes of the Budget tests
BULK = BUDGET - BUDGET // 8  # what holders above 64 KiB may fill
BODY = 4 * MiB - 1  # just within the default --max-body-bytes (4 MiB)
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bounds-test", "version": "1"}}


# ---- the server's memory ----

@functools.lru_cache(maxsize=None)
def sanitized(binary):
    """True for an AddressSanitizer build. Its quarantine keeps freed memory
    (256 MiB by default), so peak RSS says nothing there and is not asserted."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()  # (GCC links the runtime, libasan.so, dynamically)


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakRss:
    """The rise of a process's peak RSS (VmHWM) from now on. Writing 5 to
    clear_refs resets the peak to the current RSS; VmRSS read afterwards
    would overstate, since the allocator keeps pages it has freed."""

    def __init__(self, pid):
        self.pid = pid
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            self.base = status_kib(pid, "VmRSS")
        except OSError:  # not allowed here: the rise is not measured
            self.base = None

    def rise(self):
        """Bytes above the RSS at the reset, or None when not measurable."""
        if self.base is None:
            return None
        return (status_kib(self.pid, "VmHWM") - self.base) * 1024


# ---- metrics ----

def metric(srv, name):
    """The sum of a series over its labels (litemcp_http_buffer_drops_total may
    be split by what was dropped), or None when the server does not have it."""
    status, _, text = srv.request("GET", path="/metrics")
    assert status == 200, (status, text)
    samples, _ = parse_metrics(text)
    values = [v for (n, _), v in samples.items() if n == name]
    return sum(values) if values else None


# ---- raw sockets ----

def connect(port, rcvbuf=None, timeout=30):
    s = socket.socket()
    if rcvbuf:  # before connect, so the window the server sees is small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def post_head(length=None, headers=(), chunked=False):
    lines = ["POST /mcp HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             "Accept: application/json, text/event-stream"] + list(headers)
    lines.append("Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % length)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def readable(s, seconds=0):
    return bool(select.select([s], [], [], seconds)[0])


def read_response(s, timeout=30):
    """One HTTP response from a raw socket: (status, {lowercase name: value},
    body, closed). A chunked body is returned still framed and read up to its
    last chunk; a body without a length, up to the end of the connection."""
    s.settimeout(timeout)
    data = b""
    closed = False

    def more():
        nonlocal data, closed
        try:
            got = s.recv(65536)
        except ConnectionResetError:
            got = b""
        if not got:
            closed = True
        data += got
        return bool(got)

    while True:
        while b"\r\n\r\n" not in data:
            if not more():
                raise AssertionError("the connection ended before a response header: %r" % data[:200])
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 1"):
            break
        data = body  # an interim response (100 Continue): the final one follows
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    data = body
    if "content-length" in headers:
        while len(data) < int(headers["content-length"]) and more():
            pass
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while not (data == b"0\r\n\r\n" or data.endswith(b"\r\n0\r\n\r\n")) and more():
            pass
    else:
        while more():
            pass
    return status, headers, data, closed


def closed_by_server(s, timeout):
    """True when the server ends the connection within timeout (whatever it
    sends before is read and dropped)."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def unchunk(framed):
    out = b""
    while True:
        size_line, _, rest = framed.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += rest[:size]
        framed = rest[size + 2:]


def modern_call(id, tool, arguments, meta=None):
    """A 2026-07-28 tools/call: the _meta envelope in the body, its headers."""
    body = json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments, "_meta": dict(ENVELOPE, **(meta or {}))}})
    head = post_head(len(body), ["MCP-Protocol-Version: " + MODERN, "Mcp-Method: tools/call", "Mcp-Name: " + tool])
    return head + body.encode()


# ---- the loads ----

class HalfSentBodies:
    """n connections each sending the header of a BODY-byte request, then,
    when the server has not refused it, all of the body but its last byte."""

    def __init__(self, port, n):
        self.socks = [connect(port) for _ in range(n)]
        for s in self.socks:
            # The header alone: a body is counted from its header on, so a
            # client that declares a large body and sends nothing holds (or
            # is refused) its share at once.
            s.sendall(post_head(BODY))
        # A refusal is answered at once; wait until no more answers come.
        self.refused, waiting = [], list(self.socks)
        while waiting:
            ready = select.select(waiting, [], [], 1.5)[0]
            if not ready:
                break
            for s in ready:
                waiting.remove(s)
                self.refused.append(read_response(s))
        self.admitted = waiting
        for s in self.admitted:
            try:
                s.sendall(b"x" * (BODY - 1))
            except OSError:  # a refusal that came late (its answer is read below)
                pass
        # A refusal slower than the wait above (a loaded machine) is counted
        # as one; an admitted body is not answered before the request timeout.
        for s in [s for s in self.admitted if readable(s)]:
            self.admitted.remove(s)
            self.refused.append(read_response(s))

    def close(self):
        for s in self.socks:
            s.close()


class StuckReaders:
    """n connections that resume a stream with a large event and never read:
    a small receive buffer, so the event waits in the server."""

    def __init__(self, port, sid, last_event_id, n):
        self.socks = []
        for _ in range(n):
            s = connect(port, rcvbuf=4096)
            s.sendall(("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
                       "MCP-Protocol-Version: %s\r\nLast-Event-ID: %s\r\n\r\n" % (sid, LEGACY, last_event_id)).encode())
            self.socks.append(s)

    def drain(self, timeout=20):
        """Reads every connection to its end; returns how many were cut
        (closed without the stream's last chunk): the dropped ones."""
        cut = 0
        for s in self.socks:
            s.settimeout(timeout)
            tail = b""
            try:
                while not tail.endswith(b"\r\n0\r\n\r\n"):
                    got = s.recv(1 << 20)
                    if not got:
                        cut += 1
                        break
                    tail = (tail + got)[-16:]
            except ConnectionResetError:
                cut += 1
        return cut

    def close(self):
        for s in self.socks:
            s.close()


class Budget(unittest.TestCase):
    """--max-buffered-bytes 64 MiB: request bodies beyond it are refused with
    503, stuck SSE readers dropped, and a normal client still answered."""
    args = ["--max-buffered-bytes", str(BUDGET), "--request-timeout-ms", "8000"]

    def setUp(self):
        self.srv = Server(BINARY, self.args).start()
        self.sid, _ = self.srv.initialize()
        self.assertIsNotNone(metric(self.srv, "litemcp_http_buffered_bytes"), "no buffer metrics at /metrics")

    def tearDown(self):
        self.srv.cleanup()

    def assert_normal_client_answered(self):
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                           {"Mcp-Session-Id": self.sid})
        self.assertEqual(status, 200, text)
        self.assertEqual(self.echo("still here"), "still here")

    def echo(self, text, id=2):
        r = self.srv.open("POST", *call(self.sid, id, "echo", {"text": text}))
        self.assertEqual(r.status, 200)
        got = [m for m in messages(r) if m.get("id") == id]
        return got[0]["result"]["content"][0]["text"]

    def assert_within_budget(self, peak, held_sockets):
        """The gauge is at most the limit, and (without a sanitizer) the peak
        RSS rose by at most the budget, a small read buffer per connection and
        slack for copies in flight (a stream's event while it is framed, a
        record read for a resume) and the allocator's caches."""
        self.assertEqual(metric(self.srv, "litemcp_http_buffered_bytes_limit"), BUDGET)
        self.assertLessEqual(metric(self.srv, "litemcp_http_buffered_bytes"), BUDGET)
        rise = peak.rise()
        if rise is not None and not sanitized(BINARY):
            self.assertLessEqual(rise, BUDGET + held_sockets * 32 * 1024 + 32 * MiB,
                                 "peak RSS rose by %.1f MiB" % (rise / MiB))

    def big_echo_priming_id(self, size):
        """Calls echo with `size` bytes of text on the session; returns the
        call's priming event id (a 2025-11-25 session primes POST streams)."""
        r = self.srv.open("POST", *call(self.sid, 7, "echo", {"text": "e" * size}))
        raw = r.read().decode()
        ids = [line[4:] for line in raw.split("\n") if line.startswith("id: ")]
        self.assertIn('"id":7', raw)
        return ids[0]

    def test_half_sent_bodies_are_bounded_and_refused_with_503(self):
        peak = PeakRss(self.srv.proc.pid)
        refusals0 = metric(self.srv, "litemcp_http_buffer_refusals_total")
        bodies = HalfSentBodies(self.srv.port, 40)
        try:
            # Each admitted body holds 4 MiB of the 56 MiB that large holders
            # may fill: at most 14 get in.
            self.assertGreaterEqual(len(bodies.admitted), 1)
            self.assertLessEqual(len(bodies.admitted), BULK // (4 * MiB))
            self.assertGreaterEqual(len(bodies.refused), 40 - BULK // (4 * MiB))
            for status, headers, body, closed in bodies.refused:
                self.assertEqual(status, 503, body)
                self.assertEqual(headers.get("retry-after"), "1", headers)
                self.assertEqual(headers.get("connection", "").lower(), "close", headers)
            self.assertGreaterEqual(metric(self.srv, "litemcp_http_buffer_refusals_total"),
                                    refusals0 + len(bodies.refused))
            self.assert_within_budget(peak, 40)
            self.assert_normal_client_answered()
            # The request timeout drops the half-sent bodies and gives their
            # bytes back: a large request fits again.
            self.assertTrue(wait_until(lambda: metric(self.srv, "litemcp_http_buffered_bytes") < MiB, timeout=30),
                            metric(self.srv, "litemcp_http_buffered_bytes"))
            text = "b" * (3 * MiB)
            self.assertEqual(self.echo(text, 3), text)
        finally:
            bodies.close()

    def test_stuck_sse_readers_are_dropped_not_hoarded(self):
        text_size = 3 * MiB
        priming = self.big_echo_priming_id(text_size)
        peak = PeakRss(self.srv.proc.pid)
        drops0 = metric(self.srv, "litemcp_http_buffer_drops_total")
        # Two waves, a second apart: the second finds the first stalled for
        # over a second (dropped to make room) as well as streams that are
        # not (the new one goes).
        first = StuckReaders(self.srv.port, self.sid, priming, 20)
        time.sleep(1.5)
        second = StuckReaders(self.srv.port, self.sid, priming, 20)
        try:
            self.assertTrue(wait_until(lambda: metric(self.srv, "litemcp_http_buffer_drops_total") > drops0,
                                       timeout=20))
            time.sleep(0.5)  # the readers admitted so far have their events queued
            self.assert_within_budget(peak, 40)
            self.assert_normal_client_answered()
            cut = first.drain() + second.drain()
            self.assertGreaterEqual(cut, 1, "no reader was dropped")
        finally:
            first.close()
            second.close()
        # The readers' bytes are given back as their connections end.
        self.assertTrue(wait_until(lambda: metric(self.srv, "litemcp_http_buffered_bytes") < MiB, timeout=20))
        # A dropped reader resumes from the same event and gets the whole answer.
        g = self.srv.open("GET", headers={"Mcp-Session-Id": self.sid, "Last-Event-ID": priming,
                                          "Accept": "text/event-stream"})
        self.assertEqual(g.status, 200)
        answer = [m for m in messages(g) if m.get("id") == 7]
        self.assertEqual(answer[0]["result"]["content"][0]["text"], "e" * text_size)

    def test_bodies_and_readers_together(self):
        priming = self.big_echo_priming_id(3 * MiB)
        peak = PeakRss(self.srv.proc.pid)
        refusals0 = metric(self.srv, "litemcp_http_buffer_refusals_total")
        drops0 = metric(self.srv, "litemcp_http_buffer_drops_total")
        bodies = HalfSentBodies(self.srv.port, 30)
        readers = StuckReaders(self.srv.port, self.sid, priming, 30)
        try:
            slowest = 0
            for i in range(50):
                t0 = time.monotonic()
                status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 100 + i, "method": "ping"},
                                                   {"Mcp-Session-Id": self.sid})
                slowest = max(slowest, time.monotonic() - t0)
                self.assertEqual(status, 200, text)
            self.assertLess(slowest, 2.0)  # a generous bound: the figure is the benchmark's
            self.assertGreater(metric(self.srv, "litemcp_http_buffer_refusals_total"), refusals0)
            # The readers' resumes may still be on their way (slow under sanitizers).
            self.assertTrue(wait_until(lambda: metric(self.srv, "litemcp_http_buffer_drops_total") > drops0,
                                       timeout=20))
            self.assert_within_budget(peak, 60)
        finally:
            bodies.close()
            readers.close()


class LargeBodies(unittest.TestCase):
    """Bodies over --max-body-bytes are refused with 413 without being held:
    one that declares its length when the header ends, a chunked one once it
    passes the limit. The refusal is read by the client, not lost to a reset."""

    def setUp(self):
        self.srv = Server(BINARY).start()

    def tearDown(self):
        self.srv.cleanup()

    def test_a_1_gb_body_is_refused_with_413_unbuffered(self):
        peak = PeakRss(self.srv.proc.pid)
        s = connect(self.srv.port)
        self.addCleanup(s.close)
        s.sendall(post_head(1 << 30))
        try:
            s.sendall(b"x" * 65536)  # the start of the body: arriving after the refusal
        except OSError:
            pass
        status, headers, body, _ = read_response(s)
        self.assertEqual(status, 413, body)
        self.assertEqual(headers.get("connection", "").lower(), "close")
        rise = peak.rise()
        if rise is not None:
            self.assertLess(rise, (8 if sanitized(BINARY) else 2) * MiB, "peak RSS rose by %.1f MiB" % (rise / MiB))
        self.assertTrue(closed_by_server(s, 10))

    def test_a_chunked_body_is_refused_with_413_after_the_limit(self):
        peak = PeakRss(self.srv.proc.pid)
        s = connect(self.srv.port)
        self.addCleanup(s.close)
        # A small send buffer, so what was sent is close to what was read.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        s.sendall(post_head(chunked=True))
        chunk = b"100000\r\n" + b"x" * MiB + b"\r\n"  # 1 MiB
        sent = 0
        while sent < 64 * MiB and not readable(s):
            try:
                s.sendall(chunk)
            except OSError:  # closed after its answer: the answer is still there to read
                break
            sent += MiB
        status, _, body, _ = read_response(s)
        self.assertEqual(status, 413, body)
        # At most 4 MiB were read; what the socket buffers held on top of them
        # may have been sent too.
        self.assertLessEqual(sent, 4 * MiB + 16 * MiB)
        rise = peak.rise()
        if rise is not None and not sanitized(BINARY):
            # The body grows by doubling: its last growth copies up to 4 MiB
            # into a 7.5 MiB string (touched as far as it is filled); the rest
            # is allocator slack. Buffering beyond the limit would pass 16 MiB.
            self.assertLessEqual(rise, 16 * MiB, "peak RSS rose by %.1f MiB" % (rise / MiB))
        self.assertTrue(wait_until(lambda: metric(self.srv, "litemcp_http_buffered_bytes") == 0, timeout=10))


def accept_queue(port):
    """Connections the kernel holds for the listener on port that the
    server has not accepted yet (ss: Recv-Q of a listening socket)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[1]) for line in out.splitlines() if line.strip())


class IdleFlood(unittest.TestCase):
    """At --max-connections, connections idle for a second make room for a
    new client instead of it being refused."""

    def test_idle_connections_make_room_for_a_new_client(self):
        srv = Server(BINARY, ["--max-connections", "40"]).start()
        idle = []
        try:
            sid, _ = srv.initialize()
            # The initialize exchange's connection closed on the server's side
            # too (else the last of the 40 would be refused).
            self.assertTrue(wait_until(lambda: metric(srv, "litemcp_http_connections") == 1, timeout=10))
            idle = [connect(srv.port) for _ in range(40)]  # the server is full
            # Accepted, not only queued by the kernel (a loaded machine), then
            # idle for over a second: reclaimable.
            self.assertTrue(wait_until(lambda: accept_queue(srv.port) == 0, timeout=20))
            time.sleep(1.5)
            for i in range(5):  # new clients on new connections, one after another
                status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": i, "method": "ping"},
                                              {"Mcp-Session-Id": sid})
                self.assertEqual(status, 200, text)
                time.sleep(0.15)  # (one reclaiming scan per 100 ms)
            self.assertGreaterEqual(metric(srv, "litemcp_http_idle_reclaimed_total"), 1)
            closed = sum(1 for s in idle if readable(s, 0.1) and closed_by_server(s, 1))
            self.assertGreaterEqual(closed, 1)
            self.assertLessEqual(metric(srv, "litemcp_http_connections"), 40 + 1)
        finally:
            for s in idle:
                s.close()
            srv.cleanup()

    def test_without_idle_connections_a_new_one_gets_503(self):
        srv = Server(BINARY, ["--max-connections", "10"]).start()
        held = []
        try:
            # Ten connections each in the middle of a header: not idle.
            for _ in range(10):
                s = connect(srv.port)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                held.append(s)
            time.sleep(1.5)
            s = connect(srv.port)
            held.append(s)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body, _ = read_response(s)
            self.assertEqual(status, 503, body)
            self.assertIn(b"too many connections", body)
        finally:
            for s in held:
                s.close()
            srv.cleanup()


class Slowloris(unittest.TestCase):
    """Header bytes trickled one at a time cannot hold a connection past the
    header deadline (--idle-timeout-ms), and other clients are answered."""

    def test_slowloris_is_closed_at_the_header_deadline(self):
        srv = Server(BINARY, ["--idle-timeout-ms", "3000"]).start()
        socks = {}
        try:
            sid, _ = srv.initialize()
            keep = srv.conn()  # a normal client's kept-alive connection
            header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slowloris: " + b"a" * 200
            for _ in range(50):
                socks[connect(srv.port)] = time.monotonic()
            sent, lasted, pings = 0, [], 0
            tick = time.monotonic()
            deadline = tick + 20
            while socks and time.monotonic() < deadline:
                for s in list(socks):
                    try:
                        s.send(header[sent:sent + 1])
                    except OSError:
                        pass  # closed: seen below
                sent += 1
                # The normal client: a ping on its kept-alive connection and a
                # request on a new one.
                keep.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": pings, "method": "ping"}),
                             {"Mcp-Session-Id": sid, "Content-Type": "application/json",
                              "Accept": "application/json, text/event-stream"})
                r = keep.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertEqual(srv.request("GET", path="/healthz")[0], 200)
                pings += 1
                # Half a second between bytes; the server's closes are seen meanwhile.
                tick += 0.5
                while socks and time.monotonic() < tick:
                    for s in select.select(list(socks), [], [], max(0, tick - time.monotonic()))[0]:
                        if closed_by_server(s, 0.5):
                            lasted.append(time.monotonic() - socks.pop(s))
                            s.close()
            self.assertFalse(socks, "%d trickling connections outlived the header deadline" % len(socks))
            self.assertGreater(min(lasted), 2.5)  # not before the deadline (3 s)...
            self.assertLess(max(lasted), 8)  # ...and soon after it
            keep.close()
        finally:
            for s in socks:
                s.close()
            srv.cleanup()


class ChunkedPieces(unittest.TestCase):
    """A chunked body whose only chunk is the final one, arriving as "0\\r\\n",
    "\\r", "\\n": Beast 1.81 asserted on the 4 bytes in between (a build with
    assertions, like the test command's, aborted)."""

    def test_a_final_chunk_in_pieces_is_read(self):
        srv = Server(BINARY).start()
        try:
            s = connect(srv.port)
            self.addCleanup(s.close)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(post_head(chunked=True))
            for piece in (b"0\r\n", b"\r", b"\n"):
                time.sleep(0.2)  # each its own read
                s.sendall(piece)
            status, _, body, _ = read_response(s)
            self.assertEqual(status, 400, body)  # an empty body is not JSON-RPC
            self.assertEqual(srv.request("GET", path="/healthz")[0], 200)
        finally:
            srv.cleanup()


class Disconnects(unittest.TestCase):
    """A half-close after the request is not a disconnect (RFC 9112 9.6
    allows it): the answer comes, then the connection closes. A reset is
    one: the call is cancelled."""

    def setUp(self):
        self.srv = Server(BINARY).start()

    def tearDown(self):
        self.srv.cleanup()

    def test_a_half_closed_client_gets_its_answer_then_the_close(self):
        # The JSON answer is preceded by interim 100 Continue responses
        # (probes that tell a half-close from a client gone): read_response
        # skips them, as HTTP/1.1 clients must (RFC 9110 15.2).
        # JSON answer, then an SSE answer (the progress token asks for events).
        for id, meta in ((1, None), (2, {"progressToken": "p2"})):
            s = connect(self.srv.port)
            self.addCleanup(s.close)
            s.sendall(modern_call(id, "slow_compute", {"seconds": 0.5, "label": "half%d" % id}, meta))
            s.shutdown(socket.SHUT_WR)
            status, headers, body, _ = read_response(s, timeout=30)
            self.assertEqual(status, 200, body)
            if headers.get("transfer-encoding", "").lower() == "chunked":
                lines = unchunk(body).decode().split("\n")
                answer = [json.loads(l[6:]) for l in lines if l.startswith("data: {")][-1]
            else:
                answer = json.loads(body)
            self.assertEqual(answer["id"], id)
            self.assertIn("computed half%d" % id, answer["result"]["content"][0]["text"])
            self.assertTrue(closed_by_server(s, 10), "the connection stayed open after the answer")

    def test_a_resetting_client_cancels_its_call(self):
        w = Worker(self.srv, "patient", [{"name": "patient_tool", "inputSchema": {"type": "object"}}])
        inst = w.connect()
        self.addCleanup(inst.close)
        s = connect(self.srv.port)
        s.sendall(modern_call(9, "patient_tool", {}))
        ev = inst.next_call()
        self.assertEqual(ev["method"], "tools/call")
        # SO_LINGER on with a zero timeout: close() sends a reset, not a FIN.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        self.assertEqual(inst.next_cancel()["requestId"], ev["id"])
        self.assertEqual(self.srv.request("GET", path="/healthz")[0], 200)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
