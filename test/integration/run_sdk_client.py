"""Runs an example client on an official TypeScript SDK against the real
litemcp binary:
  resume_client.mjs  the v1 SDK (@modelcontextprotocol/sdk 1.32.2), legacy
                     era: connects, calls tools, loses its connection
                     mid-stream and resumes;
  modern_client.mjs  the v2 client (@modelcontextprotocol/client 2.4.0),
                     2026-07-28: discover, input_required rounds, listen.

usage: run_sdk_client.py LITEMCP_BINARY WORK_DIR [SCRIPT]  (default resume_client.mjs)

With TEST_REPLICAS=N (N > 1, under test/cluster/nats_cluster.py) the client
talks to HAProxy in front of N litemcp servers sharing one JetStream store,
round robin without stickiness."""

import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "cluster"))
from haproxy import litemcp_servers  # noqa: E402
from litemcp_harness import Server  # noqa: E402


def main():
    binary, work = sys.argv[1], os.path.abspath(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else "resume_client.mjs"
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), work], text=True)
    # ESM resolves packages from the script's folder upwards: run it from the install.
    script = os.path.join(work, name)
    shutil.copy(os.path.join(here, "..", "..", "examples", "client", name), script)
    url, stop = litemcp_servers(binary, Server)
    try:
        run = subprocess.run(["node", script, url], capture_output=True, text=True, timeout=120)
    finally:
        stop()
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    ok = run.returncode == 0 and "all checks passed" in run.stdout
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
