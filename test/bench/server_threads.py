#!/usr/bin/env python3
"""Where litemcp's time goes by thread during the throughput workload.

  python3 test/bench/server_threads.py [--seconds S] [BINARY]

Starts BINARY (default build/litemcp) as http_bench.py's throughput section
does (core 0, one I/O thread, durable log, fsync interval:100, one session),
drives tools_call.lua with wrk on core 1 for S seconds (default 15), and
prints for each of the server's threads that ran at least 1 ms: its CPU time,
its run delay (time it was runnable but waiting for a core, from
/proc/<pid>/task/<tid>/schedstat) and its voluntary and involuntary context
switches; then each core's time by kind over the run, from /proc/stat
(steal is time the hypervisor gave the core to someone else). It answers
whether the server's own background threads (the store's, RocksDB's) take
the I/O thread's core away long enough to matter for the latency tail.
"""
import argparse
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import http_bench  # noqa: E402


def cores():
    out = {}
    for line in open("/proc/stat"):
        fields = line.split()
        if fields[0].startswith("cpu") and fields[0] != "cpu":
            out[fields[0]] = [int(x) for x in fields[1:9]]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", default=os.path.join(here, "..", "..", "build", "litemcp"))
    ap.add_argument("--seconds", type=int, default=15)
    args = ap.parse_args()
    with http_bench.throughput_litemcp(args.binary) as (proc, port, session):
        before, cores_before = http_bench.threads(proc.pid), cores()
        rps, p50, p99, bad, errors, cpu, *_ = http_bench.wrk(port, session, args.seconds, server_pid=proc.pid)
        after, cores_after = http_bench.threads(proc.pid), cores()
    print("tools/call: %.0f req/s, p50 %.2f ms, p99 %.2f ms (bad responses %d, socket errors %s), "
          "server %.0f%% of core 0, wrk %.0f%% of core 1" % (rps, p50, p99, bad, errors, cpu[0], cpu[1]))
    rows = []
    for tid, (name, cpu_ns, delay, vol, invol) in after.items():
        _, cpu0, delay0, vol0, invol0 = before.get(tid, (name, 0, 0, 0, 0))
        if cpu_ns - cpu0 >= 1_000_000:
            rows.append((cpu_ns - cpu0, name, delay - delay0, vol - vol0, invol - invol0))
    for cpu_ns, name, delay, vol, invol in sorted(rows, reverse=True):
        print("  thread %-16s CPU %8.1f ms, run delay %7.1f ms, switches %6d voluntary, %6d involuntary"
              % (name, cpu_ns / 1e6, delay / 1e6, vol, invol))
    ticks = os.sysconf("SC_CLK_TCK")
    for core in sorted(cores_after):
        d = [(b - a) * 1000 // ticks for a, b in zip(cores_before.get(core, [0] * 8), cores_after[core])]
        print("  %s: user %d ms, system %d ms, softirq %d ms, idle %d ms, iowait %d ms, steal %d ms"
              % (core, d[0] + d[1], d[2], d[6], d[3], d[4], d[7]))


if __name__ == "__main__":
    main()
