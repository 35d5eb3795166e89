#!/usr/bin/env python3
"""HAProxy in front of litemcp servers for tests: round robin, no stickiness,
each request balanced on its own (HAProxy picks a server for every request,
also on a keep-alive client connection, and reuses idle connections to the
servers for any client: so a keep-alive client still reaches every server in
turn, without a new server connection per request: test_replicas.py checks
it), long timeouts for SSE streams, servers checked with GET /readyz every 250 ms
(down after two failed checks; a check may take up to 1 s, so a server slow
under a sanitizer build's load is not taken out of the rotation).

    with Balancer([port_a, port_b, port_c]) as lb: lb.port ...

For the test runners: litemcp_servers(binary, Server) starts one server, or,
with TEST_REPLICAS=N (N > 1, under nats_cluster.py), N servers sharing one
JetStream store behind a Balancer; it returns the URL of /mcp and a stop
function.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


from nats_cluster import free_port, system_binary


def haproxy_binary():
    return system_binary("haproxy")


class Balancer:
    def __init__(self, server_ports, workdir=None):
        self.server_ports = list(server_ports)
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="litemcp-haproxy-")
        self.port = free_port()
        self.proc = None

    def _config(self):
        servers = "\n".join(
            f"  server s{i} 127.0.0.1:{p} check inter 250ms fall 2 rise 1"
            for i, p in enumerate(self.server_ports))
        text = f"""global
  maxconn 4000
defaults
  mode http
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-request 30s
  timeout check 1s
  option http-keep-alive
  http-reuse always
  retries 2
  option redispatch
frontend mcp
  bind 127.0.0.1:{self.port}
  default_backend litemcp
backend litemcp
  balance roundrobin
  option httpchk GET /readyz
{servers}
"""
        path = os.path.join(self.dir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, timeout=15):
        log = open(os.path.join(self.dir, "haproxy.log"), "ab")
        self.proc = subprocess.Popen([haproxy_binary(), "-db", "-f", self._config()], stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: see {self.dir}/haproxy.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not listen in time")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def litemcp_servers(binary, server_class):
    """(url, stop): one litemcp, or TEST_REPLICAS of them behind a Balancer."""
    replicas = int(os.environ.get("TEST_REPLICAS", "1"))
    if replicas <= 1:
        srv = server_class(binary).start()
        return "http://127.0.0.1:%d/mcp" % srv.port, srv.cleanup
    data = tempfile.mkdtemp(prefix="litemcp-replicas-")  # one folder: one JetStream prefix for all
    servers = [server_class(binary, data=data).start() for _ in range(replicas)]
    lb = Balancer([s.port for s in servers]).start()

    def stop():
        for srv in servers:
            srv.cleanup()
        lb.stop()
        shutil.rmtree(data, ignore_errors=True)
    return "http://127.0.0.1:%d/mcp" % lb.port, stop
