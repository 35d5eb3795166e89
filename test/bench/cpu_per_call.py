#!/usr/bin/env python3
"""CPU time per call of one or more litemcp binaries, alternated round by round.

  python3 test/bench/cpu_per_call.py [--rounds N] [--seconds S] [--request not_found] [--fsync MODE] BINARY...

Each binary runs alone as in the throughput section of http_bench.py: pinned to
core 0 (--threads 1, durable log, fsync interval:100 unless --fsync), one session, wrk -c32 on
core 1 with tools_call.lua. Over S seconds of load (after 2 s of warm-up) it
reads the server's CPU time from /proc/<pid>/task/*/schedstat (every thread,
nanosecond resolution) and prints req/s, microseconds of CPU per call and the
latency's tail as wrk saw it (p99, p99.9 and the maximum over the whole run);
then the median of each binary over the rounds. The binaries alternate, so a
slow moment of the machine hits all of them; CPU per call moves less with the
machine's speed than req/s does, which makes small changes visible. With
--request not_found the calls are GETs answered 404 (the transport alone).
"""
import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import http_bench  # noqa: E402


def measure(binary, seconds, request, fsync):
    with http_bench.throughput_litemcp(binary, fsync=fsync) as (proc, port, sid):
        env = dict(os.environ, MCP_SESSION=sid, **({"REQUEST": request} if request else {}))
        wrk = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c32", "-d%ds" % (seconds + 3), "-s",
                                os.path.join(here, "tools_call.lua"), "http://127.0.0.1:%d/mcp" % port],
                               env=env, stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        a, t0 = http_bench.cpu_ns(proc.pid), time.time()
        time.sleep(seconds)
        b, t1 = http_bench.cpu_ns(proc.pid), time.time()
        out = wrk.communicate()[0]
        rps = float(next(l for l in out.splitlines() if "Requests/sec" in l).split()[1])

        def tail(label):
            m = re.search(r"^wrk: %s ([\d.]+) ms$" % re.escape(label), out, re.M)
            return float(m.group(1)) if m else float("nan")
        return rps, (b - a) / 1e3 / (rps * (t1 - t0)), tail("p99"), tail("p99.9"), tail("max")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--request", choices=["not_found"], help="GETs answered 404 instead of tools/call")
    ap.add_argument("--fsync", default="interval:100", help="litemcp's --fsync (default interval:100)")
    args = ap.parse_args()
    results = collections.defaultdict(list)
    line = "%s: %.0f req/s, %.2f us of CPU per call, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms"
    for _ in range(args.rounds):
        for b in args.binaries:
            r = measure(os.path.abspath(b), args.seconds, args.request, args.fsync)
            results[b].append(r)
            print(line % ((b,) + r), flush=True)
    for b in args.binaries:
        print(line % (("median " + b,) + tuple(statistics.median(r[i] for r in results[b]) for i in range(5))))


if __name__ == "__main__":
    main()
