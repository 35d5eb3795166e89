#!/usr/bin/env python3
"""User-space instructions per legacy tools/call of one or more litemcp binaries, under callgrind.

  python3 test/bench/instructions_per_call.py [--seconds S] [--connections C] [--keep DIR] BINARY...

Each binary runs under `valgrind --tool=callgrind` as in the throughput section
of http_bench.py (--threads 1, durable log, fsync interval:100, one session);
after the session's warm-up the counters are zeroed (callgrind_control -z),
wrk drives tools_call.lua for S seconds at C connections (default 20 s, 32:
the store then commits batches as large as in the benchmark), the counters are
dumped (callgrind_control -d) and the instructions of every thread are divided
by the calls wrk completed. Instruction counts do not depend on the machine's
speed or load, so they show changes of a per cent that CPU time cannot; they
leave out the kernel (the system calls, about 60 % of a call's CPU time on
this machine: test/bench/README.md). With --keep the callgrind files stay in
DIR for callgrind_annotate.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import http_bench  # noqa: E402


def measure(index, binary, seconds, connections, out_dir):
    out = os.path.join(out_dir, "callgrind.%d.%s" % (index, os.path.basename(binary)))
    launcher = ("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out)
    with http_bench.throughput_litemcp(binary, launcher, stderr=subprocess.DEVNULL) as (proc, port, session):
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds,
                              "-s", os.path.join(here, "tools_call.lua"), "http://127.0.0.1:%d/mcp" % port],
                             env=dict(os.environ, MCP_SESSION=session), capture_output=True, text=True)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        calls = int(re.search(r"(\d+) requests in", run.stdout).group(1))
        if "bad responses 0" not in run.stdout:
            sys.exit("instructions_per_call: %s answered calls wrongly:\n%s" % (binary, run.stdout))
    # The dump after -d is the first numbered part.
    dumps = sorted(f for f in os.listdir(out_dir) if f.startswith(os.path.basename(out) + "."))
    with open(os.path.join(out_dir, dumps[0])) as f:
        total = int(re.search(r"^summary: (\d+)$", f.read(), re.M).group(1))
    return calls, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--keep")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "wrk"):
        if not shutil.which(tool):
            sys.exit("instructions_per_call: needs %s" % tool)
    out_dir = args.keep or tempfile.mkdtemp(prefix="litemcp-cg-out-")
    os.makedirs(out_dir, exist_ok=True)
    try:
        for i, binary in enumerate(args.binaries):
            calls, total = measure(i, os.path.abspath(binary), args.seconds, args.connections, out_dir)
            print("%s: %d calls, %d instructions, %.0f instructions per call"
                  % (binary, calls, total, total / calls))
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
