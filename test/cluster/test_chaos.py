#!/usr/bin/env python3
"""Chaos through the balancer: clients keep calling tools in their sessions
through HAProxy in front of three litemcp servers on a 3-node JetStream
cluster (R3) while, round after round, a random litemcp server is killed
with -9 and started again, then a random NATS node is. Afterwards every
acknowledged answer -- a tools/call result a client received -- is read
back by resuming its stream from the stream's first event, through the
balancer, and must come back the same; and no session may have been lost.
Last, with every NATS node killed, each server's /readyz must say 503.

    test_chaos.py LITEMCP [--server-rounds 20] [--nats-rounds 10] [--clients 6]

It starts its own NATS cluster (test/cluster/nats_cluster.py) and prints
what it did and saw; the last line is a runner's summary.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "integration"))
from haproxy import Balancer, free_port  # noqa: E402
from litemcp_harness import Server  # noqa: E402
from nats_cluster import NatsCluster  # noqa: E402

V = "2025-11-25"


def sse(text):
    """(id, data) of each event of an SSE body."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        eid, data = None, []
        for line in block.split("\n"):
            if line.startswith("id:"):
                eid = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if eid is not None or data:
            out.append((eid, "\n".join(data)))
    return out


def post(port, body, headers, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
             "MCP-Protocol-Version": V}
        h.update(headers)
        c.request("POST", "/mcp", json.dumps(body), h)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


class Client(threading.Thread):
    """One session, calling echo again and again until told to stop."""

    def __init__(self, n, port, stop):
        super().__init__(daemon=True)
        self.n, self.port, self.stop = n, port, stop
        self.sid = None
        self.acked = []   # (priming event id, request id, text)
        self.failed = 0   # calls that got no answer (a server died under them, or NATS was electing)
        self.lost_session = 0  # 404 for a session that exists: must stay 0

    def initialize(self):
        while not self.stop.is_set():
            try:
                status, headers, _ = post(self.port, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": V, "capabilities": {}, "clientInfo": {"name": "chaos", "version": "1"}}}, {})
                sid = {k.lower(): v for k, v in headers.items()}.get("mcp-session-id")
                if status == 200 and sid:
                    post(self.port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, {"Mcp-Session-Id": sid})
                    return sid
            except OSError:
                pass
            time.sleep(0.1)

    def run(self):
        self.sid = self.initialize()
        i = 0
        while not self.stop.wait(0.1):  # about 10 calls a second per client
            i += 1
            text = "c%d-%d" % (self.n, i)
            try:
                status, _, body = post(self.port, {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                                   "params": {"name": "echo", "arguments": {"text": text}}},
                                       {"Mcp-Session-Id": self.sid})
            except OSError:
                self.failed += 1
                self.stop.wait(0.2)
                continue
            if status == 404:
                self.lost_session += 1
                continue
            events = sse(body) if status == 200 else []
            answer = [d for _, d in events if d and json.loads(d).get("id") == i]
            if not answer or "result" not in json.loads(answer[0]):
                self.failed += 1
                self.stop.wait(0.2)  # as a client backs off before trying again
                continue
            got = json.loads(answer[0])["result"]["content"][0]["text"]
            if got != text:
                raise AssertionError("echo answered %r to %r" % (got, text))
            self.acked.append((events[0][0], i, text))


def replay(port, sid, last_id, request_id, timeout=10, attempts=5):
    """The answer to request_id read back from its stream after last_id;
    tries again after a refusal (a 503 says so), as a client would."""
    for attempt in range(attempts):
        got = replay_once(port, sid, last_id, request_id, timeout)
        if got != "refused":
            return got
        time.sleep(0.5)
    return None


def replay_once(port, sid, last_id, request_id, timeout):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/mcp", headers={"Mcp-Session-Id": sid, "Last-Event-ID": last_id,
                                           "Accept": "text/event-stream", "MCP-Protocol-Version": V})
        r = c.getresponse()
        if r.status != 200:
            return "refused"
        buf = ""
        while True:
            line = r.fp.readline().decode()
            if not line:
                return None
            buf += line
            if line in ("\n", "\r\n"):
                for _, data in sse(buf):
                    if data and json.loads(data).get("id") == request_id:
                        return json.loads(data)
                buf = ""
    except OSError:
        return "refused"
    finally:
        c.close()


def ready(servers, timeout=30):
    """Waits until every server says it is ready (NATS settled after the last round)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.request("GET", path="/readyz")[0] == 200 for s in servers):
            return True
        time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--server-rounds", type=int, default=20)
    ap.add_argument("--nats-rounds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(int(os.environ.get("CHAOS_SEED", str(int(time.time())))))
    started = time.time()
    data = tempfile.mkdtemp(prefix="litemcp-chaos-")
    with NatsCluster(3) as nats:
        os.environ["TEST_NATS_SERVERS"] = ",".join(nats.urls)  # the harness puts litemcp on it
        ports = [free_port() for _ in range(3)]
        servers = [Server(a.binary, ["--port", str(p)], data=data).start() for p in ports]
        lb = Balancer(ports).start()
        stop = threading.Event()
        clients = [Client(n, lb.port, stop) for n in range(a.clients)]
        try:
            for c in clients:
                c.start()
            time.sleep(1)
            for r in range(a.server_rounds):
                victim = rng.randrange(3)
                servers[victim].kill9()
                time.sleep(rng.uniform(0.2, 0.8))  # calls go on through the other two
                servers[victim] = Server(a.binary, ["--port", str(ports[victim])], data=data).start()
                time.sleep(rng.uniform(0.3, 0.8))
            print("chaos: %d rounds of kill -9 and restart of a litemcp server" % a.server_rounds)
            for r in range(a.nats_rounds):
                victim = rng.randrange(3)
                nats.kill(victim)
                time.sleep(rng.uniform(0.5, 1.5))  # the other two keep a quorum
                nats.restart(victim)
                time.sleep(rng.uniform(0.5, 1.0))
            print("chaos: %d rounds of kill -9 and restart of a NATS node" % a.nats_rounds)
        finally:
            stop.set()
            for c in clients:
                c.join(timeout=30)
        chaos_s = time.time() - started
        acked = sum(len(c.acked) for c in clients)
        failed = sum(c.failed for c in clients)
        lost_sessions = sum(c.lost_session for c in clients)
        print("chaos: %d calls answered, %d got no answer while a server or node was down (clients retry), %.0f s"
              % (acked, failed, chaos_s))
        if not ready(servers):
            print("chaos: not every server was ready 30 s after the last round")
        lost = 0
        checked = 0
        for c in clients:
            for last_id, rid, text in c.acked:
                got = replay(lb.port, c.sid, last_id, rid)
                checked += 1
                if not got or got.get("result", {}).get("content", [{}])[0].get("text") != text:
                    lost += 1
                    if lost <= 5:
                        print("lost: session %s request %d (after event %s): %r" % (c.sid, rid, last_id, got))
        # Every session still answers, wherever its request lands.
        for c in clients:
            for _ in range(3):
                status, _, _ = post(lb.port, {"jsonrpc": "2.0", "id": "last", "method": "ping"},
                                    {"Mcp-Session-Id": c.sid})
                if status == 404:
                    c.lost_session += 1
        # With NATS gone altogether, every server says it is not ready.
        for i in range(3):
            nats.kill(i)
        deadline = time.monotonic() + 15
        unready = []
        while time.monotonic() < deadline:
            answers = [s.request("GET", path="/readyz") for s in servers]
            unready = [a for a in answers if a[0] == 503 and "store unreachable" in a[2]]
            if len(unready) == 3:
                break
            time.sleep(0.1)
        print("chaos: with every NATS node down, %d of 3 servers said /readyz 503 \"store unreachable\""
              % len(unready))
        lb.stop()
        for s in servers:
            s.cleanup()
    shutil.rmtree(data, ignore_errors=True)
    print("chaos: %d acknowledged answers read back, %d lost; %d sessions lost; %.0f s"
          % (checked, lost, lost_sessions, time.time() - started))
    ok = acked > 0 and lost == 0 and lost_sessions == 0 and all(c.sid for c in clients) and len(unready) == 3
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
