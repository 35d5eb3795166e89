#!/usr/bin/env python3
"""A NATS JetStream cluster on loopback for tests: N nats-server processes on
free ports, each with its own store folder, started and waited for
(/healthz says ok once JetStream has a meta leader), stopped at the end.

As a module:   with NatsCluster(3) as c: c.urls ...; c.kill(1); c.restart(1)
As a wrapper:  nats_cluster.py [--nodes N] -- COMMAND ARGS...
               runs COMMAND with TEST_NATS_SERVERS set to the servers' URLs
               (comma-separated) and returns its exit code.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def system_binary(name):
    """The path of a program Debian installs (on PATH or in /usr/sbin); setup.sh installs it."""
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not found:
        raise RuntimeError(f"{name} is not installed (./setup.sh installs it)")
    return found


def nats_server_binary():
    return system_binary("nats-server")


class NatsCluster:
    def __init__(self, nodes=3, workdir=None, max_payload="8MB"):
        self.nodes = nodes
        self.max_payload = max_payload
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="litemcp-nats-")
        self.binary = nats_server_binary()
        self.ports = [(free_port(), free_port(), free_port()) for _ in range(nodes)]  # client, cluster, http
        self.procs = [None] * nodes

    @property
    def urls(self):
        return [f"nats://127.0.0.1:{c}" for c, _, _ in self.ports]

    def _config(self, i):
        client, cluster, http = self.ports[i]
        lines = [
            f"server_name: n{i}",
            f"listen: 127.0.0.1:{client}",
            f"http: 127.0.0.1:{http}",
            f"max_payload: {self.max_payload}",
            f'jetstream {{ store_dir: "{self.dir}/n{i}", max_file_store: 2G, max_memory_store: 64M }}',
        ]
        if self.nodes > 1:
            routes = ", ".join(f"nats-route://127.0.0.1:{r}" for _, r, _ in self.ports)
            lines.append(f"cluster {{ name: litemcp-test, listen: 127.0.0.1:{cluster}, routes: [{routes}] }}")
        path = os.path.join(self.dir, f"n{i}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _spawn(self, i):
        log = open(os.path.join(self.dir, f"n{i}.log"), "ab")
        self.procs[i] = subprocess.Popen([self.binary, "-c", self._config(i)], stdout=log, stderr=subprocess.STDOUT)

    def healthy(self, i):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[i][2]}/healthz", timeout=1) as r:
                return r.status == 200
        except Exception:
            return False

    def wait_ready(self, nodes=None, timeout=60):
        nodes = range(self.nodes) if nodes is None else nodes
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in nodes:
                if self.procs[i] is not None and self.procs[i].poll() is not None:
                    raise RuntimeError(f"nats-server n{i} exited: see {self.dir}/n{i}.log\n{self._log_tail(i, 600)}")
            if all(self.healthy(i) for i in nodes):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the NATS cluster was not ready within {timeout} s: see {self.dir}")

    def _log_tail(self, i, size=2000):
        try:
            with open(os.path.join(self.dir, f"n{i}.log"), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def start(self, attempts=5):
        """Starts every node. The ports are chosen free but not held, so a test
        running beside this one may take one first: a node that exits because
        its address is in use makes the whole cluster start again on new ports."""
        for attempt in range(attempts):
            for i in range(self.nodes):
                self._spawn(i)
            try:
                self.wait_ready()
                return self
            except RuntimeError:
                taken = any("address already in use" in self._log_tail(i).lower() for i in range(self.nodes))
                if not taken or attempt + 1 == attempts:
                    raise
                self._stop_nodes()
                for i in range(self.nodes):
                    shutil.rmtree(os.path.join(self.dir, f"n{i}"), ignore_errors=True)
                    os.replace(os.path.join(self.dir, f"n{i}.log"), os.path.join(self.dir, f"n{i}.log.{attempt}"))
                self.ports = [(free_port(), free_port(), free_port()) for _ in range(self.nodes)]
        return self

    def kill(self, i):
        """Ends node i the way a crash does (SIGKILL)."""
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.procs[i] = None

    def restart(self, i):
        self.kill(i)
        self._spawn(i)
        self.wait_ready([i])

    def _stop_nodes(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for i, p in enumerate(self.procs):
            if p:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.procs[i] = None

    def stop(self):
        self._stop_nodes()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    with NatsCluster(a.nodes) as c:
        env = dict(os.environ, TEST_NATS_SERVERS=",".join(c.urls))
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
