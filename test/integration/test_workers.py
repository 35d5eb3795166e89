"""Integration tests of the worker API (tool servers that register with
litemcp and receive calls through their own lite topic), against the real
litemcp binary: an MCP client on one side, workers on the other.

usage: test_workers.py /path/to/litemcp [unittest args]"""

import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, Worker, attempt_of, call, call_meta, events, messages, wait_until  # noqa: E402

BINARY = None

ADD = {"name": "add", "description": "Adds two numbers",
       "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}}
SLOW = {"name": "slow", "description": "Takes its time", "inputSchema": {"type": "object"}}


def text_result(text):
    """A CallToolResult holding one text."""
    return {"content": [{"type": "text", "text": text}]}


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
        inst.next_call()  # delivered, then its credential is "lost"
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
        self.assertEqual(w.answer("nonexistent", text_result("x"))[0], 404)
        # A body that is not a valid message is refused before the call is
        # looked for: 400 naming the field.
        for message, field in [({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"total": 3}}, "progress"),
                               ({"jsonrpc": "2.0", "method": "notifications/message",
                                 "params": {"level": "loud", "data": 1}}, "level"),
                               ({"jsonrpc": "2.0", "id": "c1", "result": 5}, "result"),
                               ({"jsonrpc": "2.0", "method": "io.litemcp/failure", "params": {"error": 7}}, "error"),
                               ({"jsonrpc": "2.0", "method": "io.litemcp/suspend", "params": {"ms": -5}}, "ms"),
                               ({"jsonrpc": "2.0", "method": "io.litemcp/extend", "params": {}}, "ms")]:
            status, reply = w.send("c1", message)
            self.assertEqual(status, 400, (message, reply))
            self.assertIn(field, reply["error"], message)
        status, reply = w.send("c1", raw="{nope")
        self.assertEqual(status, 400, reply)
        status, _ = w.send("c1", {"jsonrpc": "2.0", "id": "c1", "result": text_result("x")},
                           headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        self.assertEqual(self.srv.request("GET", path=base + "/calls/c1", headers=w.auth())[0], 405)
        self.assertEqual(w.send("c1", {"jsonrpc": "2.0", "id": "c1", "result": text_result("x")},
                                headers={"Authorization": "Bearer nope"})[0], 403)


class Calls(WorkerTest):
    def test_a_call_reaches_the_worker_and_its_progress_and_result_reach_the_client(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        self.assertIn("add", tool_names(self.srv, self.sid))
        resp = self.start_call(1, progress="p-1")
        ev = inst.next_call()
        self.assertEqual(ev["method"], "tools/call")
        self.assertEqual(ev["params"]["name"], "add")
        self.assertEqual(ev["params"]["arguments"], {"a": 2, "b": 3})
        self.assertEqual(attempt_of(ev), 1)
        self.assertEqual(call_meta(ev)["progressToken"], "p-1")
        self.assertGreater(call_meta(ev)["io.litemcp/deadline"], time.time() * 1000)
        self.assertEqual(w.progress(ev["id"], 1, total=2, message="half", token=call_meta(ev)["progressToken"])[0], 200)
        self.assertEqual(w.log(ev["id"], "info", "adding")[0], 200)
        self.assertEqual(w.answer(ev["id"], text_result("5")), (200, {"callId": ev["id"], "status": "answered"}))
        # The same answer again is harmless.
        status, reply = w.answer(ev["id"], text_result("6"))
        self.assertEqual((status, reply["status"]), (200, "already finished"))
        msgs = messages(resp)
        self.assertEqual([m.get("method") for m in msgs[:-1]], ["notifications/progress", "notifications/message"])
        self.assertEqual(msgs[0]["params"], {"progressToken": "p-1", "progress": 1, "total": 2, "message": "half"})
        self.assertEqual(msgs[1]["params"], {"level": "info", "data": "adding"})
        self.assertEqual(msgs[-1], {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "5"}]}})
        d = w.describe()
        self.assertEqual((d["delivered"], d["answered"], d["openCalls"]), (1, 1, 0))

    def test_progress_without_the_token_goes_out_under_the_client_s_own(self):
        # The token in the worker's notification is optional: litemcp knows the call's.
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1, progress="p-2")
        ev = inst.next_call()
        self.assertEqual(w.progress(ev["id"], 3)[0], 200)
        # Fields litemcp does not use (a later revision's, _meta) are ignored.
        status, reply = w.send(ev["id"], {"jsonrpc": "2.0", "method": "notifications/progress",
                                          "params": {"progressToken": "p-2", "progress": 4, "total": None,
                                                     "x.example/eta": 5, "_meta": {"k": 1}}})
        self.assertEqual(status, 200, reply)
        w.answer(ev["id"], text_result("5"))
        msgs = messages(resp)
        self.assertEqual(msgs[0]["params"], {"progressToken": "p-2", "progress": 3})
        self.assertEqual(msgs[1]["params"], {"progressToken": "p-2", "progress": 4})

    def test_the_wire_shape_of_attached_a_call_and_a_cancellation(self):
        w = Worker(self.srv, "calc", [ADD], concurrency=2)
        inst = w.connect("shape-1")
        self.assertEqual(inst.attached, {"jsonrpc": "2.0", "method": "io.litemcp/attached",
                                         "params": {"worker": "calc", "instance": "shape-1"}})
        before = time.time() * 1000
        body, h = call(self.sid, 11, "add", {"a": 2, "b": 3}, meta={"progressToken": "tok-11", "x.example/trace": "t-1"})
        resp = self.srv.open("POST", body, h)
        ev = inst.next_call()
        self.assertEqual(set(ev), {"jsonrpc", "id", "method", "params"})
        call_id = ev["id"]
        self.assertIsInstance(call_id, str)
        self.assertTrue(call_id)
        self.assertEqual((ev["jsonrpc"], ev["method"]), ("2.0", "tools/call"))
        self.assertEqual(set(ev["params"]), {"name", "arguments", "_meta"})
        self.assertEqual((ev["params"]["name"], ev["params"]["arguments"]), ("add", {"a": 2, "b": 3}))
        meta = ev["params"]["_meta"]
        deadline = meta.get("io.litemcp/deadline")
        self.assertIsInstance(deadline, int)
        self.assertNotIsInstance(deadline, bool)
        self.assertGreater(deadline, before)
        self.assertEqual(meta, {"progressToken": "tok-11", "x.example/trace": "t-1", "io.litemcp/deliveryId": call_id,
                                "io.litemcp/attempt": 1, "io.litemcp/deadline": deadline})
        # The id is the call id: the one its URL names.
        self.assertEqual(w.extend(call_id, 5000), (200, {"callId": call_id, "status": "extended", "invisibleForMs": 5000}))
        # A call without a _meta of the client's: only litemcp's keys, no progressToken.
        second = self.srv.open("POST", *call(self.sid, 12, "add", {"a": 1, "b": 1}))
        ev2 = inst.next_call()
        self.assertNotEqual(ev2["id"], call_id)
        self.assertEqual(set(call_meta(ev2)), {"io.litemcp/deliveryId", "io.litemcp/attempt", "io.litemcp/deadline"})
        self.assertEqual(call_meta(ev2)["io.litemcp/deliveryId"], ev2["id"])
        # The client cancels the first: notifications/cancelled naming the call id.
        self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 11, "reason": "changed my mind"}},
                         {"Mcp-Session-Id": self.sid})
        self.assertEqual(inst.next_message(), {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                               "params": {"requestId": call_id,
                                                          "reason": "the client cancelled the request"}})
        resp._conn.close()
        w.answer(ev2["id"], text_result("2"))
        self.assertEqual(messages(second)[-1]["result"]["content"][0]["text"], "2")

    def test_bad_answers_are_refused_and_the_call_stays_open(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        call_id = inst.next_call()["id"]
        cases = [
            ("another call's id", {"jsonrpc": "2.0", "id": call_id + "x", "result": text_result("5")}),
            ("a number for an id", {"jsonrpc": "2.0", "id": 1, "result": text_result("5")}),
            ("no jsonrpc member", {"id": call_id, "result": text_result("5")}),
            ("another jsonrpc version", {"jsonrpc": "1.0", "id": call_id, "result": text_result("5")}),
            ("an unknown notification", {"jsonrpc": "2.0", "method": "notifications/dance", "params": {}}),
            ("a batch", [{"jsonrpc": "2.0", "id": call_id, "result": text_result("5")}]),
            ("neither a request, a response nor a notification", {"jsonrpc": "2.0", "id": call_id}),
            ("both a result and an error", {"jsonrpc": "2.0", "id": call_id, "result": text_result("5"),
                                            "error": {"code": -32000, "message": "no"}}),
        ]
        for what, message in cases:
            status, reply = w.send(call_id, message)
            self.assertEqual(status, 400, (what, reply))
            self.assertTrue(reply["error"], what)
        # The old URLs are gone, and say where their answers go now.
        status, _, text = self.srv.request("POST", {"result": text_result("5")}, w.auth(),
                                           path="/workers/calc/calls/%s/result" % call_id)
        self.assertEqual(status, 410, text)
        self.assertIn("/calls/", json.loads(text)["error"])
        # Nothing above answered the call.
        self.assertEqual(w.describe()["openCalls"], 1)
        self.assertEqual(w.answer(call_id, text_result("5")), (200, {"callId": call_id, "status": "answered"}))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_a_json_rpc_error_from_the_worker_reaches_the_client_as_its_error(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_call()
        status, reply = w.error(ev["id"], -32042, "quota exceeded", data={"retryInS": 30})
        self.assertEqual((status, reply), (200, {"callId": ev["id"], "status": "answered"}))
        self.assertEqual(messages(resp)[-1], {"jsonrpc": "2.0", "id": 1, "error": {
            "code": -32042, "message": "quota exceeded", "data": {"retryInS": 30}}})
        status, reply = w.answer(ev["id"], text_result("late"))
        self.assertEqual((status, reply["status"]), (200, "already finished"))
        self.assertEqual(w.describe()["answered"], 1)

    def test_a_ping_from_the_worker_is_answered_by_litemcp(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_call()
        self.assertEqual(w.ask(ev["id"], 1, "ping"), (200, {"jsonrpc": "2.0", "id": 1, "result": {}}))
        self.assertEqual(w.ask(ev["id"], "p-2", "ping", {}), (200, {"jsonrpc": "2.0", "id": "p-2", "result": {}}))
        w.answer(ev["id"], text_result("5"))
        msgs = messages(resp)
        self.assertEqual([m for m in msgs if m.get("method") == "ping"], [])  # the client heard nothing of it
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "5")

    def test_sampling_from_the_worker_reaches_the_client_and_its_answer_the_worker(self):
        sid, _ = self.srv.initialize(capabilities={"sampling": {}})
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.srv.open("POST", *call(sid, 5, "add", {"a": 2, "b": 3}))
        stream = events(resp)
        ev = inst.next_call()
        sampling = {"messages": [{"role": "user", "content": {"type": "text", "text": "two plus three?"}}],
                    "maxTokens": 20}
        asked = {}
        # The worker's POST is answered when the client answers: in a thread.
        t = threading.Thread(target=lambda: asked.update(
            answer=w.ask(ev["id"], "s-1", "sampling/createMessage", sampling)))
        t.start()
        request = None
        for e in stream:
            if e.get("data"):
                request = json.loads(e["data"])
                break
        self.assertIsNotNone(request, "the client's stream ended without the sampling request")
        self.assertEqual((request["jsonrpc"], request["method"]), ("2.0", "sampling/createMessage"), request)
        self.assertIn("id", request)
        self.assertEqual(request["params"]["messages"], sampling["messages"])
        self.assertEqual(request["params"]["maxTokens"], 20)
        self.assertTrue(t.is_alive(), asked)  # still waiting for the client
        answer = {"role": "assistant", "content": {"type": "text", "text": "five"}, "model": "m-1"}
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": request["id"], "result": answer},
                                           {"Mcp-Session-Id": sid})
        self.assertEqual(status, 202, text)
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(asked["answer"], (200, {"jsonrpc": "2.0", "id": "s-1", "result": answer}))
        w.answer(ev["id"], text_result("model said five"))
        rest = [json.loads(e["data"]) for e in stream if e.get("data")]
        self.assertEqual(rest[-1], {"jsonrpc": "2.0", "id": 5,
                                    "result": {"content": [{"type": "text", "text": "model said five"}]}})

    def test_sampling_for_a_client_without_the_capability_is_a_json_rpc_error(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)  # self.sid declared no capabilities
        ev = inst.next_call()
        status, reply = w.ask(ev["id"], 9, "sampling/createMessage",
                              {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
                               "maxTokens": 5})
        self.assertEqual(status, 200, reply)
        self.assertEqual((reply["jsonrpc"], reply["id"]), ("2.0", 9), reply)
        self.assertNotIn("result", reply)
        self.assertIsInstance(reply["error"]["code"], int)
        self.assertTrue(reply["error"]["message"])
        w.answer(ev["id"], text_result("5"))
        msgs = messages(resp)
        self.assertEqual([m for m in msgs if m.get("method") == "sampling/createMessage"], [])
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "5")

    def test_arguments_are_checked_against_the_workers_schema_before_it_sees_them(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        msgs = messages(self.start_call(1, arguments={"a": "two"}))
        self.assertTrue(msgs[-1]["result"]["isError"])
        self.assertIn("a", msgs[-1]["result"]["content"][0]["text"])
        inst.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            inst.next_message()

    def test_a_result_that_is_not_a_call_tool_result_is_refused(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_call()
        status, reply = w.answer(ev["id"], {"value": 5})
        self.assertEqual(status, 400)
        self.assertIn("content", reply["error"])
        w.answer(ev["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_several_instances_share_the_queue_each_call_goes_to_one(self):
        w = Worker(self.srv, "calc", [ADD], concurrency=1)
        a, b = w.connect("a"), w.connect("b")
        r1, r2 = self.start_call(1), self.start_call(2)
        e1, e2 = a.next_call(), b.next_call()
        self.assertNotEqual(e1["id"], e2["id"])
        w.answer(e1["id"], text_result("a"))
        w.answer(e2["id"], text_result("b"))
        self.assertEqual({messages(r1)[-1]["result"]["content"][0]["text"],
                          messages(r2)[-1]["result"]["content"][0]["text"]}, {"a", "b"})
        self.assertEqual(sorted(i["id"] for i in w.describe()["instances"]), ["a", "b"])

    def test_a_killed_instance_s_call_is_delivered_to_another_and_answered_once(self):
        w = Worker(self.srv, "calc", [ADD], invisibilityMs=1000)
        first = w.connect("first")
        resp = self.start_call(1)
        ev = first.next_call()
        first.close()  # killed mid-call
        second = w.connect("second")
        t0 = time.time()
        again = second.next_call()
        self.assertGreater(time.time() - t0, 0.5)  # only after the invisibility timeout
        self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 2))
        self.assertEqual(call_meta(again)["io.litemcp/deliveryId"], ev["id"])  # the same on every attempt
        w.answer(again["id"], text_result("5"))
        msgs = messages(resp)
        self.assertEqual(sum(1 for m in msgs if "result" in m), 1)
        self.assertEqual(w.describe()["redelivered"], 1)

    def test_failures_are_retried_then_dead_lettered_with_a_clear_tool_error(self):
        w = Worker(self.srv, "calc", [ADD], maxAttempts=2)
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_call()
        status, reply = w.fail(ev["id"], "database down", retry_after_ms=200)
        self.assertEqual((status, reply["status"]), (200, "will be retried"))
        t0 = time.time()
        again = inst.next_call()
        self.assertGreaterEqual(time.time() - t0, 0.15)
        self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 2))
        status, reply = w.fail(ev["id"], "database still down")
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
        ev = inst.next_call()
        t0 = time.time()
        status, reply = w.suspend(ev["id"], 800)
        self.assertEqual((status, reply["status"]), (200, "suspended"))
        again = inst.next_call()
        waited = time.time() - t0
        self.assertGreaterEqual(waited, 0.75)
        self.assertLess(waited, 1.6)
        self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 1))  # not a failed attempt
        w.answer(again["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_an_instance_reconnecting_under_its_id_takes_over(self):
        w = Worker(self.srv, "calc", [ADD])
        old = w.connect("same")
        new = w.connect("same")
        self.assertEqual([i["id"] for i in w.describe()["instances"]], ["same"])
        old.settimeout(5)
        self.assertEqual(list(old.events), [])  # the old stream was closed
        resp = self.start_call(1)
        ev = new.next_call()
        w.answer(ev["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_extend_keeps_a_call_from_being_delivered_again(self):
        w = Worker(self.srv, "calc", [ADD], invisibilityMs=600)
        inst = w.connect()
        resp = self.start_call(1)
        ev = inst.next_call()
        self.assertEqual(w.extend(ev["id"], 3000)[0], 200)
        inst.settimeout(1.5)
        with self.assertRaises(socket.timeout):
            inst.next_message()
        w.answer(ev["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_a_cancelled_request_reaches_the_worker_and_gets_no_response(self):
        w = Worker(self.srv, "calc", [SLOW])
        inst = w.connect()
        resp = self.start_call(7, name="slow", arguments={})
        ev = inst.next_call()
        self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 7, "reason": "changed my mind"}},
                         {"Mcp-Session-Id": self.sid})
        self.assertEqual(inst.next_cancel(), {"requestId": ev["id"], "reason": "the client cancelled the request"})
        self.assertEqual([m for m in messages(resp) if "id" in m], [])
        status, reply = w.answer(ev["id"], text_result("late"))
        self.assertEqual((status, reply["status"]), (200, "already finished"))

    def test_a_worker_serves_resources_and_prompts_too(self):
        w = Worker(self.srv, "docs", [], resources=[{"uri": "docs://readme", "name": "readme", "mimeType": "text/plain"}],
                   prompts=[{"name": "summarize", "arguments": [{"name": "topic"}]}])
        inst = w.connect()
        h = {"Mcp-Session-Id": self.sid}

        def rpc(id, method, params):
            return self.srv.open("POST", {"jsonrpc": "2.0", "id": id, "method": method, "params": params}, h)

        def without_meta(params):
            return {k: v for k, v in params.items() if k != "_meta"}

        listed = messages(rpc(1, "resources/list", {}))[-1]["result"]["resources"]
        self.assertIn("docs://readme", [r["uri"] for r in listed])
        resp = rpc(2, "resources/read", {"uri": "docs://readme"})
        ev = inst.next_call()
        self.assertEqual((ev["method"], without_meta(ev["params"])), ("resources/read", {"uri": "docs://readme"}))
        self.assertEqual((call_meta(ev)["io.litemcp/deliveryId"], attempt_of(ev)), (ev["id"], 1))
        contents = {"contents": [{"uri": "docs://readme", "mimeType": "text/plain", "text": "hello"}]}
        self.assertEqual(w.answer(ev["id"], contents)[0], 200)
        self.assertEqual(messages(resp)[-1]["result"], contents)

        listed = messages(rpc(3, "prompts/list", {}))[-1]["result"]["prompts"]
        self.assertIn("summarize", [p["name"] for p in listed])
        resp = rpc(4, "prompts/get", {"name": "summarize", "arguments": {"topic": "lite topics"}})
        ev = inst.next_call()
        self.assertEqual(ev["method"], "prompts/get")
        self.assertEqual(without_meta(ev["params"]), {"name": "summarize", "arguments": {"topic": "lite topics"}})
        prompt = {"messages": [{"role": "user", "content": {"type": "text", "text": "Summarize lite topics"}}]}
        w.answer(ev["id"], prompt)
        self.assertEqual(messages(resp)[-1]["result"], prompt)

    def test_a_call_past_its_deadline_fails_and_its_instance_is_told(self):
        w = Worker(self.srv, "calc", [ADD], callTimeoutMs=500)
        inst = w.connect()
        t0 = time.time()
        resp = self.start_call(1)
        ev = inst.next_call()
        self.assertLessEqual(call_meta(ev)["io.litemcp/deadline"], (t0 + 2) * 1000)
        cancel = inst.next_cancel()
        self.assertEqual((cancel["requestId"], cancel["reason"]), (ev["id"], "the call timed out"))
        result = messages(resp)[-1]["result"]
        self.assertGreaterEqual(time.time() - t0, 0.45)
        self.assertTrue(result["isError"])
        self.assertIn("did not answer within 500 ms", result["content"][0]["text"])

    def test_deregistration_fails_open_calls_and_removes_the_tools(self):
        w = Worker(self.srv, "calc", [ADD])
        inst = w.connect()
        resp = self.start_call(1)
        inst.next_call()
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
        # Back: listed again before the instance hears io.litemcp/attached
        # (connect() returns with that notification), so a listing right after
        # finds the tool.
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
        ev = inst.next_call()
        w.answer(ev["id"], text_result("5"))
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
                ev = inst.next_call()
                w.answer(ev["id"], text_result(str(2 * i)))
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
            ev1 = delivered.next_call()
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
                ev = inst.next_call()
                a = ev["params"]["arguments"]["a"]
                got[a] = ev
                w.answer(ev["id"], text_result(str(2 * a)))
            self.assertEqual(got[1]["id"], ev1["id"])
            self.assertEqual(attempt_of(got[1]), 2, got)  # delivered once before the crash
            self.assertEqual(attempt_of(got[2]), 1)
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
