#!/usr/bin/env python3
"""A litemcp cluster on this machine, in one command: 3 NATS nodes with
JetStream, 3 litemcp servers sharing them (R3 streams) and HAProxy in front
(round robin, no stickiness). Prints the endpoint; Ctrl-C stops everything
and removes the data.

    python3 examples/cluster/run_cluster.py build/litemcp [--replicas 3] [--port 8080]

Needs nats-server and haproxy (./setup.sh installs both). docs/cluster.md
explains the topology and what works across servers today.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "test", "cluster"))
from haproxy import Balancer  # noqa: E402
from nats_cluster import NatsCluster, free_port  # noqa: E402


def start_litemcp(binary, urls, port, log_dir, i):
    log = open(os.path.join(log_dir, f"litemcp-{i}.log"), "ab")
    cmd = [binary, "--port", str(port), "--store", ",".join(urls), "--nats-prefix", "demo", "--examples"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    if f":{port}/" not in line:
        raise RuntimeError(f"litemcp {i} did not start: {line!r} (see {log_dir}/litemcp-{i}.log)")
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--port", type=int, default=8080, help="where HAProxy listens")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="litemcp-cluster-")
    servers = []
    with NatsCluster(3) as nats:
        try:
            ports = [free_port() for _ in range(a.replicas)]
            for i, p in enumerate(ports):
                servers.append(start_litemcp(a.binary, nats.urls, p, work, i))
            lb = Balancer(ports)
            lb.port = a.port
            lb.start()
            print(f"litemcp cluster: http://127.0.0.1:{a.port}/mcp -> {a.replicas} servers "
                  f"({', '.join(str(p) for p in ports)}) on NATS {', '.join(nats.urls)}; logs in {work}")
            print("Ctrl-C stops it.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            for s in servers:
                s.terminate()
            for s in servers:
                s.wait(timeout=20)
            if "lb" in locals():
                lb.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
