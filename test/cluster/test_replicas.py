#!/usr/bin/env python3
"""Three litemcp servers sharing one JetStream store: each step of a legacy
session, and of a task in both eras, is sent on purpose to another server
than the one before it.

Run under nats_cluster.py (TEST_NATS_SERVERS names the NATS servers):
    nats_cluster.py --nodes 3 -- python3 test_replicas.py path/to/litemcp
"""
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from litemcp_harness import Server, call, events, messages, wait_until  # noqa: E402
from test_tasks import TASK_CAPS, poll, task_call, tool  # noqa: E402
from three_servers import ThreeServers  # noqa: E402
from haproxy import Balancer  # noqa: E402

BINARY = None


def answer(sid, id, text):
    return ({"jsonrpc": "2.0", "id": id, "result": {
        "role": "assistant", "content": {"type": "text", "text": text}, "model": "m"}},
        {"Mcp-Session-Id": sid})


class Replicas(ThreeServers):
    def test_initialize_call_stream_and_delete_on_three_servers(self):
        sid, _ = self.a.initialize()
        body, headers = call(sid, 1, "echo", {"text": "made on a, called on b"})
        out = messages(self.b.open("POST", body, headers))[-1]
        self.assertEqual(out["result"]["content"][0]["text"], "made on a, called on b")
        # The standalone stream on c gets a change triggered through a.
        g = self.c.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        self.assertEqual(g.status, 200)
        body, headers = call(sid, 2, "test_trigger_tool_change")
        messages(self.a.open("POST", body, headers))
        got = None
        for e in events(g):
            if e.get("data") and json.loads(e["data"]).get("method") == "notifications/tools/list_changed":
                got = e
                break
        self.assertIsNotNone(got, "the GET stream on c saw no list change")
        # Ended on a: gone on b and c too.
        status, _, _ = self.a.request("DELETE", headers={"Mcp-Session-Id": sid})
        self.assertEqual(status, 200)
        body, headers = call(sid, 3, "echo", {"text": "x"})
        self.assertTrue(wait_until(lambda: self.b.request("POST", body, headers)[0] == 404, timeout=5))
        self.assertEqual(self.c.request("POST", body, headers)[0], 404)
        g._conn.close()

    def test_a_sampling_answer_posted_to_another_server_reaches_the_waiting_tool(self):
        sid, _ = self.a.initialize(capabilities={"sampling": {}})
        body, headers = call(sid, 11, "test_sampling", {"prompt": "hi"})
        r = self.b.open("POST", body, headers)  # the tool runs on b
        got = None
        for e in events(r):
            if not e.get("data"):
                continue
            m = json.loads(e["data"])
            if m.get("method") == "sampling/createMessage":
                status, _, text = self.c.request("POST", *answer(sid, m["id"], "hello from c"))
                self.assertEqual(status, 202, text)
            elif m.get("id") == 11:
                got = m
        self.assertEqual(got["result"]["content"][0]["text"], "LLM response: hello from c")

    def test_a_cancellation_sent_to_another_server_ends_the_request(self):
        sid, _ = self.a.initialize(capabilities={"sampling": {}})
        body, headers = call(sid, 21, "test_sampling", {"prompt": "wait"})
        r = self.a.open("POST", body, headers)
        seen = []
        for e in events(r):
            if not e.get("data"):
                continue
            m = json.loads(e["data"])
            seen.append(m)
            if m.get("method") == "sampling/createMessage":
                status, _, _ = self.b.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                                       "params": {"requestId": 21, "reason": "changed my mind"}},
                                              {"Mcp-Session-Id": sid})
                self.assertEqual(status, 202)
        self.assertEqual([m for m in seen if m.get("id") == 21], [], seen)

    def start_countdown(self, srv, sid, steps):
        body, headers = call(sid, 1, "countdown", {"steps": steps}, meta={"progressToken": 5})
        r = srv.open("POST", body, headers)
        it = events(r)
        evs = []
        for e in it:
            if e.get("data"):
                evs.append(e)
            if len(evs) == 2:
                r._conn.close()  # the client leaves; the call goes on
                return evs
        self.fail("the countdown's stream ended early")

    def resume(self, srv, sid, last_id):
        g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": last_id, "Accept": "text/event-stream"})
        return [json.loads(e["data"]) for e in events(g) if e.get("data")]

    def test_a_stream_resumed_on_another_server_follows_the_running_request_to_its_result(self):
        sid, _ = self.a.initialize()
        evs = self.start_countdown(self.a, sid, steps=20)  # 2 s on a
        replay = self.resume(self.c, sid, evs[-1]["id"])
        self.assertEqual(replay[-1].get("id"), 1, replay[-1])
        self.assertEqual(replay[-1]["result"]["content"][0]["text"], "countdown of 20 finished")
        self.assertEqual([m for m in replay if "error" in m], [])

    def test_a_request_whose_server_was_killed_is_answered_as_interrupted_elsewhere(self):
        d = self.another()
        try:
            sid, _ = d.initialize()
            evs = self.start_countdown(d, sid, steps=100)
            d.kill9()
            replay = self.resume(self.b, sid, evs[-1]["id"])
            self.assertEqual(replay[-1].get("id"), 1, replay[-1])
            self.assertEqual(replay[-1]["error"]["code"], -31000, replay[-1])
            self.assertEqual(sum(1 for m in replay if "error" in m), 1)
        finally:
            d.cleanup()

    def test_a_get_on_another_server_takes_the_standalone_stream_over(self):
        sid, _ = self.a.initialize()
        old = self.a.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        self.assertEqual(old.status, 200)
        new = self.b.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        self.assertEqual(new.status, 200)
        # The old stream ends (cleanly) without the client doing anything.
        for _ in events(old):
            pass
        new._conn.close()

    def test_a_log_level_set_through_one_server_holds_on_another(self):
        sid, _ = self.a.initialize()
        body, headers = call(sid, 1, "test_tool_with_logging")
        self.assertEqual(len([m for m in messages(self.a.open("POST", body, headers))
                              if m.get("method") == "notifications/message"]), 3)
        status, _, _ = self.b.request("POST", {"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel",
                                               "params": {"level": "error"}},
                                      {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
        self.assertEqual(status, 200)

        def quiet_on_a():
            body, headers = call(sid, 3, "test_tool_with_logging")
            return [m for m in messages(self.a.open("POST", body, headers))
                    if m.get("method") == "notifications/message"] == []
        self.assertTrue(wait_until(quiet_on_a, timeout=5))


    def test_an_idle_session_expires_on_every_server_but_not_one_streaming_on_another(self):
        args = ["--session-ttl-ms", "300", "--reclaim-ms", "100"]
        data = tempfile.mkdtemp(prefix="litemcp-idle-")
        d = Server(BINARY, args, data=data).start()
        e = Server(BINARY, args, data=data).start()
        try:
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            idle, _ = d.initialize()
            self.assertEqual(e.request("POST", ping, {"Mcp-Session-Id": idle})[0], 200)  # e holds it too
            watched, _ = d.initialize()
            g = d.open("GET", headers={"Mcp-Session-Id": watched, "Accept": "text/event-stream"})
            next(events(g))  # the stream is attached, on d
            time.sleep(2.0)  # untouched for far longer than the TTL
            self.assertEqual(d.request("POST", ping, {"Mcp-Session-Id": idle})[0], 404)
            self.assertEqual(e.request("POST", ping, {"Mcp-Session-Id": idle})[0], 404)
            # e asked who streams the watched one; d did, so e kept it too.
            self.assertEqual(e.request("POST", ping, {"Mcp-Session-Id": watched})[0], 200)
            self.assertEqual(d.request("POST", ping, {"Mcp-Session-Id": watched})[0], 200)
            g._conn.close()
        finally:
            d.cleanup()
            e.cleanup()
            shutil.rmtree(data, ignore_errors=True)

    def test_the_balancer_sends_each_request_of_a_keep_alive_client_to_the_next_server(self):
        # HAProxy keeps its server connections (http-reuse): a keep-alive
        # client must still reach every server in turn, as the cluster
        # tests and benchmark assume.
        def pings(srv):
            _, _, text = srv.request("GET", path="/metrics")
            return sum(float(v) for v in re.findall(r'^litemcp_mcp_requests_total\{method="ping"[^}]*\} (\S+)$', text, re.M))
        sid, _ = self.a.initialize()
        with Balancer([s.port for s in (self.a, self.b, self.c)]) as lb:
            before = [pings(s) for s in (self.a, self.b, self.c)]
            conn = http.client.HTTPConnection("127.0.0.1", lb.port, timeout=10)
            for i in range(9):
                conn.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": i, "method": "ping"}),
                             {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                              "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            conn.close()
            after = [pings(s) for s in (self.a, self.b, self.c)]
        self.assertEqual([y - x for x, y in zip(before, after)], [3, 3, 3])

    def test_the_admin_api_of_any_server_shows_sessions_tasks_and_topics_made_on_others(self):
        sid, _ = self.a.initialize()
        task = self.create_task(self.b, "slow_compute", {"seconds": 1})
        for srv in (self.a, self.b, self.c):
            status, _, text = srv.request("GET", path="/admin/sessions?limit=1000")
            self.assertEqual(status, 200, text)
            self.assertIn(sid, [x["id"] for x in json.loads(text)["sessions"]])
            status, _, text = srv.request("GET", path="/admin/sessions/" + sid)
            self.assertEqual(status, 200, text)
            status, _, text = srv.request("GET", path="/admin/tasks/" + task)
            self.assertEqual(status, 200, text)
            status, _, text = srv.request("GET", path="/admin/topics")
            self.assertEqual(status, 200, text)
            parents = {p["name"]: p for p in json.loads(text)["parents"]}
            self.assertGreaterEqual(parents["mcp.session"]["liteTopics"], 1, parents["mcp.session"])
            status, _, text = srv.request("GET", path="/readyz")
            self.assertEqual((status, json.loads(text)["status"]), (200, "ready"))
        status, _, text = self.c.request("GET", path="/metrics")
        for name in ("litemcp_store_nats_connected 1", "litemcp_store_nats_reconnects_total",
                     "litemcp_store_publish_seconds_bucket", "litemcp_store_wake_gaps_total"):
            self.assertIn(name, text)

    # ---- tasks ----

    def legacy_rpc(self, srv, sid, id, method, params):
        status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": id, "method": method, "params": params},
                                      {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
        self.assertEqual(status, 200, text)
        return [m for m in (json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: ") and len(l) > 6)
                if m.get("id") == id][0]

    def create_task(self, srv, name, arguments):
        status, m = tool(srv, 1, name, arguments, caps=TASK_CAPS)
        self.assertEqual((status, m["result"]["resultType"]), (200, "task"), m)
        return m["result"]["taskId"]

    def test_a_task_made_on_one_server_takes_its_input_in_parts_through_the_others(self):
        task = self.create_task(self.a, "multi_input", {})
        waiting = poll(self.b, task, ("input_required",))
        self.assertEqual(sorted(waiting["inputRequests"]), ["first", "second"])
        # Half the input through c; the rest through a, whose copy of the task
        # still wants both: it must apply its half to what c recorded.
        task_call(self.c, 2, "tasks/update", task, inputResponses={"first": {"action": "accept", "content": {"name": "one"}}})
        _, m = task_call(self.a, 3, "tasks/update", task,
                         inputResponses={"second": {"action": "accept", "content": {"name": "two"}}})
        self.assertNotIn("error", m)
        done = poll(self.b, task, ("completed",))
        self.assertEqual(done["result"]["content"][0]["text"], 'answers: {"name":"one"}, {"name":"two"}')

    def test_a_task_cancelled_through_another_server_stops_its_handler_there(self):
        # d has one handler thread: while the task's handler runs, nothing else runs there.
        d = Server(BINARY, ["--handler-threads", "1"], data=self.data).start()
        try:
            task = self.create_task(d, "slow_compute", {"seconds": 60})
            _, m = task_call(self.b, 2, "tasks/cancel", task)
            self.assertNotIn("error", m)
            self.assertEqual(poll(self.c, task, ("cancelled",))["status"], "cancelled")
            # The handler on d stopped: d runs the next call at once.
            status, m = tool(d, 3, "echo", {"text": "free again"})
            self.assertEqual((status, m["result"]["content"][0]["text"]), (200, "free again"), m)
            time.sleep(0.3)
            self.assertEqual(poll(self.a, task, ("cancelled",))["status"], "cancelled")  # not overwritten
        finally:
            d.cleanup()

    def test_a_task_whose_server_was_killed_runs_again_on_the_server_polling_it(self):
        d = self.another()
        try:
            task = self.create_task(d, "slow_compute", {"seconds": 2, "label": "again"})
            d.kill9()
            done = poll(self.b, task, ("completed", "failed", "cancelled"), timeout=30)
            self.assertEqual(done["status"], "completed", done)
            self.assertIn("computed again", done["result"]["content"][0]["text"])
        finally:
            d.cleanup()

    def test_a_task_running_on_one_server_is_not_run_again_by_another_asking(self):
        task = self.create_task(self.a, "slow_compute", {"seconds": 1.5, "label": "once"})
        # Polls through b and c ask who runs it; a answers, so neither takes it.
        done = poll(self.c, task, ("completed",))
        self.assertIn("computed once", done["result"]["content"][0]["text"])
        _, got = task_call(self.b, 4, "tasks/get", task)
        self.assertEqual(got["result"]["status"], "completed")
        # One run only: the task's topic records one completion and no rerun.
        status, _, text = self.b.request("GET", path="/admin/tasks/" + task + "/events")
        self.assertEqual(status, 200, text)
        self.assertIn("completed", text)
        self.assertNotIn("running again", text)

    def test_a_legacy_task_runs_on_one_server_and_its_result_waits_on_another(self):
        sid, _ = self.a.initialize()
        m = self.legacy_rpc(self.a, sid, 1, "tools/call",
                            {"name": "slow_compute", "arguments": {"seconds": 1}, "task": {}})
        task = m["result"]["task"]["taskId"]
        # tasks/result on b blocks until a records the end.
        result = self.legacy_rpc(self.b, sid, 2, "tasks/result", {"taskId": task})["result"]
        self.assertIn("computed", result["content"][0]["text"])
        self.assertEqual(self.legacy_rpc(self.c, sid, 3, "tasks/get", {"taskId": task})["result"]["status"], "completed")
        listed = self.legacy_rpc(self.c, sid, 4, "tasks/list", {})["result"]["tasks"]
        self.assertEqual([t["taskId"] for t in listed], [task])


if __name__ == "__main__":
    ThreeServers.binary = BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
