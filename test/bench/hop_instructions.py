#!/usr/bin/env python3
"""Instructions a litemcp server executes per tools/call, counted by
valgrind's callgrind: repeatable on a shared, noisy machine where a
throughput figure moves by a fifth between two runs of the same binary.

Two figures per binary, each over CALLS calls on 4 keep-alive connections
after 200 unmeasured ones:
  local      `echo` of the server's own example tools (--examples);
  forwarded  `echo` of an upstream registered by URL (litemcp --examples,
             not counted): the durable hop, its store writes, the HTTP
             client and the relayed answer.
Only the server's user-space instructions are counted (not the kernel's:
system calls and context switches are not in the figure).

    python3 test/bench/hop_instructions.py build/litemcp [OTHER_BINARY] [--calls N]

With OTHER_BINARY (another build, e.g. of the previous commit) both are
measured side by side. Needs valgrind (Debian: apt install valgrind).
"""
import argparse
import glob
import http.client
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from litemcp_harness import Server  # noqa: E402

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def initialize(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}), HEADERS)
    r = c.getresponse()
    r.read()
    sid = r.getheader("Mcp-Session-Id")
    if r.status != 200 or not sid:
        raise RuntimeError("initialize failed: HTTP %d" % r.status)
    h = dict(HEADERS, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
    c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), h)
    c.getresponse().read()
    c.close()
    return h


def call_echo(port, headers, calls, connections=4):
    errors = []

    def run(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for i in range(calls // connections):
            c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": "%d-%d" % (k, i), "method": "tools/call",
                                                  "params": {"name": "echo", "arguments": {"text": "hello"}}}), headers)
            r = c.getresponse()
            body = r.read()
            if r.status != 200 or b'"hello"' not in body:
                errors.append("HTTP %d %r" % (r.status, body[:200]))
                return
        c.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("a call failed: " + errors[0])


def counted(binary, forwarded, calls, work):
    """Instructions per call of binary, as the local server or as the front
    of an upstream."""
    out = os.path.join(work, "callgrind.out")
    for f in glob.glob(out + "*"):
        os.remove(f)
    wrapper = os.path.join(work, "under-callgrind.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s -q %s \"$@\"\n"
                % (out, os.path.abspath(binary)))
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    upstream = front = None
    try:
        if forwarded:
            upstream = Server(binary, ["--threads", "1"]).start()
        front = Server(wrapper, ["--threads", "1"], examples=not forwarded).start()
        if forwarded:
            status, _, text = front.request("POST", {"name": "up", "concurrency": 64, "upstream": {
                "url": "http://127.0.0.1:%d/mcp" % upstream.port, "toolPrefix": ""}}, path="/workers")
            if status != 201:
                raise RuntimeError("registering the upstream: HTTP %d %s" % (status, text))
        headers = initialize(front.port)
        call_echo(front.port, headers, 200)
        subprocess.run(["callgrind_control", "-z", str(front.proc.pid)], check=True, capture_output=True)
        call_echo(front.port, headers, calls)
        subprocess.run(["callgrind_control", "-d", str(front.proc.pid)], check=True, capture_output=True)
    finally:
        for s in (front, upstream):
            if s:
                s.cleanup()
    dumps = sorted(f for f in glob.glob(out + ".*"))
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    with open(dumps[0]) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1]) / calls
    raise RuntimeError("no totals in " + dumps[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("other", nargs="?")
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("valgrind is not installed (Debian: apt install valgrind)")
        return 1
    work = tempfile.mkdtemp(prefix="litemcp-instr-")
    try:
        binaries = [args.binary] + ([args.other] if args.other else [])
        print("# instructions a call in the litemcp server (user space, valgrind callgrind), %d calls on 4 "
              "connections after 200 unmeasured" % args.calls)
        for b in binaries:
            local = counted(b, False, args.calls, work)
            forwarded = counted(b, True, args.calls, work)
            print("%s: local echo %.0fk a call; forwarded to an upstream %.0fk a call (the hop: %.0fk)"
                  % (b, local / 1e3, forwarded / 1e3, (forwarded - local) / 1e3), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
