"""Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance
0.1.16, every server scenario: --suite all) against `litemcp --examples` and
fails unless every check is SUCCESS (INFO lines are the suite's own trace).
A WARNING fails too: none is a deliberate choice today.

usage: run_conformance.py LITEMCP_BINARY WORK_DIR"""

import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from litemcp_harness import Server  # noqa: E402


def main():
    binary, work = sys.argv[1], os.path.abspath(sys.argv[2])
    modules = subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), work], text=True).strip()
    suite = os.path.join(modules, "@modelcontextprotocol", "conformance", "dist", "index.js")
    results = os.path.join(work, "conformance-results")
    subprocess.run(["rm", "-rf", results], check=True)
    srv = Server(binary).start()
    try:
        url = "http://127.0.0.1:%d/mcp" % srv.port
        run = subprocess.run(["node", "--import", os.path.join(here, "fs-globsync-shim.mjs"), suite, "server",
                              "--url", url, "--suite", "all", "-o", results],
                             capture_output=True, text=True, timeout=900)
    finally:
        srv.cleanup()
    summary = run.stdout[run.stdout.find("=== SUMMARY ==="):] if "=== SUMMARY ===" in run.stdout else run.stdout[-4000:]
    print(summary)
    if run.returncode != 0:
        print(run.stderr[-4000:], file=sys.stderr)
    scenarios, bad = 0, []
    for path in sorted(glob.glob(os.path.join(results, "*", "checks.json"))):
        scenarios += 1
        name = os.path.basename(os.path.dirname(path))
        for check in json.load(open(path)):
            if check["status"] not in ("SUCCESS", "INFO"):
                bad.append("%s: %s %s: %s" % (name, check["status"], check.get("id"), check.get("description", "")))
    for b in bad:
        print(b)
    expected = 32
    ok = run.returncode == 0 and not bad and scenarios == expected
    print("conformance: %d scenarios run (%d expected), %d checks not SUCCESS" % (scenarios, expected, len(bad)))
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
