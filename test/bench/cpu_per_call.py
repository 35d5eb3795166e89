#!/usr/bin/env python3
"""CPU time per call of one or more litemcp binaries, alternated round by round.

  python3 test/bench/cpu_per_call.py [--rounds N] [--seconds S] [--request not_found] BINARY...

Each binary runs alone as in the throughput section of http_bench.py: pinned to
core 0 (--threads 1, durable log, fsync interval:100), one session, wrk -c32 on
core 1 with tools_call.lua. Over S seconds of load (after 2 s of warm-up) it
reads the server's CPU time from /proc/<pid>/task/*/schedstat (every thread,
nanosecond resolution) and prints req/s and microseconds of CPU per call;
then the median of each binary over the rounds. The binaries alternate, so a
slow moment of the machine hits all of them; CPU per call moves less with the
machine's speed than req/s does, which makes small changes visible. With
--request not_found the calls are GETs answered 404 (the transport alone).
"""
import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import http_bench  # noqa: E402


def cpu_ns(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    return total


def measure(binary, seconds, request):
    data = tempfile.mkdtemp(prefix="litemcp-cpu-")
    port = http_bench.free_port()
    proc = subprocess.Popen(["taskset", "-c", "0", binary, "--port", str(port), "--data", data, "--examples",
                             "--threads", "1", "--log-level", "warn", "--fsync", "interval:100"],
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()  # "... listening on ..."
        sid = http_bench.initialize(port)
        http_bench.warm(port, sid)
        env = dict(os.environ, MCP_SESSION=sid, **({"REQUEST": request} if request else {}))
        wrk = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c32", "-d%ds" % (seconds + 3), "-s",
                                os.path.join(here, "tools_call.lua"), "http://127.0.0.1:%d/mcp" % port],
                               env=env, stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        a, t0 = cpu_ns(proc.pid), time.time()
        time.sleep(seconds)
        b, t1 = cpu_ns(proc.pid), time.time()
        out = wrk.communicate()[0]
        rps = float(next(l for l in out.splitlines() if "Requests/sec" in l).split()[1])
        return rps, (b - a) / 1e3 / (rps * (t1 - t0))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--request", choices=["not_found"], help="GETs answered 404 instead of tools/call")
    args = ap.parse_args()
    results = collections.defaultdict(list)
    for _ in range(args.rounds):
        for b in args.binaries:
            rps, us = measure(os.path.abspath(b), args.seconds, args.request)
            results[b].append((rps, us))
            print("%s: %.0f req/s, %.2f us of CPU per call" % (b, rps, us), flush=True)
    for b in args.binaries:
        print("median %s: %.0f req/s, %.2f us of CPU per call" % (
            b, statistics.median(r for r, _ in results[b]), statistics.median(u for _, u in results[b])))


if __name__ == "__main__":
    main()
