"""Integration tests of the worker API (tool servers that register with
litemcp and receive calls through their own lite topic), against the real
litemcp binary: an MCP client on one side, workers on the other.

usage: test_workers.py /path/to/litemcp [unittest args]"""

import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, Worker, call, events, messages, wait_until  # noqa: E402

BINARY = None

ADD = {"name": "add", "description": "Adds two numbers",
       "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}}
SLOW = {"name": "slow", "description": "Takes its time", "inputSchema": {"type": "object"}}


def text_result(text):
    return {"result": {"content": [{"type": "text", "text": text}]}}


def tool_names(srv, sid):
    status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": 99, "method": "tools/list"},
                                  {"Mcp-Session-Id": sid})
    assert status == 200, (status, text)
    msgs = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    return [t["name"] for t in msgs[-1]["result"]["tools"]]


class WorkerTest(unittest.TestCase):
    args = ("--worker-offline-grace-ms", "2000")

    def setUp(self):
        self.srv = Server(BINARY, self.args).start()
        self.sid, _ = self.srv.initialize()

    def tearDown(self):
        self.srv.cleanup()

    def start_call(self, id, name="add", arguments=None, progress=None):
        body, h = call(self.sid, id, name, arguments if arguments is not None else {"a": 2, "b": 3},
                       meta={"progressToken": progress} if progress else None)
        return self.srv.open("POST", body, h)


class Registration(WorkerTest):
    def test_register_describe_and_register_again(self):
        w = Worker(self.srv, "calc", [ADD])
        self.assertRegex(w.credential, r"^[0-9a-f]{64}$")
        d = w.describe()
        self.assertEqual(d["tools"], ["add"])
        self.assertEqual(d["topic"], "mcp.worker/calc")
        self.assertTrue(d["online"])
        # Again without the credential: the name is taken.
        status, _, text = self.srv.request("POST", {"name": "calc", "tools": [ADD]}, path="/workers")
        self.assertEqual(status, 409, text)
        self.assertIn("credential", json.loads(text)["error"])
        # Again with it: the same worker, tools updated, no new credential.
        status, _, text = self.srv.request("POST", {"name": "calc", "tools": [ADD, SLOW]}, w.auth(), path="/workers")
        self.assertEqual(status, 200, text)
        again = json.loads(text)
        self.assertEqual(again["workerId"], w.worker_id)
        self.assertNotIn("credential", again)
        self.assertEqual(w.describe()["tools"], ["add", "slow"])
        self.assertIn("slow", tool_names(self.srv, self.sid))

    def test_the_admin_api_removes_a_worker_without_its_credential(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        inst.next_event()  # delivered, then its credential is "lost"
        status, _, text = self.srv.request("DELETE", path="/admin/workers/calc")
        self.assertEqual((status, json.loads(text)["deregistered"]), (200, True))
        out = messages(resp)[-1]["result"]
        self.assertTrue(out["isError"])
        self.assertIn("removed by an operator", out["content"][0]["text"])
        self.assertNotIn("add", tool_names(self.srv, self.sid))
        self.assertEqual(self.srv.request("GET", path="/admin/workers/calc")[0], 404)
        self.assertEqual(self.srv.request("DELETE", path="/admin/workers/calc")[0], 404)
        # The name and its tool are free for anyone now.
        again = Worker(self.srv, "calc", [ADD])
        self.assertNotEqual(again.credential, w.credential)

    def test_tool_names_are_unique_across_the_server(self):
        Worker(self.srv, "calc", [ADD])
        status, _, text = self.srv.request("POST", {"name": "other", "tools": [ADD]}, path="/workers")
        self.assertEqual(status, 409)
        self.assertIn("worker 'calc'", json.loads(text)["error"])
        echo = dict(ADD, name="echo")  # an in-process tool of --examples
        status, _, text = self.srv.request("POST", {"name": "other", "tools": [echo]}, path="/workers")
        self.assertEqual(status, 409)
        self.assertIn("this server", json.loads(text)["error"])

    def test_bad_registrations_name_the_field(self):
        cases = [
            ({"tools": [ADD]}, "name"),
            ({"name": "has space", "tools": [ADD]}, "name"),
            ({"name": "w", "tools": [{"name": "t"}]}, "tools[0]"),
            ({"name": "w", "tools": [ADD], "concurrency": 0}, "concurrency"),
            ({"name": "w", "tools": [ADD], "colour": "red"}, "colour"),
            ({"name": "w", "tools": [ADD, ADD]}, "tools[1].name"),
            ({"name": "w", "tools": [dict(ADD, inputSchema={"type": "object", "$ref": "https://x.invalid/s"})]},
             "tools[0].inputSchema"),
        ]
        for body, field in cases:
            status, _, text = self.srv.request("POST", body, path="/workers")
            self.assertEqual(status, 400, (body, text))
            self.assertIn(field, json.loads(text)["error"], body)
        status, _, text = self.srv.request("POST", raw="{nope", path="/workers")
        self.assertEqual(status, 400)
        status, _, _ = self.srv.request("POST", {"name": "w", "tools": []}, {"Content-Type": "text/plain"},
                                        path="/workers")
        self.assertEqual(status, 415)
        status, r, _ = self.srv.request("PUT", {"name": "w", "tools": []}, path="/workers")
        self.assertEqual(status, 405)
        self.assertEqual(r.getheader("Allow"), "POST")

    def test_bad_requests_to_every_worker_endpoint(self):
        w = Worker(self.srv, "calc", [ADD])
        base = "/workers/calc"
        self.assertEqual(self.srv.request("GET", path="/workers/nobody", headers=w.auth())[0], 404)
        self.assertEqual(self.srv.request("GET", path=base)[0], 401)
        self.assertEqual(self.srv.request("GET", path=base, headers={"Authorization": "Bearer nope"})[0], 403)
        self.assertEqual(self.srv.request("DELETE", path=base, headers={"Authorization": "Bearer nope"})[0], 403)
        self.assertEqual(self.srv.request("POST", {}, w.auth(), path=base)[0], 405)
        self.assertEqual(self.srv.request("GET", path=base + "/calls", headers=w.auth({"Accept": "application/json"}))[0], 406)
        self.assertEqual(self.srv.request("GET", path=base + "/calls", headers={"Accept": "text/event-stream"})[0], 401)
        self.assertEqual(self.srv.request("POST", {}, w.auth(), path=base + "/calls")[0], 405)
        self.assertEqual(self.srv.request("GET", path=base + "/elsewhere", headers=w.auth())[0], 404)
        self.assertEqual(w.post("c1", "dance", {})[0], 404)
        self.assertEqual(w.post("nonexistent", "result", text_result("x"))[0], 404)
        for action, body, field in [("progress", {"total": 3}, "progress"),
                                    ("log", {"level": "loud", "data": 1}, "level"),
                                    ("result", {"content": []}, "result"),
                                    ("failure", {"error": 7}, "error"),
                                    ("suspend", {"ms": -5}, "ms"),
                                    ("extend", {}, "ms")]:
            status, reply = w.post("c1", action, body)
            self.assertEqual(status, 400, (action, reply))
            self.assertIn(field, reply["error"], action)
        status, _, _ = self.srv.request("GET", path=base + "/calls/c1/result", headers=w.auth())
        self.assertEqual(status, 405)


class Calls(WorkerTest):
    def test_a_call_reaches_the_worker_and_its_progress_and_result_reach_the_client(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        self.assertIn("add", tool_names(self.srv, self.sid))
        resp = self.start_call(1, progress="p-1")
        ev = inst.next_event()
        self.assertEqual(ev["type"], "call")
        self.assertEqual(ev["tool"], "add")
        self.assertEqual(ev["arguments"], {"a": 2, "b": 3})
        self.assertEqual(ev["attempt"], 1)
        self.assertEqual(ev["progressToken"], "p-1")
        self.assertGreater(ev["deadline"], time.time() * 1000)
        self.assertEqual(w.post(ev["callId"], "progress", {"progress": 1, "total": 2, "message": "half"})[0], 200)
        self.assertEqual(w.post(ev["callId"], "log", {"level": "info", "data": "adding"})[0], 200)
        self.assertEqual(w.post(ev["callId"], "result", text_result("5")), (200, {"callId": ev["callId"], "status": "answered"}))
        # The same answer again is harmless.
        status, reply = w.post(ev["callId"], "result", text_result("6"))
        self.assertEqual((status, reply["status"]), (200, "already finished"))
        msgs = messages(resp)
        self.assertEqual([m.get("method") for m in msgs[:-1]], ["notifications/progress", "notifications/message"])
        self.assertEqual(msgs[0]["params"], {"progressToken": "p-1", "progress": 1, "total": 2, "message": "half"})
        self.assertEqual(msgs[-1], {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "5"}]}})
        d = w.describe()
        self.assertEqual((d["delivered"], d["answered"], d["openCalls"]), (1, 1, 0))

    def test_arguments_are_checked_against_the_workers_schema_before_it_sees_them(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        msgs = messages(self.start_call(1, arguments={"a": "two"}))
        self.assertTrue(msgs[-1]["result"]["isError"])
        self.assertIn("a", msgs[-1]["result"]["content"][0]["text"])
        inst.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            inst.next_event()

    def test_a_result_that_is_not_a_call_tool_result_is_refused(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_event()
        status, reply = w.post(ev["callId"], "result", {"result": {"value": 5}})
        self.assertEqual(status, 400)
        self.assertIn("content", reply["error"])
        w.post(ev["callId"], "result", text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_several_instances_share_the_queue_each_call_goes_to_one(self):
        w = Worker(self.srv, "calc", [ADD], concurrency=1)
        a, b = w.connect("a"), w.connect("b")
        r1, r2 = self.start_call(1), self.start_call(2)
        e1, e2 = a.next_event(), b.next_event()
        self.assertNotEqual(e1["callId"], e2["callId"])
        w.post(e1["callId"], "result", text_result("a"))
        w.post(e2["callId"], "result", text_result("b"))
        self.assertEqual({messages(r1)[-1]["result"]["content"][0]["text"],
                          messages(r2)[-1]["result"]["content"][0]["text"]}, {"a", "b"})
        self.assertEqual(sorted(i["id"] for i in w.describe()["instances"]), ["a", "b"])

    def test_a_killed_instance_s_call_is_delivered_to_another_and_answered_once(self):
        w = Worker(self.srv, "calc", [ADD], invisibilityMs=1000)
        first = w.connect("first")
        resp = self.start_call(1)
        ev = first.next_event()
        first.close()  # killed mid-call
        second = w.connect("second")
        t0 = time.time()
        again = second.next_event()
        self.assertGreater(time.time() - t0, 0.5)  # only after the invisibility timeout
        self.assertEqual((again["callId"], again["attempt"]), (ev["callId"], 2))
        w.post(again["callId"], "result", text_result("5"))
        msgs = messages(resp)
        self.assertEqual(sum(1 for m in msgs if "result" in m), 1)
        self.assertEqual(w.describe()["redelivered"], 1)

    def test_failures_are_retried_then_dead_lettered_with_a_clear_tool_error(self):
        w = Worker(self.srv, "calc", [ADD], maxAttempts=2)
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_event()
        status, reply = w.post(ev["callId"], "failure", {"error": "database down", "retryAfterMs": 200})
        self.assertEqual((status, reply["status"]), (200, "will be retried"))
        t0 = time.time()
        again = inst.next_event()
        self.assertGreaterEqual(time.time() - t0, 0.15)
        self.assertEqual((again["callId"], again["attempt"]), (ev["callId"], 2))
        status, reply = w.post(ev["callId"], "failure", {"error": "database still down"})
        self.assertEqual(reply["status"], "dead-lettered")
        result = messages(resp)[-1]["result"]
        self.assertTrue(result["isError"])
        self.assertIn("failed this call 2 times", result["content"][0]["text"])
        self.assertIn("database still down", result["content"][0]["text"])
        d = w.describe()
        self.assertEqual((d["deadLettered"], d["openCalls"]), (1, 0))

    def test_suspend_holds_delivery_for_the_time_asked_and_no_longer(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_event()
        t0 = time.time()
        status, reply = w.post(ev["callId"], "suspend", {"ms": 800})
        self.assertEqual((status, reply["status"]), (200, "suspended"))
        again = inst.next_event()
        waited = time.time() - t0
        self.assertGreaterEqual(waited, 0.75)
        self.assertLess(waited, 1.6)
        self.assertEqual((again["callId"], again["attempt"]), (ev["callId"], 1))  # not a failed attempt
        w.post(again["callId"], "result", text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_an_instance_reconnecting_under_its_id_takes_over(self):
        w = Worker(self.srv, "calc", [ADD])
        old = w.connect("same")
        new = w.connect("same")
        self.assertEqual([i["id"] for i in w.describe()["instances"]], ["same"])
        old.settimeout(5)
        self.assertEqual(list(old.events), [])  # the old stream was closed
        resp = self.start_call(1)
        ev = new.next_event()
        w.post(ev["callId"], "result", text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_extend_keeps_a_call_from_being_delivered_again(self):
        w = Worker(self.srv, "calc", [ADD], invisibilityMs=600)
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_event()
        self.assertEqual(w.post(ev["callId"], "extend", {"ms": 3000})[0], 200)
        inst.settimeout(1.5)
        with self.assertRaises(socket.timeout):
            inst.next_event()
        w.post(ev["callId"], "result", text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_a_cancelled_request_reaches_the_worker_and_gets_no_response(self):
        w = Worker(self.srv, "calc", [SLOW])
        inst = w.connect()
        resp = self.start_call(7, name="slow", arguments={})
        ev = inst.next_event()
        self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 7, "reason": "changed my mind"}},
                         {"Mcp-Session-Id": self.sid})
        cancel = inst.next_event()
        self.assertEqual(cancel, {"type": "cancel", "callId": ev["callId"], "reason": "the client cancelled the request"})
        self.assertEqual([m for m in messages(resp) if "id" in m], [])
        status, reply = w.post(ev["callId"], "result", text_result("late"))
        self.assertEqual((status, reply["status"]), (200, "already finished"))

    def test_a_worker_serves_resources_and_prompts_too(self):
        w = Worker(self.srv, "docs", [], resources=[{"uri": "docs://readme", "name": "readme", "mimeType": "text/plain"}],
                   prompts=[{"name": "summarize", "arguments": [{"name": "topic"}]}])
        inst = w.connect()
        h = {"Mcp-Session-Id": self.sid}

        def rpc(id, method, params):
            return self.srv.open("POST", {"jsonrpc": "2.0", "id": id, "method": method, "params": params}, h)

        listed = messages(rpc(1, "resources/list", {}))[-1]["result"]["resources"]
        self.assertIn("docs://readme", [r["uri"] for r in listed])
        resp = rpc(2, "resources/read", {"uri": "docs://readme"})
        ev = inst.next_event()
        self.assertEqual((ev["method"], ev["params"]), ("resources/read", {"uri": "docs://readme"}))
        contents = {"contents": [{"uri": "docs://readme", "mimeType": "text/plain", "text": "hello"}]}
        self.assertEqual(w.post(ev["callId"], "result", {"result": contents})[0], 200)
        self.assertEqual(messages(resp)[-1]["result"], contents)

        listed = messages(rpc(3, "prompts/list", {}))[-1]["result"]["prompts"]
        self.assertIn("summarize", [p["name"] for p in listed])
        resp = rpc(4, "prompts/get", {"name": "summarize", "arguments": {"topic": "lite topics"}})
        ev = inst.next_event()
        self.assertEqual(ev["method"], "prompts/get")
        self.assertEqual(ev["params"]["arguments"], {"topic": "lite topics"})
        prompt = {"messages": [{"role": "user", "content": {"type": "text", "text": "Summarize lite topics"}}]}
        w.post(ev["callId"], "result", {"result": prompt})
        self.assertEqual(messages(resp)[-1]["result"], prompt)

    def test_a_call_past_its_deadline_fails_and_its_instance_is_told(self):
        w = Worker(self.srv, "calc", [ADD], callTimeoutMs=500)
        inst = w.connect()
        t0 = time.time()
        resp = self.start_call(1)
        ev = inst.next_event()
        cancel = inst.next_event()
        self.assertEqual((cancel["type"], cancel["callId"], cancel["reason"]), ("cancel", ev["callId"], "the call timed out"))
        result = messages(resp)[-1]["result"]
        self.assertGreaterEqual(time.time() - t0, 0.45)
        self.assertTrue(result["isError"])
        self.assertIn("did not answer within 500 ms", result["content"][0]["text"])

    def test_deregistration_fails_open_calls_and_removes_the_tools(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        inst.next_event()
        status, _, _ = self.srv.request("DELETE", headers=w.auth(), path="/workers/calc")
        self.assertEqual(status, 200)
        result = messages(resp)[-1]["result"]
        self.assertTrue(result["isError"])
        self.assertIn("deregistered", result["content"][0]["text"])
        self.assertNotIn("add", tool_names(self.srv, self.sid))
        self.assertEqual(self.srv.request("GET", headers=w.auth(), path="/workers/calc")[0], 404)


class Oversized(WorkerTest):
    args = ("--sse-queue-bytes", "8192")

    def test_a_call_too_large_for_a_stream_is_dead_lettered_not_looped(self):
        w = Worker(self.srv, "calc", [SLOW], maxAttempts=2)
        a, b = w.connect("a"), w.connect("b")
        resp = self.start_call(1, name="slow", arguments={"blob": "x" * 20000})
        result = messages(resp)[-1]["result"]
        self.assertTrue(result["isError"])
        self.assertIn("larger than a stream may queue", result["content"][0]["text"])
        d = w.describe()
        self.assertEqual((d["deadLettered"], d["instances"]), (1, []))


class Liveness(WorkerTest):
    args = ("--worker-offline-grace-ms", "400")

    def test_an_offline_worker_leaves_the_list_and_its_calls_fail_fast(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        g = self.srv.open("GET", headers={"Mcp-Session-Id": self.sid, "Accept": "text/event-stream"})
        stream = events(g)
        next(stream)  # priming
        inst.close()
        self.assertTrue(wait_until(lambda: not w.describe()["online"], timeout=5))
        self.assertNotIn("add", tool_names(self.srv, self.sid))
        self.assertEqual(json.loads(next(stream)["data"])["method"], "notifications/tools/list_changed")
        t0 = time.time()
        result = messages(self.start_call(1))[-1]["result"]
        self.assertLess(time.time() - t0, 2)
        self.assertTrue(result["isError"])
        self.assertIn("offline", result["content"][0]["text"])
        # Back: listed again before the instance hears "attached" (connect()
        # returns with that event), so a listing right after finds the tool.
        w.connect()
        self.assertIn("add", tool_names(self.srv, self.sid))
        self.assertEqual(json.loads(next(stream)["data"])["method"], "notifications/tools/list_changed")
        g._conn.close()

    def test_a_worker_that_queues_while_offline_gets_its_calls_when_it_returns(self):
        w = Worker(self.srv, "calc", [ADD], queueWhileOffline=True)
        w.connect().close()
        self.assertTrue(wait_until(lambda: not w.describe()["online"], timeout=5))
        resp = self.start_call(1)
        time.sleep(0.3)
        self.assertEqual(w.describe()["openCalls"], 1)
        inst = w.connect()
        ev = inst.next_event()
        w.post(ev["callId"], "result", text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")


class Expiry(WorkerTest):
    args = ("--worker-offline-grace-ms", "200", "--worker-offline-expiry-ms", "1500")

    def test_an_offline_worker_expires_and_an_attached_one_does_not(self):
        gone = Worker(self.srv, "calc", [ADD])
        kept = Worker(self.srv, "kept", [SLOW])
        inst = kept.connect()
        self.assertTrue(wait_until(lambda: not gone.describe()["online"], timeout=5))
        self.assertGreater(gone.describe()["offlineSinceMs"], 0)
        self.assertIsNone(kept.describe()["offlineSinceMs"])
        time.sleep(0.5)
        self.assertEqual(self.srv.request("GET", path="/admin/workers/calc")[0], 200)  # not yet
        self.assertTrue(wait_until(lambda: self.srv.request("GET", path="/admin/workers/calc")[0] == 404, timeout=5))
        self.assertEqual(self.srv.request("GET", headers=gone.auth(), path="/workers/calc")[0], 404)
        self.assertTrue(kept.describe()["online"])
        inst.close()

    def test_counters_survive_a_stop_and_a_kill_9(self):
        srv = Server(BINARY, []).start()
        try:
            sid, _ = srv.initialize()
            w = Worker(srv, "calc", [ADD])

            def one_call(i):
                inst = w.connect()
                resp = srv.open("POST", *call(sid, i, "add", {"a": i, "b": i}))
                ev = inst.next_event()
                w.post(ev["callId"], "result", text_result(str(2 * i)))
                messages(resp)
                inst.close()

            def counts():
                d = w.describe()
                return d["delivered"], d["answered"]

            one_call(1)
            one_call(2)
            self.assertEqual(counts(), (2, 2))
            srv.stop()  # saved at a graceful stop
            srv.start()
            self.assertEqual(counts(), (2, 2))
            one_call(3)
            time.sleep(1.5)  # past the save interval
            srv.kill9()
            srv.start()
            self.assertEqual(counts(), (3, 3))
        finally:
            srv.cleanup()

    def test_calls_survive_kill_9_of_litemcp_and_the_client_resumes_to_the_result(self):
        srv = Server(BINARY, ["--worker-offline-grace-ms", "5000", "--log-level", os.environ.get("LOGLEVEL", "warn")]).start()
        try:
            sid, _ = srv.initialize()
            w = Worker(srv, "calc", [ADD], queueWhileOffline=True)
            delivered = w.connect()
            # One call delivered to an instance, one still queued behind it.
            first = srv.open("POST", *call(sid, 1, "add", {"a": 1, "b": 1}))
            ev1 = delivered.next_event()
            second = srv.open("POST", *call(sid, 2, "add", {"a": 2, "b": 2}))
            primings = []
            for r in (first, second):
                primings.append(next(events(r))["id"])
            # Both are queued (a request still being queued when the server
            # dies is lost, like any request in flight).
            self.assertTrue(wait_until(lambda: w.describe()["openCalls"] == 2))
            srv.kill9()
            delivered.close()

            srv.start()  # same data folder
            inst = w.connect()
            got = {}
            for _ in range(2):  # one at a time: concurrency 1
                ev = inst.next_event()
                got[ev["arguments"]["a"]] = ev
                w.post(ev["callId"], "result", text_result(str(2 * ev["arguments"]["a"])))
            self.assertEqual(got[1]["callId"], ev1["callId"])
            self.assertEqual(got[1]["attempt"], 2, got)  # delivered once before the crash
            self.assertEqual(got[2]["attempt"], 1)
            for i, last in enumerate(primings):
                g = srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream",
                                             "Last-Event-ID": last})
                msgs = messages(g)
                self.assertEqual(msgs[-1]["id"], i + 1)
                self.assertEqual(msgs[-1]["result"]["content"][0]["text"], str(2 * (i + 1)))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
