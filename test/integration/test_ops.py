"""Integration tests of what an operator uses: the configuration file and
environment, /healthz, /readyz, /metrics and the admin API (with its tail
stream), against the real litemcp binary.

usage: test_ops.py /path/to/litemcp [unittest args]"""

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, Worker, attempt_of, call, events, messages  # noqa: E402

BINARY = None


def parse_metrics(text):
    """Prometheus text format -> {(name, frozenset(labels)): value}; checks every line parses."""
    samples = {}
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


class Configuration(unittest.TestCase):
    def run_litemcp(self, args, env=None):
        return subprocess.run([BINARY] + args, capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, **(env or {})))

    def test_a_bad_file_stops_the_start_naming_the_field(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"port": 70000, "data": "/tmp/x"}')
        try:
            r = self.run_litemcp(["--config", f.name])
            self.assertEqual(r.returncode, 2)
            self.assertIn("port", r.stderr)
            with open(f.name, "w") as g:
                g.write('{"colour": "blue"}')
            r = self.run_litemcp([], {"LITEMCP_CONFIG": f.name})
            self.assertEqual(r.returncode, 2)
            self.assertIn("colour", r.stderr)
            with open(f.name, "w") as g:
                g.write('{"port": 8080,\n "data" "/tmp/x"}')  # no colon
            r = self.run_litemcp(["--config", f.name])
            self.assertEqual(r.returncode, 2)
            self.assertIn("not JSON: expected ':' after an object key at byte 23", r.stderr)
        finally:
            os.unlink(f.name)
        self.assertEqual(self.run_litemcp(["--fsync", "sometimes"]).returncode, 2)
        self.assertEqual(self.run_litemcp([], {"LITEMCP_PORT": "many"}).returncode, 2)

    def test_help_lists_every_setting_with_its_default(self):
        r = self.run_litemcp(["--help"])
        self.assertEqual(r.returncode, 0)
        schema = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "schemas", "config.json")))
        for key in schema["properties"]:
            if key == "mcpServers":  # an object in the file (Claude Desktop's shape); --mcp-servers names a file
                self.assertIn("mcpServers", r.stdout)
            elif key != "$schema":
                self.assertIn("--" + key, r.stdout)

    def test_the_file_configures_a_running_server_and_the_command_line_wins(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            # Comments are allowed in the file.
            f.write('// one session at most\n{"max-sessions": 1, /* shown at initialize */ "instructions": "from the file"}')
        srv = Server(BINARY, ["--config", f.name, "--instructions", "from the command line"]).start()
        try:
            sid, init = srv.initialize()
            self.assertEqual(init["result"]["instructions"], "from the command line")
            status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}})
            self.assertEqual(status, 503)  # max-sessions 1, from the file
        finally:
            srv.cleanup()
            os.unlink(f.name)


class Logging(unittest.TestCase):
    def test_json_lines_module_levels_and_the_access_log(self):
        data = tempfile.mkdtemp(prefix="litemcp-log-")
        proc = subprocess.Popen([BINARY, "--port", "0", "--data", data, "--log-format", "json", "--access-log",
                                 "--log-modules", "session=warn,litemcp=info"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
            srv = Server(BINARY)
            srv.port = port
            srv.initialize()  # logs "session <id>: initialized" at info: filtered out
            self.assertEqual(srv.request("GET", path="/healthz")[0], 200)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
            proc.stdout.close()
            subprocess.run(["rm", "-rf", data])
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
        self.assertTrue(all({"time", "level", "module", "msg"} <= set(l) for l in lines))
        access = [l["msg"] for l in lines if l["module"] == "access"]
        self.assertTrue(any(" POST /mcp 200 " in m and "mcp=initialize" in m for m in access), access)
        self.assertTrue(any(" GET /healthz 200 " in m for m in access), access)
        self.assertFalse([l for l in lines if l["module"] == "session"])
        self.assertTrue([l for l in lines if l["module"] == "litemcp"])

    def test_calls_errors_resumes_takeovers_and_the_stop_are_logged_with_their_session(self):
        srv = Server(BINARY)  # not started: the process is this test's, to read its log
        data = srv.data
        proc = subprocess.Popen([BINARY, "--port", "0", "--data", data, "--examples", "--log-level", "debug",
                                 "--log-format", "json", "--access-log"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            srv.port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
            sid, _ = srv.initialize()
            messages(srv.open("POST", *call(sid, 1, "echo", {"text": "hi"})))
            messages(srv.open("POST", *call(sid, 2, "no_such_tool")))
            messages(srv.open("POST", *call(sid, 3, "test_error_handling")))
            first = srv.open("POST", *call(sid, 4, "echo", {"text": "again"}))
            last_id = [e["id"] for e in events(first) if "id" in e][-1]
            resumed = srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream",
                                               "Last-Event-ID": last_id})
            list(events(resumed))
            g1 = srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
            next(events(g1))
            g2 = srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
            next(events(g2))
            slow = srv.open("POST", *call(sid, 5, "countdown", {"steps": 100}))
            next(events(slow))
            proc.terminate()  # a request still running: the stop cancels it, and says so
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            proc.stdout.close()
            shutil.rmtree(data, ignore_errors=True)
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]
        mine = [l for l in lines if l.get("session") == sid and l["module"] == "session"]

        def logged(level, *parts):
            return [l for l in mine if l["level"] == level and all(p in l["msg"] for p in parts)]
        self.assertTrue(logged("debug", "tools/call 'echo' (id 1): answered in"), mine)
        self.assertTrue(logged("info", "tools/call 'no_such_tool' (id 2): error -32602", "no_such_tool"), mine)
        self.assertTrue(logged("info", "tools/call 'test_error_handling' (id 3): tool error", "intentionally"), mine)
        self.assertTrue(logged("info", "a GET resumes after event " + last_id), mine)
        self.assertTrue(logged("info", "a newer GET stream took over"), mine)
        self.assertTrue([l for l in lines if l["level"] == "info" and "1 running request cancelled" in l["msg"]], lines)
        access = [l for l in lines if l["module"] == "access"]
        calls = [l for l in access if l.get("mcpMethod") == "tools/call"]
        self.assertTrue(calls, access)
        self.assertTrue(all(l["session"] == sid and l["httpMethod"] == "POST" and l["target"] == "/mcp" and
                            l["status"] == 200 and isinstance(l["durationMs"], float) for l in calls), calls)
        init = [l for l in access if l.get("mcpMethod") == "initialize"]
        self.assertEqual(init[0]["session"], sid)  # named by the answer's header

    def test_json_lines_name_the_session_they_concern(self):
        data = tempfile.mkdtemp(prefix="litemcp-log-")
        proc = subprocess.Popen([BINARY, "--port", "0", "--data", data, "--log-format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
            srv = Server(BINARY)
            srv.port = port
            sid, _ = srv.initialize()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
            proc.stdout.close()
            subprocess.run(["rm", "-rf", data])
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]
        mine = [l for l in lines if l.get("session") == sid]
        self.assertTrue(mine, lines)
        self.assertTrue(all(l["module"] == "session" and sid in l["msg"] for l in mine))
        self.assertFalse([l for l in lines if "session" in l and l["module"] != "session"])


class Observability(unittest.TestCase):
    def setUp(self):
        self.srv = Server(BINARY).start()

    def tearDown(self):
        self.srv.cleanup()

    def test_health_and_readiness(self):
        self.assertEqual(self.srv.request("GET", path="/healthz")[0], 200)
        status, _, text = self.srv.request("GET", path="/readyz")
        self.assertEqual((status, json.loads(text)["status"]), (200, "ready"))
        self.assertEqual(self.srv.request("POST", {}, path="/readyz")[0], 405)

    def test_threads_are_named_as_the_docs_list_them(self):
        tasks = "/proc/%d/task" % self.srv.proc.pid
        wanted = {"http-io", "store-append", "store-maint", "ready-timers", "mcp-timers", "mcp-maint",
                  "worker-hub", "pool-handlers", "pool-delivery"}
        # Each thread names itself once it runs, which may be just after the
        # port accepts connections.
        deadline = time.monotonic() + 5
        while True:
            names = {open(os.path.join(tasks, t, "comm")).read().strip() for t in os.listdir(tasks)}
            if wanted <= names or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for name in sorted(wanted):
            self.assertIn(name, names)

    def test_metrics_expose_the_named_series(self):
        sid, _ = self.srv.initialize()
        for i in range(3):
            messages(self.srv.open("POST", *call(sid, i + 1, "echo", {"text": "x"})))
        self.srv.request("POST", {"jsonrpc": "2.0", "id": 9, "method": "made/up"}, {"Mcp-Session-Id": sid})
        self.srv.request("POST", raw="{", headers={"Mcp-Session-Id": sid})
        w = Worker(self.srv, "calc", [{"name": "add", "inputSchema": {"type": "object"}}])
        instance = w.connect()  # kept: dropping it would close the stream
        status, r, text = self.srv.request("GET", path="/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        samples, types = parse_metrics(text)

        def value(name, **labels):
            return samples.get((name, frozenset(labels.items())))

        self.assertEqual(value("litemcp_mcp_requests_total", method="tools/call", era="legacy", status="200"), 3)
        self.assertEqual(value("litemcp_mcp_requests_total", method="other", era="legacy", status="200"), 1)
        self.assertEqual(value("litemcp_http_requests_total", endpoint="mcp", method="POST", status="400"), 1)
        self.assertEqual(value("litemcp_mcp_request_duration_seconds_count", method="tools/call"), 3)
        self.assertEqual(value("litemcp_mcp_request_duration_seconds_bucket", method="tools/call", le="+Inf"), 3)
        self.assertEqual(types["litemcp_mcp_request_duration_seconds"], "histogram")
        self.assertGreaterEqual(value("litemcp_sessions"), 1)
        self.assertGreater(value("litemcp_store_appends_total"), 0)
        self.assertGreater(value("litemcp_store_append_bytes_total"), 0)
        fsyncs = value("litemcp_store_fsync_seconds_count")
        self.assertIsNotNone(fsyncs)
        self.assertEqual(types["litemcp_store_fsync_seconds"], "histogram")
        self.assertEqual(value("litemcp_store_fsync_seconds_bucket", le="+Inf"), fsyncs)
        buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in samples.items()
                         if name == "litemcp_store_fsync_seconds_bucket" and dict(labels)["le"] != "+Inf")
        self.assertEqual(len(buckets), 12)
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))  # cumulative
        self.assertIsNotNone(value("litemcp_store_wakes_total"))
        self.assertIsNotNone(value("litemcp_store_reclaimed_topics_total"))
        self.assertIsNotNone(value("litemcp_sse_streams"))
        self.assertEqual(value("litemcp_worker_online", worker="calc"), 1)
        self.assertEqual(value("litemcp_worker_instances", worker="calc"), 1)
        self.assertEqual(value("litemcp_worker_queue_depth", worker="calc"), 0)
        for name in ("litemcp_worker_redeliveries_total", "litemcp_worker_dead_letters_total"):
            self.assertEqual(value(name, worker="calc"), 0)
        instance.close()


class Descriptors(unittest.TestCase):
    """A descriptor limit below what --max-connections needs: the store keeps
    its reserve, and running out anyway is answered, not spun on."""

    def start(self, nofile, args):
        self.data = tempfile.mkdtemp(prefix="litemcp-it-")
        self.log = tempfile.TemporaryFile("w+")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([BINARY, "--port", "0", "--data", self.data, "--log-level", "warn"] + args,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, preexec_fn=limit)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+)/", line)
        self.assertTrue(m, "litemcp did not start: %r" % line)
        self.srv = Server(BINARY, data=self.data)
        self.srv.proc, self.srv.port = self.proc, int(m.group(1))
        self.idle = []

    def tearDown(self):
        for sock in getattr(self, "idle", []):
            sock.close()
        if getattr(self, "srv", None):
            self.srv.cleanup()
        import shutil
        shutil.rmtree(getattr(self, "data", "/nonexistent"), ignore_errors=True)

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def open_idle(self, n):
        for _ in range(n):
            self.idle.append(socket.create_connection(("127.0.0.1", self.srv.port), timeout=5))

    def close_idle_and_wait_for_health(self):
        for sock in self.idle:
            sock.close()
        self.idle = []
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.srv.request("GET", path="/healthz")[0] == 200:
                    return
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "litemcp did not serve again")
            time.sleep(0.1)

    def test_connections_are_capped_to_keep_the_store_reserve(self):
        self.start(700, ["--max-connections", "100000"])
        self.assertIn("accepting at most 60 connections (503 beyond), so 640 stay for the store", self.stderr())
        self.open_idle(80)
        time.sleep(0.5)
        status, _, text = self.srv.request("GET", path="/healthz")
        self.assertEqual(status, 503)
        self.assertIn("too many connections", text)
        self.close_idle_and_wait_for_health()
        status, _, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            headers={"Accept": "application/json, text/event-stream"})
        self.assertEqual(status, 200)
        self.assertNotIn("Too many open files", self.stderr())

    def test_running_out_is_answered_with_503_not_a_busy_loop(self):
        # No reserve: connections take every descriptor the limit allows.
        self.start(200, ["--max-connections", "100000", "--fd-reserve", "0"])
        self.open_idle(300)
        # Connections beyond the last descriptor wait in the backlog; each
        # pause, the spare descriptor answers one of them.
        refused = None
        deadline = time.monotonic() + 10
        while refused is None and time.monotonic() < deadline:
            for sock in self.idle:
                sock.setblocking(False)
                try:
                    got = sock.recv(4096)
                except BlockingIOError:
                    continue
                if got:
                    refused = got.decode("latin-1")
                    break
            time.sleep(0.1)
        self.assertIsNotNone(refused, "no connection was answered")
        self.assertTrue(refused.startswith("HTTP/1.1 503"), refused)
        self.assertIn("out of file descriptors", refused)
        time.sleep(1)
        # One report, not one line per failed accept.
        lines = [ln for ln in self.stderr().splitlines() if "out of file descriptors" in ln]
        self.assertEqual(len(lines), 1, self.stderr()[-2000:])
        self.assertNotIn("accept failed", self.stderr())
        self.close_idle_and_wait_for_health()

    def test_a_limit_below_the_reserve_stops_the_start(self):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (500, 500))

        r = subprocess.run([BINARY, "--port", "0", "--data", tempfile.mkdtemp(prefix="litemcp-it-")],
                           capture_output=True, text=True, timeout=30, preexec_fn=limit)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the descriptor limit (ulimit -n) is 500, no more than the 640 kept for the store", r.stderr)


class StartChecks(unittest.TestCase):
    """What is wrong is found before anything is written to disk."""

    def run_litemcp(self, args):
        return subprocess.run([BINARY] + args, capture_output=True, text=True, timeout=30)

    def test_version(self):
        r = self.run_litemcp(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^litemcp \d+\.\d+\.\d+\n$")

    def test_a_port_in_use_is_refused_before_the_data_folder_is_made(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        parent = tempfile.mkdtemp(prefix="litemcp-start-")
        try:
            r = self.run_litemcp(["--port", str(port), "--data", parent + "/data"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use" % port, r.stderr)
            self.assertFalse(os.path.exists(parent + "/data"))
        finally:
            busy.close()
            shutil.rmtree(parent, ignore_errors=True)

    def test_a_data_folder_that_cannot_be_made_is_named_with_the_reason(self):
        parent = tempfile.mkdtemp(prefix="litemcp-start-")
        try:
            with open(parent + "/file", "w") as f:
                f.write("x")
            r = self.run_litemcp(["--port", "0", "--data", parent + "/file/data"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("cannot create the data folder %s/file/data: %s/file is not a folder" % (parent, parent),
                          r.stderr)
            r = self.run_litemcp(["--port", "0", "--data", parent + "/file"])
            self.assertIn("the data folder %s/file is not a folder" % parent, r.stderr)
        finally:
            shutil.rmtree(parent, ignore_errors=True)


class Admin(unittest.TestCase):
    def setUp(self):
        self.srv = Server(BINARY, ["--admin-token", "t0k3n-for-the-admin-api"]).start()

    def tearDown(self):
        self.srv.cleanup()

    def get(self, path):
        status, _, text = self.srv.request("GET", path=path)
        return status, json.loads(text)

    def test_sessions_list_in_pages_and_inspect_one(self):
        sids = sorted(self.srv.initialize()[0] for _ in range(5))
        seen, after = [], ""
        while True:
            status, page = self.get("/admin/sessions?limit=2" + ("&after=" + after if after else ""))
            self.assertEqual(status, 200)
            self.assertLessEqual(len(page["sessions"]), 2)
            seen += [s["id"] for s in page["sessions"]]
            if "next" not in page:
                break
            after = page["next"]
        self.assertEqual(seen, sids)
        self.assertEqual(page["total"], 5)
        nobody = self.get("/admin/sessions?principal=nobody")[1]
        self.assertEqual((len(nobody["sessions"]), nobody["total"]), (0, 0))  # total counts what the filter matches
        full = self.get("/admin/sessions?limit=5")[1]  # a full last page has no cursor to an empty one
        self.assertEqual((len(full["sessions"]), "next" in full), (5, False))
        self.assertEqual(self.get("/admin/sessions?limit=0")[1]["sessions"][0]["id"], sids[0])  # at least one

        sid = sids[0]
        messages(self.srv.open("POST", *call(sid, 1, "echo", {"text": "hi"})))
        status, s = self.get("/admin/sessions/" + sid)
        self.assertEqual((status, s["version"]), (200, "2025-11-25"))
        self.assertEqual(s["topic"]["name"], "mcp.session/" + sid)
        self.assertEqual(s["topic"]["endOffset"], 4)  # initialize + response, tools/call + response
        status, ev = self.get("/admin/sessions/%s/events?from=2&limit=10" % sid)
        self.assertEqual([e["kind"] for e in ev["events"]], ["client request", "response"])
        self.assertEqual(ev["events"][0]["message"]["method"], "tools/call")
        self.assertEqual(ev["events"][1]["message"]["result"]["content"][0]["text"], "hi")
        self.assertEqual(ev["next"], 4)
        self.assertEqual([e["stream"] for e in ev["events"]], ["(client)", "2"])  # the response's stream: request 2
        self.assertEqual(self.get("/admin/sessions?state=active")[1]["sessions"], [])
        stream = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        self.assertEqual(stream.status, 200)
        # The stream's headers may reach the client just before its feeder is
        # attached to the session: wait for it briefly.
        deadline = time.time() + 10
        while True:
            active = [x["id"] for x in self.get("/admin/sessions?state=active")[1]["sessions"]]
            if active or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(active, [sid])
        self.assertEqual(self.get("/admin/sessions?state=active")[1]["total"], 1)
        idle = self.get("/admin/sessions?state=idle")[1]
        self.assertNotIn(sid, [x["id"] for x in idle["sessions"]])
        self.assertEqual(idle["total"], 4)
        self.assertEqual(self.get("/admin/sessions/" + sid)[1]["getStreamOpen"], True)
        stream._conn.close()
        self.assertEqual(self.get("/admin/sessions?state=bogus")[0], 400)
        self.assertEqual(self.get("/admin/sessions/%s/events?from=x" % sid)[0], 400)

        status, _, _ = self.srv.request("DELETE", path="/admin/sessions/" + sid)
        self.assertEqual(status, 200)
        self.assertEqual(self.srv.request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                          {"Mcp-Session-Id": sid})[0], 404)
        self.assertEqual(self.get("/admin/sessions/" + sid)[0], 404)

    def test_topics_workers_and_the_store(self):
        sid, _ = self.srv.initialize()
        status, t = self.get("/admin/topics")
        parents = {p["name"]: p for p in t["parents"]}
        self.assertEqual(parents["mcp.session"]["liteTopics"], 1)
        self.assertIn("maxRecords", parents["mcp.worker"]["policy"])
        status, one = self.get("/admin/topics/mcp.session/" + sid)
        self.assertEqual((status, one["endOffset"], one["firstOffset"]), (200, 2, 0))
        self.assertEqual(self.get("/admin/topics/mcp.session/nope")[0], 404)

        w = Worker(self.srv, "calc", [{"name": "add", "inputSchema": {"type": "object"}}], maxAttempts=1)
        inst = w.connect()
        resp = self.srv.open("POST", *call(sid, 1, "add", {}))
        ev = inst.next_call()
        w.fail(ev["id"], "boom")
        messages(resp)
        status, ws = self.get("/admin/workers")
        self.assertEqual(ws["workers"][0]["name"], "calc")
        self.assertEqual(ws["workers"][0]["deadLettered"], 1)
        status, one = self.get("/admin/workers/calc")
        self.assertEqual((status, one["instances"][0]["id"]), (200, inst.id))
        status, dl = self.get("/admin/workers/calc/dead-letters")
        self.assertEqual(dl["deadLetters"][0]["record"]["error"], "boom")
        self.assertEqual(dl["deadLetters"][0]["record"]["callId"], ev["id"])
        self.assertEqual(dl["deadLetters"][0]["status"], "dead")
        offset = dl["deadLetters"][0]["offset"]
        # Requeued: the worker gets the call again; nobody waits for its answer.
        status, _, text = self.srv.request("POST", path="/admin/workers/calc/dead-letters/%d/requeue" % offset)
        self.assertEqual(status, 200, text)
        again = inst.next_call()
        self.assertEqual((again["params"]["name"], attempt_of(again)), ("add", 1))
        self.assertEqual(json.loads(text)["requeuedAs"], again["id"])
        self.assertEqual(w.answer(again["id"], {"content": []})[0], 200)
        self.assertEqual(self.srv.request("POST", path="/admin/workers/calc/dead-letters/%d/requeue" % offset)[0], 409)
        self.assertEqual(self.get("/admin/workers/calc/dead-letters")[1]["deadLetters"][0]["status"],
                         {"requeuedAs": again["id"]})
        # A second dead letter, dropped.
        resp = self.srv.open("POST", *call(sid, 2, "add", {}))
        w.fail(inst.next_call()["id"], "boom again")
        messages(resp)
        self.assertEqual(self.srv.request("DELETE", path="/admin/workers/calc/dead-letters/%d" % (offset + 1))[0], 200)
        self.assertEqual(self.get("/admin/workers/calc/dead-letters")[1]["deadLetters"][1]["status"], {"dropped": True})
        self.assertEqual(self.srv.request("DELETE", path="/admin/workers/calc/dead-letters/99")[0], 404)
        self.assertEqual(self.srv.request("DELETE", path="/admin/workers/calc/dead-letters/x")[0], 400)

        status, s = self.get("/admin/store")
        self.assertEqual(s["durability"], "interval:100")
        for key in ("logBytes", "logSegments", "indexDiskBytes", "checkpoint"):
            self.assertIn(key, s)
        self.assertEqual(self.get("/admin/nothing")[0], 404)
        self.assertEqual(self.srv.request("POST", {}, path="/admin/store")[0], 405)

    def test_the_index_lists_every_route(self):
        for path in ("/admin", "/admin/"):
            status, index = self.get(path)
            self.assertEqual(status, 200)
            routes = {(r["method"], r["path"]) for r in index["routes"]}
            self.assertIn(("GET", "/admin/sessions/{id}"), routes)
            self.assertIn(("POST", "/admin/workers/{name}/dead-letters/{offset}/requeue"), routes)
            self.assertTrue(all(r["what"] for r in index["routes"]))
        status, _, text = self.srv.request("GET", path="/admin/nothing")
        self.assertIn("GET /admin/ lists the API", json.loads(text)["error"])

    def test_one_wording_of_404_and_405_on_every_api(self):
        # /mcp answers JSON-RPC errors, the others {"error": ...}; the words
        # and the Allow header come from one place.
        cases = [("PUT", "/mcp", 405, "GET, POST, DELETE"), ("PUT", "/workers", 405, "POST"),
                 ("PUT", "/admin/store", 405, "GET"), ("PUT", "/metrics", 405, "GET"),
                 ("GET", "/nowhere", 404, None), ("GET", "/workers/calc/nowhere", 404, None),
                 ("GET", "/admin/nowhere", 404, None)]
        for method, path, status, allow in cases:
            got, r, text = self.srv.request(method, {}, path=path)
            self.assertEqual(got, status, (method, path, text))
            body = json.loads(text)
            message = body["error"]["message"] if path == "/mcp" or path == "/nowhere" else body["error"]
            if status == 405:
                self.assertEqual(r.getheader("Allow"), allow)
                self.assertTrue(message.startswith("method %s is not allowed on %s" % (method, path)), message)
            else:
                self.assertTrue(message.startswith("no endpoint at " + path), message)

    def test_tail_streams_new_records_of_matching_topics(self):
        sid, _ = self.srv.initialize()
        tail = self.srv.open("GET", headers={"Accept": "text/event-stream"},
                             path="/admin/tail?topics=mcp.session/" + sid[:8] + "*")
        stream = events(tail)
        self.assertEqual(json.loads(next(stream)["data"]), {"tailing": "mcp.session/" + sid[:8] + "*"})
        other, _ = self.srv.initialize()  # not matching (almost surely a different prefix)
        messages(self.srv.open("POST", *call(sid, 5, "echo", {"text": "seen"})))
        got = [json.loads(next(stream)["data"]) for _ in range(2)]
        self.assertEqual([g["kind"] for g in got], ["client request", "response"])
        self.assertEqual(got[1]["message"]["result"]["content"][0]["text"], "seen")
        self.assertTrue(all(g["topic"] == "mcp.session/" + sid for g in got))
        tail._conn.close()

    def test_only_loopback_or_the_admin_token(self):
        # A client that is not trusted as loopback: the same refusal a remote
        # peer gets (tests send traffic to loopback only).
        srv = Server(BINARY, ["--admin-token", "t0k3n-for-the-admin-api", "--admin-credential-on-loopback"]).start()
        try:
            status, r, _ = srv.request("GET", path="/admin/store")
            self.assertEqual(status, 401)
            self.assertIn("Bearer", r.getheader("WWW-Authenticate"))
            self.assertEqual(srv.request("GET", path="/admin/store",
                                         headers={"Authorization": "Bearer wrong-token-for-the-api"})[0], 401)
            self.assertEqual(srv.request("GET", path="/admin/store",
                                         headers={"Authorization": "Bearer t0k3n-for-the-admin-api"})[0], 200)
        finally:
            srv.cleanup()
        self.assertEqual(self.srv.request("GET", path="/admin/store")[0], 200)  # loopback, trusted by default

    def test_a_foreign_host_or_origin_is_refused(self):
        # DNS rebinding: a page served from evil.example that resolves to
        # 127.0.0.1 must not reach the tokenless loopback admin API.
        for path in ("/admin/sessions", "/metrics"):
            for headers in ({"Host": "evil.example"}, {"Origin": "http://evil.example"}):
                status, _, text = self.srv.request("GET", path=path, headers=headers)
                self.assertEqual(status, 403, (path, headers))
                self.assertIn("not allowed", text)
        self.assertEqual(self.srv.request("GET", path="/metrics", headers={"Origin": "http://127.0.0.1:9090"})[0], 200)
        self.assertEqual(self.srv.request("GET", path="/admin/sessions", headers={"Origin": "http://localhost:3000"})[0],
                         200)

if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
