"""Integration tests of upstreams: MCP servers registered with litemcp by URL
(docs/workers.md, "Register your MCP server"). The upstream is a real server
nobody here wrote -- an McpServer of the official TypeScript SDK over
Streamable HTTP, stateful or stateless, or over the HTTP+SSE transport of
2024-11-05 (test/upstreams/upstream_server.mjs) -- and an MCP client calls
its tools through litemcp.

usage: test_upstreams.py /path/to/litemcp NPM_WORK_DIR [unittest args]"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from litemcp_harness import Server, call, call_answering, events, messages, wait_until  # noqa: E402

BINARY = None
NPM = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream:
    """The SDK fixture server on a port of its own; kill() and start() again
    on the same port, as a restarted server."""

    def __init__(self, stateless=False, port=None, modern=False, legacy_sse=False):
        self.stateless = stateless
        self.legacy_sse = legacy_sse
        self.port = port or free_port()
        self.proc = None
        name = "modern_upstream_server.mjs" if modern else "upstream_server.mjs"
        script = os.path.join(NPM, name)
        shutil.copy(os.path.join(here, "..", "upstreams", name), script)
        if modern:  # it imports ./node_fetch_adapter.mjs
            shutil.copy(os.path.join(here, "..", "upstreams", "node_fetch_adapter.mjs"), NPM)
        self.script = script

    def start(self):
        cmd = ["node", self.script, "--port", str(self.port)] + (["--stateless"] if self.stateless else []) + \
            (["--legacy-sse"] if self.legacy_sse else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening"), line
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d/%s" % (self.port, "sse" if self.legacy_sse else "mcp")

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.proc.stdout.close()


def register(srv, name, url, **options):
    body = dict({"name": name, "upstream": dict({"url": url}, **options.pop("upstream", {}))}, **options)
    status, _, text = srv.request("POST", body, path="/workers")
    return status, json.loads(text) if text else None


def result_of(srv, sid, id, name, arguments=None, meta=None):
    status, _, text = srv.request("POST", *call(sid, id, name, arguments, meta=meta))
    assert status == 200, (status, text)
    msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")]
    if not msgs:
        msgs = [json.loads(text)]
    return msgs


def modern_call(srv, id, name, arguments=None, caps=None, **extra):
    """A tools/call of the stateless 2026-07-28 revision (no session); its
    final message."""
    params = dict({"name": name, "arguments": arguments or {}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps or {}}}, **extra)
    status, r, text = srv.request("POST", {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params},
                                  {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name,
                                   "Accept": "application/json, text/event-stream"})
    msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
    return status, msgs[-1]


def listed(srv, sid, method, field):
    status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": 90, "method": method}, {"Mcp-Session-Id": sid})
    assert status == 200, (status, text)
    msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
    return msgs[-1]["result"][field]


class UpstreamTest(unittest.TestCase):
    stateless = False
    legacy_sse = False
    args = ("--worker-offline-grace-ms", "1500", "--upstream-ping-ms", "500", "--upstream-retry-max-ms", "1000")

    def setUp(self):
        self.up = Upstream(self.stateless, legacy_sse=self.legacy_sse).start()
        self.srv = Server(BINARY, self.args).start()
        self.sid, _ = self.srv.initialize()

    def tearDown(self):
        self.srv.cleanup()
        self.up.kill()

    def registered(self, name="fx", **options):
        status, reply = register(self.srv, name, self.up.url, **options)
        self.assertEqual(status, 201, reply)
        return reply


class Calls(UpstreamTest):
    def test_register_lists_the_server_s_tools_under_the_prefix(self):
        reply = self.registered(upstream={"bearerToken": "s3cret-token", "headers": {"X-Api-Key": "k3y-value"}})
        self.assertRegex(reply["credential"], r"^[0-9a-f]{64}$")
        self.assertEqual(reply["upstream"]["serverInfo"]["name"], "upstream-fixture")
        self.assertEqual(reply["upstream"]["tools"], 12)
        names = [t["name"] for t in listed(self.srv, self.sid, "tools/list", "tools")]
        for t in ("fx__echo", "fx__add", "fx__slow", "fx__log", "fx__boom"):
            self.assertIn(t, names)
        status, _, text = self.srv.request("GET", headers={"Authorization": "Bearer " + reply["credential"]},
                                           path="/workers/fx")
        self.assertEqual(status, 200, text)
        d = json.loads(text)
        self.assertEqual(d["upstream"]["url"], self.up.url)
        self.assertEqual(sorted(d["upstream"]["headers"]), ["Authorization", "X-Api-Key"])
        # Secrets are never shown, by the worker API or the admin API.
        self.assertNotIn("s3cret-token", text)
        self.assertNotIn("k3y-value", text)
        status, _, text = self.srv.request("GET", path="/admin/workers/fx")
        self.assertEqual(status, 200, text)
        self.assertNotIn("s3cret-token", text)
        self.assertNotIn("k3y-value", text)

    def test_calls_are_forwarded_with_the_delivery_id_and_answered(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 1, "fx__add", {"a": 2, "b": 3})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "5")
        msgs = result_of(self.srv, self.sid, 2, "fx__echo", {"text": "hi there"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "hi there")
        stats = self.up.stats()
        self.assertEqual(stats["tools"], {"add": 1, "echo": 1})
        # Each call reached the server once, under its own delivery id.
        self.assertEqual(sorted(stats["byDelivery"].values()), [1, 1])

    def test_progress_and_log_messages_reach_the_client(self):
        self.registered()
        self.srv.request("POST", {"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel", "params": {"level": "debug"}},
                         {"Mcp-Session-Id": self.sid})
        msgs = result_of(self.srv, self.sid, 3, "fx__slow", {"steps": 3, "ms": 20}, meta={"progressToken": "tok"})
        progress = [m["params"] for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual([p["progress"] for p in progress], [1, 2, 3])
        self.assertTrue(all(p["progressToken"] == "tok" for p in progress), progress)
        self.assertEqual(progress[0]["message"], "step 1")
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "done after 3")
        msgs = result_of(self.srv, self.sid, 4, "fx__log", {"text": "a line"})
        logs = [m["params"] for m in msgs if m.get("method") == "notifications/message"]
        self.assertEqual(logs, [{"level": "info", "logger": "fixture", "data": "a line"}])

    def test_an_answer_whose_stream_the_server_ends_is_resumed(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 13, "fx__pause", {}, meta={"progressToken": "p"})
        self.assertEqual([m["params"]["progress"] for m in msgs if m.get("method") == "notifications/progress"], [1, 2])
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "after the pause", msgs)
        # Resumed with Last-Event-ID, not sent again.
        self.assertEqual(self.up.stats()["tools"], {"pause": 1})

    def test_a_failing_tool_is_a_tool_error_and_unknown_names_are_refused(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 6, "fx__boom")
        self.assertTrue(msgs[-1]["result"]["isError"])
        self.assertIn("boom went the tool", msgs[-1]["result"]["content"][0]["text"])
        msgs = result_of(self.srv, self.sid, 7, "boom")  # the server's name, without the prefix
        self.assertIn("error", msgs[-1])
        self.assertIn("boom", msgs[-1]["error"]["message"])

    def test_resources_and_prompts_are_served_too(self):
        self.registered()
        uris = [r["uri"] for r in listed(self.srv, self.sid, "resources/list", "resources")]
        self.assertIn("fixture://hello", uris)
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 8, "method": "resources/read",
                                                    "params": {"uri": "fixture://hello"}}, {"Mcp-Session-Id": self.sid})
        msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
        self.assertEqual(msgs[-1]["result"]["contents"][0]["text"], "hello from the upstream")
        self.assertIn("fx__greet", [p["name"] for p in listed(self.srv, self.sid, "prompts/list", "prompts")])
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 9, "method": "prompts/get",
                                                    "params": {"name": "fx__greet", "arguments": {"who": "Ada"}}},
                                           {"Mcp-Session-Id": self.sid})
        msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
        self.assertEqual(msgs[-1]["result"]["messages"][0]["content"]["text"], "Hello, Ada!")

    def test_a_resource_uri_another_serves_is_listed_namespaced(self):
        self.registered("fx")
        self.registered("fy")  # the same server again: its tools are prefixed apart, its resource collides
        uris = [r["uri"] for r in listed(self.srv, self.sid, "resources/list", "resources")]
        self.assertIn("fixture://hello", uris)
        self.assertIn("upstream://fy/fixture://hello", uris)
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 8, "method": "resources/read",
                                                    "params": {"uri": "upstream://fy/fixture://hello"}},
                                           {"Mcp-Session-Id": self.sid})
        msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
        contents = msgs[-1]["result"]["contents"][0]
        self.assertEqual(contents["text"], "hello from the upstream")
        self.assertEqual(contents["uri"], "upstream://fy/fixture://hello")

    def test_a_cancelled_call_is_cancelled_at_the_server(self):
        self.registered()
        r = self.srv.open("POST", *call(self.sid, 10, "fx__slow", {"steps": 50, "ms": 100}))
        self.assertTrue(wait_until(lambda: self.up.stats()["tools"].get("slow") == 1))
        self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 10, "reason": "changed my mind"}}, {"Mcp-Session-Id": self.sid})
        self.assertTrue(wait_until(lambda: self.up.stats()["cancelled"] == 1), self.up.stats())
        r._conn.close()

    def test_the_server_restarting_forgets_the_session_and_litemcp_starts_a_new_one(self):
        self.registered()
        self.assertEqual(result_of(self.srv, self.sid, 11, "fx__add", {"a": 1, "b": 1})[-1]["result"]["content"][0]["text"], "2")
        self.up.kill()
        self.up.start()  # same port, no sessions
        msgs = result_of(self.srv, self.sid, 12, "fx__add", {"a": 2, "b": 2})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "4", msgs)


class Relay(UpstreamTest):
    """The server's requests to the client in the middle of a call."""

    def test_sampling_and_elicitation_reach_the_client_and_its_answers_the_server(self):
        self.registered()
        sid, _ = self.srv.initialize(capabilities={"sampling": {}, "elicitation": {}})
        asked, got = call_answering(self.srv, sid, 1, "fx__ask", {"prompt": "hi"},
                              {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"})
        self.assertEqual([m["method"] for m in asked], ["sampling/createMessage"])
        self.assertEqual(asked[0]["params"]["messages"][0]["content"]["text"], "hi")
        self.assertEqual(got["result"]["content"][0]["text"], "model said: hello back")
        asked, got = call_answering(self.srv, sid, 2, "fx__elicit", {}, {"action": "accept", "content": {"name": "Ada"}})
        self.assertEqual([m["method"] for m in asked], ["elicitation/create"])
        self.assertEqual(got["result"]["content"][0]["text"], "hello Ada")

    def test_a_2026_client_answers_the_server_s_request_in_its_next_round(self):
        self.registered()
        status, m = modern_call(self.srv, 1, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}})
        res = m["result"]
        self.assertEqual((status, res["resultType"]), (200, "input_required"), m)
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual(req["method"], "sampling/createMessage")
        self.assertEqual(req["params"]["messages"][0]["content"]["text"], "hi")
        answer = {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"}
        status, m = modern_call(self.srv, 2, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                requestState=res["requestState"], inputResponses={key: answer})
        self.assertEqual(m["result"]["content"][0]["text"], "model said: hello back", m)
        self.assertEqual(m["result"]["resultType"], "complete")

    def test_a_client_without_the_capability_makes_the_server_s_request_fail_clearly(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 3, "fx__ask", {"prompt": "hi"})  # no sampling capability
        self.assertTrue(msgs[-1]["result"]["isError"], msgs)
        self.assertIn("sampling", msgs[-1]["result"]["content"][0]["text"])


class UpstreamTasks(UpstreamTest):
    """Tools a 2025-11-25 server runs only as tasks (the SDK's experimental
    tasks): litemcp calls them as tasks and follows each to its end."""

    def test_a_tool_that_runs_only_as_a_task_is_called_as_one(self):
        self.registered()
        tool = [t for t in listed(self.srv, self.sid, "tools/list", "tools") if t["name"] == "fx__job"][0]
        self.assertEqual(tool["execution"]["taskSupport"], "optional")  # litemcp runs the server's task itself
        msgs = result_of(self.srv, self.sid, 1, "fx__job", {"ms": 300})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "job done after 300", msgs)
        self.assertEqual(list(self.up.stats()["tasks"].values()), ["completed"])
        self.assertEqual(list(self.up.stats()["byDelivery"].values()), [1])

    def test_a_task_s_request_reaches_the_calling_client(self):
        self.registered()
        sid, _ = self.srv.initialize(capabilities={"elicitation": {}})
        asked, got = call_answering(self.srv, sid, 2, "fx__job_ask", {}, {"action": "accept", "content": {"name": "Ada"}})
        self.assertEqual([(m["method"], m["params"]["message"]) for m in asked],
                         [("elicitation/create", "Your name, for the task?")])
        self.assertEqual(got["result"]["content"][0]["text"], "the task says hello Ada", got)

    def test_a_cancelled_call_cancels_the_task(self):
        self.registered()
        r = self.srv.open("POST", *call(self.sid, 3, "fx__job", {"ms": 60000}))
        self.assertTrue(wait_until(lambda: list(self.up.stats()["tasks"].values()) == ["working"]), self.up.stats())
        self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}},
                         {"Mcp-Session-Id": self.sid})
        self.assertTrue(wait_until(lambda: list(self.up.stats()["tasks"].values()) == ["cancelled"]), self.up.stats())
        r._conn.close()


class RelayBound(UpstreamTest):
    """A client holds at most --relay-per-client of the threads that wait
    on clients' answers."""
    args = UpstreamTest.args + ("--relay-per-client", "2")

    def test_a_client_that_does_not_answer_holds_at_most_its_share(self):
        self.registered()
        sid, _ = self.srv.initialize(capabilities={"sampling": {}})
        waiting = []
        for i in (1, 2):  # asked, and never answered
            r = self.srv.open("POST", *call(sid, i, "fx__ask", {"prompt": "p%d" % i}))
            self.addCleanup(r._conn.close)
            asked = next(m for m in (json.loads(e["data"]) for e in events(r) if e.get("data")) if "method" in m)
            self.assertEqual(asked["method"], "sampling/createMessage")
            waiting.append(r)
        msgs = result_of(self.srv, sid, 3, "fx__ask", {"prompt": "p3"})
        self.assertTrue(msgs[-1]["result"]["isError"], msgs)
        self.assertIn("already has 2 requests", msgs[-1]["result"]["content"][0]["text"])
        # Another client is asked as usual.
        other, _ = self.srv.initialize(capabilities={"sampling": {}})
        asked, got = call_answering(self.srv, other, 4, "fx__ask", {"prompt": "hi"},
                                    {"role": "assistant", "content": {"type": "text", "text": "yes"}, "model": "m"})
        self.assertEqual(got["result"]["content"][0]["text"], "model said: yes")


class ListChanged(UpstreamTest):
    def test_a_tool_the_server_adds_is_listed_and_callable(self):
        self.registered()
        req = urllib.request.Request("http://127.0.0.1:%d/add-tool" % self.up.port, data=b'{"name": "fresh"}',
                                     method="POST")
        urllib.request.urlopen(req, timeout=5).read()
        self.assertTrue(wait_until(lambda: "fx__fresh" in [t["name"] for t in listed(self.srv, self.sid, "tools/list", "tools")]))
        self.assertEqual(result_of(self.srv, self.sid, 1, "fx__fresh")[-1]["result"]["content"][0]["text"], "fresh")


class LegacySseCalls(Calls):
    """The same calls to a server on the HTTP+SSE transport of 2024-11-05
    (the SDK's SSEServerTransport): found after initialize and
    server/discover are refused, every message POSTed to the stream's
    endpoint, every answer read from the one stream."""
    legacy_sse = True

    def test_an_answer_whose_stream_the_server_ends_is_resumed(self):
        self.skipTest("the HTTP+SSE transport has no stream per request to end")


class LegacySseRelay(Relay):
    legacy_sse = True


class LegacySseListChanged(ListChanged):
    legacy_sse = True


class LegacySse(UpstreamTest):
    """What only the HTTP+SSE transport has: one stream for every call."""
    legacy_sse = True

    def test_a_request_of_the_server_s_with_two_calls_running_is_refused_clearly(self):
        self.registered()
        sid, _ = self.srv.initialize(capabilities={"sampling": {}})
        slow = self.srv.open("POST", *call(sid, 1, "fx__slow", {"steps": 30, "ms": 100}))
        self.addCleanup(slow._conn.close)
        self.assertTrue(wait_until(lambda: self.up.stats()["tools"].get("slow") == 1))
        msgs = result_of(self.srv, sid, 2, "fx__ask", {"prompt": "hi"})
        self.assertTrue(msgs[-1]["result"]["isError"], msgs)
        self.assertIn("cannot tell which call", msgs[-1]["result"]["content"][0]["text"])

    def test_a_server_answering_in_the_post_s_body_is_understood(self):
        # Some servers on this transport answer a request in the POST's own
        # body (200) instead of on the stream.
        class InBody(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b"event: endpoint\ndata: /messages?sessionId=7\n\n")
                self.wfile.flush()
                time.sleep(30)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                if self.path == "/sse":
                    out, status = b"", 405
                elif "id" not in body:
                    out, status = b"", 202
                else:
                    results = {
                        "initialize": {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}},
                                       "serverInfo": {"name": "in-body", "version": "1"}},
                        "tools/list": {"tools": [{"name": "hello", "inputSchema": {"type": "object"}}]},
                        "tools/call": {"content": [{"type": "text", "text": "hello from the body"}]},
                        "ping": {},
                    }
                    out = json.dumps({"jsonrpc": "2.0", "id": body["id"],
                                      "result": results.get(body["method"], {})}).encode()
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InBody)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.shutdown)
        status, reply = register(self.srv, "inbody", "http://127.0.0.1:%d/sse" % httpd.server_address[1])
        self.assertEqual(status, 201, reply)
        self.assertEqual(reply["upstream"]["serverInfo"]["name"], "in-body")
        msgs = result_of(self.srv, self.sid, 1, "inbody__hello")
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "hello from the body")

    def test_an_endpoint_on_another_origin_is_refused(self):
        class Elsewhere(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b"event: endpoint\ndata: http://169.254.169.254/messages?sessionId=1\n\n")
                self.wfile.flush()
                time.sleep(1)

            def log_message(self, *a):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.shutdown)
        status, reply = register(self.srv, "far", "http://127.0.0.1:%d/sse" % httpd.server_address[1])
        self.assertEqual(status, 502, reply)
        self.assertIn("another origin", reply["error"])


class Modern(unittest.TestCase):
    """An upstream that speaks only 2026-07-28 (the SDK v2 server, legacy
    refused): found with server/discover, called with the _meta envelope and
    headers, its input_required rounds answered by the calling client."""

    def setUp(self):
        self.up = Upstream(modern=True).start()
        self.srv = Server(BINARY, UpstreamTest.args).start()
        self.sid, _ = self.srv.initialize()
        status, self.reply = register(self.srv, "md", self.up.url)
        self.assertEqual(status, 201, self.reply)

    def tearDown(self):
        self.srv.cleanup()
        self.up.kill()

    def test_found_with_discover_and_called_with_the_envelope_and_headers(self):
        self.assertEqual(self.reply["upstream"]["protocolVersion"], "2026-07-28")
        self.assertEqual(self.reply["upstream"]["serverInfo"]["name"], "modern-fixture")
        names = [t["name"] for t in listed(self.srv, self.sid, "tools/list", "tools")]
        for t in ("md__echo", "md__slow", "md__ask", "md__sample", "md__boom"):
            self.assertIn(t, names)
        msgs = result_of(self.srv, self.sid, 1, "md__echo", {"text": "über"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "über")
        stats = self.up.stats()
        self.assertEqual(list(stats["byDelivery"].values()), [1], stats)
        call = [h for h in stats["headers"] if h.get("method") == "tools/call"]
        self.assertTrue(all(h.get("method") for h in stats["headers"][1:]), stats["headers"])  # all but the initialize probe
        self.assertEqual(call[-1]["version"], "2026-07-28")
        self.assertEqual(call[-1]["name"], "echo")
        msgs = result_of(self.srv, self.sid, 2, "md__boom")
        self.assertTrue(msgs[-1]["result"]["isError"], msgs)

    def test_an_argument_marked_x_mcp_header_is_sent_as_an_mcp_param_header(self):
        tool = [t for t in listed(self.srv, self.sid, "tools/list", "tools") if t["name"] == "md__locate"][0]
        self.assertEqual(tool["inputSchema"]["properties"]["region"]["x-mcp-header"], "Region")
        # The server refuses a call whose header is missing or differs from
        # the body; a value that is not plain ASCII goes in the Base64 form.
        msgs = result_of(self.srv, self.sid, 5, "md__locate", {"region": "Zürich"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "in Zürich", msgs)
        sent = [h for h in self.up.stats()["headers"] if h.get("name") == "locate"]
        self.assertEqual(sent[-1]["region"], "=?base64?WsO8cmljaA==?=")
        msgs = result_of(self.srv, self.sid, 6, "md__locate", {"region": "eu-west-1"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "in eu-west-1", msgs)
        self.assertEqual([h for h in self.up.stats()["headers"] if h.get("name") == "locate"][-1]["region"], "eu-west-1")

    def test_progress_reaches_the_client(self):
        msgs = result_of(self.srv, self.sid, 3, "md__slow", {"steps": 3}, meta={"progressToken": "pt"})
        progress = [m["params"] for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual([p["progress"] for p in progress], [1, 2, 3], msgs)
        self.assertTrue(all(p["progressToken"] == "pt" for p in progress))
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "done 3")

    def test_input_required_rounds_are_asked_of_the_calling_client(self):
        sid, _ = self.srv.initialize(capabilities={"sampling": {}, "elicitation": {}})
        asked, got = call_answering(self.srv, sid, 4, "md__ask", {}, {"action": "accept", "content": {"name": "Ada"}})
        self.assertEqual([m["method"] for m in asked], ["elicitation/create"])
        self.assertEqual(asked[0]["params"]["message"], "Your name?")
        self.assertEqual(got["result"]["content"][0]["text"], "hello Ada (asked-once)", got)
        asked, got = call_answering(self.srv, sid, 5, "md__sample", {"prompt": "hi"},
                                    {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"})
        self.assertEqual([m["method"] for m in asked], ["sampling/createMessage"])
        self.assertEqual(got["result"]["content"][0]["text"], "model said: hello back", got)
        stats = self.up.stats()
        self.assertEqual(stats["rounds"], 2, stats)

    def test_a_2026_client_answers_the_server_s_rounds_in_its_own(self):
        status, m = modern_call(self.srv, 1, "md__ask", caps={"elicitation": {}})
        res = m["result"]
        self.assertEqual(res["resultType"], "input_required", m)
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual((req["method"], req["params"]["message"]), ("elicitation/create", "Your name?"))
        status, m = modern_call(self.srv, 2, "md__ask", caps={"elicitation": {}}, requestState=res["requestState"],
                                inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}})
        self.assertEqual(m["result"]["content"][0]["text"], "hello Ada (asked-once)", m)

    def test_a_call_the_server_runs_as_a_task_is_followed_to_its_end(self):
        msgs = result_of(self.srv, self.sid, 7, "md__job", {"ms": 300})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "job done after 300", msgs)
        stats = self.up.stats()
        [(task_id, status)] = stats["tasks"].items()
        self.assertEqual(status, "completed")
        polled = [h for h in stats["headers"] if h.get("method") == "tasks/get"]
        self.assertTrue(polled and all(h["name"] == task_id for h in polled), stats["headers"])

    def test_a_task_s_input_is_asked_of_the_calling_client(self):
        sid, _ = self.srv.initialize(capabilities={"elicitation": {}})
        asked, got = call_answering(self.srv, sid, 8, "md__job_ask", {}, {"action": "accept", "content": {"name": "Ada"}})
        self.assertEqual([m["params"]["message"] for m in asked], ["Your name, for the task?"])
        self.assertEqual(got["result"]["content"][0]["text"], "the task says hello Ada", got)

    def test_a_client_that_cannot_be_asked_gets_a_clear_error(self):
        msgs = result_of(self.srv, self.sid, 6, "md__ask")  # no elicitation capability
        final = msgs[-1]
        self.assertIn("error", final, final)
        self.assertIn("elicitation", final["error"]["message"])

    def test_it_stays_online_without_ping(self):
        time.sleep(2)  # four ping intervals: server/discover each time
        status, _, text = self.srv.request("GET", headers={"Authorization": "Bearer " + self.reply["credential"]},
                                           path="/workers/md")
        self.assertTrue(json.loads(text)["online"], text)


class ExampleUpstream(unittest.TestCase):
    """examples/upstream/server.mjs, registered as its README says."""

    def test_the_example_server_is_served_through_litemcp(self):
        script = os.path.join(NPM, "example_upstream.mjs")
        shutil.copy(os.path.join(here, "..", "..", "examples", "upstream", "server.mjs"), script)
        port = free_port()
        proc = subprocess.Popen(["node", script, str(port)], stdout=subprocess.PIPE, text=True)
        srv = Server(BINARY, []).start()
        try:
            self.assertIn("MCP server on", proc.stdout.readline())
            status, reply = register(srv, "weather", "http://127.0.0.1:%d/mcp" % port)
            self.assertEqual(status, 201, reply)
            sid, _ = srv.initialize()
            msgs = result_of(srv, sid, 1, "weather__countdown", {"from": 2}, meta={"progressToken": "p"})
            self.assertEqual([m["params"]["progress"] for m in msgs if m.get("method") == "notifications/progress"], [1, 2])
            self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "lift-off")
            text = result_of(srv, sid, 2, "weather__forecast", {"city": "Oslo"})[-1]["result"]["content"][0]["text"]
            self.assertRegex(text, r"^Oslo: sunny, 21 °C \(delivery [0-9a-f]{32}\)$")
        finally:
            srv.cleanup()
            proc.kill()
            proc.wait()
            proc.stdout.close()


class Declared(unittest.TestCase):
    """Upstreams declared in configuration: Claude Desktop's mcpServers in
    the configuration file, or a file named by --mcp-servers (mcpServers,
    VS Code's servers, or a registry server.json)."""

    def setUp(self):
        self.up = Upstream().start()
        self.dir = tempfile.mkdtemp(prefix="litemcp-declared-")
        self.srv = None

    def tearDown(self):
        if self.srv:
            self.srv.cleanup()
        self.up.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def tools(self):
        sid, _ = self.srv.initialize()
        return [t["name"] for t in listed(self.srv, sid, "tools/list", "tools")]

    def test_the_configuration_file_s_mcpServers_are_registered_and_removed_when_gone(self):
        config = self.write("config.json", {"mcpServers": {
            "fx": {"url": self.up.url, "headers": {"X-Key": "v"}},
            "local": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}}})
        self.srv = Server(BINARY, ["--config", config], data=os.path.join(self.dir, "data"))
        self.srv.start()
        self.assertTrue(wait_until(lambda: "fx__echo" in self.tools()))
        sid, _ = self.srv.initialize()
        self.assertEqual(result_of(self.srv, sid, 1, "fx__echo", {"text": "declared"})[-1]["result"]["content"][0]["text"],
                         "declared")
        status, _, text = self.srv.request("GET", path="/admin/workers/fx")
        self.assertEqual(status, 200, text)
        self.assertNotIn('"v"', text)
        self.srv.stop()
        # Started again without it: the declared upstream is gone.
        self.srv = Server(BINARY, [], data=os.path.join(self.dir, "data"))
        self.srv.start()
        self.assertTrue(wait_until(lambda: self.srv.request("GET", path="/admin/workers/fx")[0] == 404))

    def test_a_file_in_each_shape(self):
        for doc in ({"mcpServers": {"fx": {"url": self.up.url}}},
                    {"servers": {"fx": {"type": "http", "url": self.up.url}}},
                    {"name": "io.github.example/fx", "remotes": [{"type": "streamable-http", "url": self.up.url}]}):
            path = self.write("servers.json", doc)
            self.srv = Server(BINARY, ["--mcp-servers", path], data=tempfile.mkdtemp(dir=self.dir))
            self.srv.start()
            self.assertTrue(wait_until(lambda: "fx__add" in self.tools()), doc)
            self.srv.cleanup()
            self.srv = None

    def test_a_bad_file_stops_the_start_with_a_clear_message(self):
        path = self.write("servers.json", {"mcpServers": {"fx": {"url": "ftp://x"}}})
        run = subprocess.run([BINARY, "--port", "0", "--data", os.path.join(self.dir, "d"), "--mcp-servers", path],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("mcpServers.fx.url", run.stderr + run.stdout)


class StatelessCalls(UpstreamTest):
    stateless = True

    def test_a_stateless_server_serves_calls(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 1, "fx__echo", {"text": "no session"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "no session")
        msgs = result_of(self.srv, self.sid, 2, "fx__slow", {"steps": 2, "ms": 10}, meta={"progressToken": 7})
        self.assertEqual([m["params"]["progress"] for m in msgs if m.get("method") == "notifications/progress"], [1, 2])


class BadInput(UpstreamTest):
    def test_an_answer_of_10_mb_is_a_clear_error_and_litemcp_goes_on(self):
        self.registered()
        msgs = result_of(self.srv, self.sid, 1, "fx__huge", {"mb": 10})
        final = msgs[-1]
        self.assertIn("error", final, str(final)[:300])
        self.assertRegex(final["error"]["message"], "larger than|exceeds")
        self.assertEqual(result_of(self.srv, self.sid, 2, "fx__echo", {"text": "still here"})[-1]["result"]["content"][0]["text"],
                         "still here")
        # An answer within the bound passes whole.
        big = result_of(self.srv, self.sid, 3, "fx__huge", {"mb": 2})[-1]
        self.assertEqual(len(big["result"]["content"][0]["text"]), 2 * 1024 * 1024)

    def test_an_unreachable_url_is_refused_with_502(self):
        status, reply = register(self.srv, "gone", "http://127.0.0.1:%d/mcp" % free_port())
        self.assertEqual(status, 502, reply)
        self.assertIn("cannot use the MCP server at", reply["error"])
        self.assertEqual(self.srv.request("GET", path="/workers/gone")[0], 404)

    def test_a_server_that_is_not_mcp_is_refused_with_502(self):
        class Garbage(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = b"<html>not MCP</html>"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            status, reply = register(self.srv, "junk", "http://127.0.0.1:%d/mcp" % httpd.server_address[1])
            self.assertEqual(status, 502, reply)
            self.assertIn("not JSON", reply["error"])
        finally:
            httpd.shutdown()
        # litemcp keeps serving
        self.assertEqual(result_of(self.srv, self.sid, 1, "echo", {"text": "still here"})[-1]["result"]["content"][0]["text"],
                         "still here")

    def test_a_name_collision_is_refused_with_409(self):
        self.registered("one", upstream={"toolPrefix": "x_"})
        status, reply = register(self.srv, "two", self.up.url, upstream={"toolPrefix": "x_"})
        self.assertEqual(status, 409, reply)
        self.assertIn("tool 'x_echo' is already served by worker 'one'", reply["error"])
        # Without a prefix, the server's echo meets litemcp's own.
        status, reply = register(self.srv, "three", self.up.url, upstream={"toolPrefix": ""})
        self.assertEqual(status, 409, reply)
        self.assertIn("already served by this server", reply["error"])

    def test_lists_given_with_an_upstream_are_refused(self):
        status, reply = register(self.srv, "fx", self.up.url, tools=[])
        self.assertEqual(status, 400, reply)
        status, reply = register(self.srv, "fx", "ftp://example.org/mcp")
        self.assertEqual(status, 400, reply)


class Health(UpstreamTest):
    def test_a_server_that_stops_answering_goes_offline_and_comes_back(self):
        reply = self.registered()
        auth = {"Authorization": "Bearer " + reply["credential"]}

        def online():
            return json.loads(self.srv.request("GET", headers=auth, path="/workers/fx")[2])["online"]

        self.up.kill()
        self.assertTrue(wait_until(lambda: not online(), timeout=15))
        self.assertNotIn("fx__echo", [t["name"] for t in listed(self.srv, self.sid, "tools/list", "tools")])
        msgs = result_of(self.srv, self.sid, 1, "fx__echo", {"text": "x"})
        self.assertTrue(msgs[-1].get("error") or msgs[-1]["result"].get("isError"), msgs)
        self.up.start()
        self.assertTrue(wait_until(online, timeout=15))
        self.assertEqual(result_of(self.srv, self.sid, 2, "fx__echo", {"text": "back"})[-1]["result"]["content"][0]["text"],
                         "back")

    def test_queued_calls_wait_for_the_server_and_are_delivered_when_it_returns(self):
        self.registered(queueWhileOffline=True)
        self.up.kill()
        r = self.srv.open("POST", *call(self.sid, 3, "fx__add", {"a": 20, "b": 22}))
        time.sleep(2.5)  # past the offline grace
        self.up.start()
        msgs = messages(r)
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "42", msgs)


class Durability(UpstreamTest):
    def test_a_call_in_flight_survives_kill_9_and_is_answered_once(self):
        self.registered()
        r = self.srv.open("POST", *call(self.sid, 1, "fx__slow", {"steps": 30, "ms": 100}))
        priming = next(events(r))["id"]
        self.assertTrue(wait_until(lambda: self.up.stats()["tools"].get("slow") == 1))
        self.srv.kill9()
        self.srv.start()  # same data folder: the open call is forwarded again
        g = self.srv.open("GET", headers={"Mcp-Session-Id": self.sid, "Accept": "text/event-stream",
                                          "Last-Event-ID": priming})
        msgs = messages(g)
        finals = [m for m in msgs if m.get("id") == 1]
        self.assertEqual(len(finals), 1, msgs)
        self.assertEqual(finals[0]["result"]["content"][0]["text"], "done after 30")
        stats = self.up.stats()
        # The same delivery id twice: the idempotency key a tool may use.
        self.assertEqual(list(stats["byDelivery"].values()), [2], stats)

    def test_calls_queued_for_an_absent_server_survive_kill_9_and_are_answered_once(self):
        self.registered(queueWhileOffline=True)
        self.up.kill()
        primings = {}
        for i in range(1, 4):
            r = self.srv.open("POST", *call(self.sid, i, "fx__add", {"a": i, "b": 40}))
            primings[i] = next(events(r))["id"]
            r.close()
        time.sleep(2)  # past the offline grace: the calls wait in the queue
        self.srv.kill9()
        self.srv.start()  # same data folder: the queue is still there
        self.up.start()
        for i, priming in primings.items():
            g = self.srv.open("GET", headers={"Mcp-Session-Id": self.sid, "Accept": "text/event-stream",
                                              "Last-Event-ID": priming})
            finals = [m for m in messages(g) if m.get("id") == i]
            self.assertEqual(len(finals), 1, finals)
            self.assertEqual(finals[0]["result"]["content"][0]["text"], str(i + 40))
        stats = self.up.stats()
        self.assertEqual(sorted(stats["byDelivery"].values()), [1, 1, 1], stats)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    NPM = os.path.abspath(sys.argv.pop(1))
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), NPM], text=True)
    unittest.main(verbosity=2)
