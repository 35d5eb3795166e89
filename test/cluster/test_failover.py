#!/usr/bin/env python3
"""The official TypeScript SDK client (v1) through HAProxy in front of three
litemcp servers sharing a JetStream store, while the server holding the
client's resumed stream is killed with -9 mid-call: the SDK reconnects on
its own, through the balancer, to another server, which follows the request
(still running on a third) to its result. Prints the failover time (from
the kill to the SDK's stream open again on another server).

Run under nats_cluster.py (TEST_NATS_SERVERS names the NATS servers):
    nats_cluster.py --nodes 3 -- python3 test_failover.py LITEMCP WORK_DIR
WORK_DIR holds the npm packages (test/npm/install.sh puts them there).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "integration"))
from haproxy import Balancer, free_port  # noqa: E402
from litemcp_harness import Server  # noqa: E402


def running_here(srv, sid):
    status, _, text = srv.request("GET", path="/admin/sessions/" + sid)
    return status == 200 and json.loads(text).get("runningRequests", 0) > 0


def open_streams(srv):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % srv.port, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("litemcp_sse_streams "):
                return float(line.split()[1])
    return 0


def request_streams(srv, sid):
    """SSE streams open on srv other than the session's standalone GET stream
    (the SDK client keeps one open on some server besides the resumed one)."""
    n = open_streams(srv)
    if n <= 0:
        return 0
    status, _, text = srv.request("GET", path="/admin/sessions/" + sid)
    if status == 200 and json.loads(text).get("getStreamOpen"):
        n -= 1
    return n


def holder(servers, sid, settle=0.5, limit=10):
    """The one server holding a request stream of sid, once that has held
    for `settle` seconds: a stream the client has just closed (the dropped
    POST, the previous resume) may still be counted for a moment where it
    was. None when no single server holds one within `limit` seconds."""
    deadline = time.monotonic() + limit
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        holders = [s for s in servers if request_streams(s, sid) > 0]
        one = holders[0] if len(holders) == 1 else None
        if one is not last:
            last, since = one, time.monotonic()
        elif one is not None and time.monotonic() - since >= settle:
            return one
        time.sleep(0.02)
    return None


def main():
    binary, work = sys.argv[1], os.path.abspath(sys.argv[2])
    if not os.environ.get("TEST_NATS_SERVERS"):
        print("run under test/cluster/nats_cluster.py")
        return 1
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), work], text=True)
    script = os.path.join(work, "failover_client.mjs")
    shutil.copy(os.path.join(here, "failover_client.mjs"), script)
    data = tempfile.mkdtemp(prefix="litemcp-failover-")
    servers = [Server(binary, data=data).start() for _ in range(3)]
    lb = Balancer([s.port for s in servers]).start()
    node = subprocess.Popen(["node", script, "http://127.0.0.1:%d/mcp" % lb.port], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    ok, out = False, []
    try:
        line = node.stdout.readline().strip()
        print("client:", line, flush=True)
        out.append(line)
        sid = line.split()[1]
        runner = next(s for s in servers if running_here(s, sid))
        node.stdin.write("go\n")
        failover = None
        for attempt in range(20):
            victim = holder(servers, sid)
            print("attempt %d: the resumed stream is on %s (the request runs on port %d)"
                  % (attempt + 1, "port %d" % victim.port if victim else "no one server", runner.port), flush=True)
            if victim is not None and victim is not runner:
                victim.kill9()
                killed = time.monotonic()
                node.stdin.write("killed\n")
                others = [s for s in servers if s is not victim]
                while time.monotonic() < killed + 30:
                    if any(request_streams(s, sid) > 0 for s in others):
                        failover = time.monotonic() - killed
                        break
                    time.sleep(0.01)
                print("killed the server holding the stream (port %d); the request runs on port %d; "
                      "the SDK's stream was open again on another server after %s"
                      % (victim.port, runner.port, "%.0f ms" % (failover * 1000) if failover else "never"))
                break
            # It landed where the request runs (or nowhere one can tell):
            # resume once more, giving the stream it closes time to be
            # counted closed.
            node.stdin.write("again\n")
            time.sleep(0.5)
        rest, _ = node.communicate(timeout=90)
        out += rest.splitlines()
        ok = (node.returncode == 0 and failover is not None
              and any(l.startswith("result countdown of 60 finished") for l in out))
    finally:
        if node.poll() is None:
            node.kill()
        lb.stop()
        for s in servers:
            s.cleanup()
        shutil.rmtree(data, ignore_errors=True)
    print("\n".join(out))
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
