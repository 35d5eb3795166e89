"""Runs examples/client/resume_client.mjs -- a client on the official
TypeScript SDK (npm @modelcontextprotocol/sdk 1.32.2) that connects, calls
tools, loses its connection mid-stream and resumes -- against the real
litemcp binary.

usage: run_sdk_client.py LITEMCP_BINARY WORK_DIR"""

import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from litemcp_harness import Server  # noqa: E402


def main():
    binary, work = sys.argv[1], os.path.abspath(sys.argv[2])
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), work], text=True)
    # ESM resolves packages from the script's folder upwards: run it from the install.
    script = os.path.join(work, "resume_client.mjs")
    shutil.copy(os.path.join(here, "..", "..", "examples", "client", "resume_client.mjs"), script)
    srv = Server(binary).start()
    try:
        run = subprocess.run(["node", script, "http://127.0.0.1:%d/mcp" % srv.port], capture_output=True,
                             text=True, timeout=120)
    finally:
        srv.cleanup()
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    ok = run.returncode == 0 and "all checks passed" in run.stdout
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
