"""Starts the real litemcp binary on a free loopback port and talks HTTP to it,
as a client would. Standard library only."""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time

LEGACY = "2025-11-25"


class Server:
    def __init__(self, binary, args=(), data=None, tls=False, examples=True):
        self.tls = tls
        self.examples = examples
        self.binary = binary
        self.args = list(args)
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="litemcp-it-")
        self.proc = None
        self.port = None

    def start(self):
        cmd = [self.binary, "--port", "0", "--data", self.data, "--log-level", "warn"] + self.args
        if self.examples:
            cmd.append("--examples")
        # The test command runs some suites on one I/O thread (connections
        # without strands) and the rest on the default, one per core.
        threads = os.environ.get("TEST_IO_THREADS")
        if threads and "--threads" not in self.args:
            cmd += ["--threads", threads]
        # Under test/cluster/nats_cluster.py the store is JetStream; each data
        # folder gets streams of its own (a restart on the same folder finds them).
        nats = os.environ.get("TEST_NATS_SERVERS")
        if nats and "--store" not in self.args:
            prefix = "it" + hashlib.sha1(self.data.encode()).hexdigest()[:12]
            cmd += ["--store", nats, "--nats-prefix", prefix, "--nats-replicas", "3" if nats.count(",") >= 2 else "1"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+)/", line)
        if not m:
            raise RuntimeError("litemcp did not start: %r" % line)
        self.port = int(m.group(1))
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.own_data:
            shutil.rmtree(self.data, ignore_errors=True)

    # ---- HTTP ----

    def conn(self, timeout=10):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, body=None, headers=None, path="/mcp", raw=None):
        """A whole exchange; returns (status, headers, text)."""
        c = self.conn()
        h = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return r.status, r, text

    def open(self, method, body=None, headers=None, path="/mcp"):
        """Starts an exchange and returns the response, for streaming."""
        c = self.conn(timeout=15)
        h = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        r._conn = c
        return r

    def initialize(self, version=LEGACY, capabilities=None):
        status, r, text = self.request("POST", {
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": capabilities or {},
                       "clientInfo": {"name": "litemcp-it", "version": "1"}}})
        assert status == 200, (status, text)
        sid = r.getheader("Mcp-Session-Id")
        self.request("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"},
                     {"Mcp-Session-Id": sid, "MCP-Protocol-Version": json.loads(text)["result"]["protocolVersion"]})
        return sid, json.loads(text)


def events(response):
    """Yields SSE events as dicts {id, data, retry} until the stream ends."""
    ev = {}
    while True:
        line = response.readline()
        if not line:
            if ev:
                yield ev
            return
        line = line.decode().rstrip("\r\n")
        if line == "":
            if ev:
                yield ev
            ev = {}
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            ev["data"] = ev["data"] + "\n" + value if "data" in ev else value
        elif field in ("id", "retry", "event"):
            ev[field] = value


def messages(response):
    """The JSON-RPC messages of an SSE response (priming events skipped)."""
    return [json.loads(e["data"]) for e in events(response) if e.get("data")]


def call(sid, id, name, arguments=None, version=LEGACY, meta=None):
    params = {"name": name, "arguments": arguments or {}}
    if meta:
        params["_meta"] = meta
    return ({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params},
            {"Mcp-Session-Id": sid, "MCP-Protocol-Version": version})


def call_answering(srv, sid, id, tool, arguments, answer):
    """Calls tool for session sid and answers each request the server makes
    of the client on the call's stream (sampling, elicitation, roots) with
    answer. Returns (the requests asked, the call's response)."""
    r = srv.open("POST", *call(sid, id, tool, arguments))
    got, asked = None, []
    for e in events(r):
        if not e.get("data"):
            continue
        m = json.loads(e["data"])
        if "method" in m and "id" in m:
            asked.append(m)
            status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": m["id"], "result": answer},
                                          {"Mcp-Session-Id": sid})
            assert status == 202, (status, text)
        elif m.get("id") == id:
            got = m
    return asked, got


def wait_until(pred, timeout=15.0, every=0.1):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(every)
    return pred()


# ---- the worker API ----
#
# An instance's stream and the worker's answers are MCP JSON-RPC messages: the
# stream opens with the io.litemcp/attached notification, then each call is a
# request (tools/call, resources/read or prompts/get) whose id is the call id,
# and a cancellation is notifications/cancelled. The worker POSTs one message
# at a time to /workers/<name>/calls/<callId>.

JSONRPC = "2.0"


def is_request(message):
    return isinstance(message, dict) and "method" in message and "id" in message


def call_meta(call):
    """A delivered call's _meta: the client's keys plus the io.litemcp/* ones."""
    return call["params"]["_meta"]


def attempt_of(call):
    return call_meta(call)["io.litemcp/attempt"]


class Worker:
    """A worker registered through the worker API, for tests and benchmarks."""

    def __init__(self, srv, name, tools, **options):
        self.srv = srv
        self.name = name
        body = dict({"name": name, "tools": tools}, **options)
        status, _, text = srv.request("POST", body, path="/workers")
        if status != 201:
            raise RuntimeError("register %s: %d %s" % (name, status, text))
        reply = json.loads(text)
        self.credential = reply["credential"]
        self.worker_id = reply["workerId"]

    def auth(self, extra=None):
        h = {"Authorization": "Bearer " + self.credential}
        h.update(extra or {})
        return h

    def describe(self):
        status, _, text = self.srv.request("GET", headers=self.auth(), path="/workers/" + self.name)
        assert status == 200, (status, text)
        return json.loads(text)

    def call_path(self, call_id):
        return "/workers/%s/calls/%s" % (self.name, call_id)

    def send(self, call_id, message=None, raw=None, headers=None):
        """POSTs one JSON-RPC message (or raw text) to the call's URL; returns
        (status, the answer's JSON or None)."""
        status, _, text = self.srv.request("POST", message, self.auth(headers), path=self.call_path(call_id), raw=raw)
        return status, json.loads(text) if text else None

    # The final answers: a JSON-RPC response whose id is the call id.
    def answer(self, call_id, result):
        return self.send(call_id, {"jsonrpc": JSONRPC, "id": call_id, "result": result})

    def error(self, call_id, code, message, data=None):
        error = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return self.send(call_id, {"jsonrpc": JSONRPC, "id": call_id, "error": error})

    # Notifications about the call.
    def notify(self, call_id, method, params):
        return self.send(call_id, {"jsonrpc": JSONRPC, "method": method, "params": params})

    def progress(self, call_id, progress, total=None, message=None, token=None):
        params = {"progress": progress}
        if token is not None:
            params["progressToken"] = token
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        return self.notify(call_id, "notifications/progress", params)

    def log(self, call_id, level, data, logger=None):
        params = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return self.notify(call_id, "notifications/message", params)

    def fail(self, call_id, error, retry_after_ms=None):
        params = {"error": error}
        if retry_after_ms is not None:
            params["retryAfterMs"] = retry_after_ms
        return self.notify(call_id, "io.litemcp/failure", params)

    def suspend(self, call_id, ms):
        return self.notify(call_id, "io.litemcp/suspend", {"ms": ms})

    def extend(self, call_id, ms):
        return self.notify(call_id, "io.litemcp/extend", {"ms": ms})

    def ask(self, call_id, id, method, params=None):
        """A JSON-RPC request of the worker's own (ping, sampling/createMessage,
        ...) in the middle of a call: the HTTP answer holds its response."""
        message = {"jsonrpc": JSONRPC, "id": id, "method": method}
        if params is not None:
            message["params"] = params
        return self.send(call_id, message)

    def connect(self, instance=None, timeout=15):
        return Instance(self, instance, timeout)


class Instance:
    """One instance's SSE stream of JSON-RPC messages. close() drops the
    connection, as a killed worker process would."""

    def __init__(self, worker, name, timeout):
        self.worker = worker
        h = worker.auth({"Accept": "text/event-stream"})
        if name:
            h["Worker-Instance"] = name
        self.conn = worker.srv.conn(timeout=timeout)
        self.conn.request("GET", "/workers/%s/calls" % worker.name, headers=h)
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            raise RuntimeError("attach: %d %s" % (self.response.status, self.response.read()))
        self.events = events(self.response)
        self.attached = self.next_message()
        if self.attached.get("method") != "io.litemcp/attached" or "id" in self.attached:
            raise AssertionError("the stream's first message is not the io.litemcp/attached notification: %r"
                                 % (self.attached,))
        self.id = self.attached["params"]["instance"]

    def next_message(self):
        """The next event's JSON-RPC message; raises socket.timeout when none
        comes in time, StopIteration when the stream ends."""
        while True:
            ev = next(self.events)
            if ev.get("data"):
                message = json.loads(ev["data"])
                if not isinstance(message, dict) or message.get("jsonrpc") != JSONRPC:
                    raise AssertionError("an event of the instance's stream is not one JSON-RPC 2.0 message: %r"
                                         % (ev["data"],))
                return message

    def next_call(self):
        """The next call: a JSON-RPC request. Anything else fails clearly."""
        message = self.next_message()
        if not is_request(message):
            raise AssertionError("expected a call (a JSON-RPC request), got %r" % (message,))
        return message

    def next_cancel(self):
        """The next message, which must be notifications/cancelled; returns its params."""
        message = self.next_message()
        if message.get("method") != "notifications/cancelled" or "id" in message:
            raise AssertionError("expected notifications/cancelled, got %r" % (message,))
        return message["params"]

    def settimeout(self, seconds):
        self.conn.sock.settimeout(seconds)

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()
