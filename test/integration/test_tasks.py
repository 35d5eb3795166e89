"""Integration tests of multi round-trip requests (input_required with a
sealed requestState) and of durable tasks, in both eras: the 2026-07-28 Tasks
extension and the 2025-11-25 experimental tasks, tasks served by a worker,
expiry, isolation, and a task surviving kill -9 of litemcp.

usage: test_tasks.py /path/to/litemcp [unittest args]"""

import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, Worker, call, events, wait_until  # noqa: E402

BINARY = None
V = "2026-07-28"
EXT = "io.modelcontextprotocol/tasks"
CAPS = {"elicitation": {}, "sampling": {}, "roots": {}}
TASK_CAPS = dict(CAPS, extensions={EXT: {}})


def request(id, method, params=None, caps=None):
    p = dict(params or {})
    p["_meta"] = {"io.modelcontextprotocol/protocolVersion": V,
                  "io.modelcontextprotocol/clientCapabilities": CAPS if caps is None else caps}
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": p}


def headers(method, name=None):
    h = {"MCP-Protocol-Version": V, "Mcp-Method": method, "Accept": "application/json, text/event-stream"}
    if name is not None:
        h["Mcp-Name"] = name
    return h


def post(srv, body):
    """A 2026-07-28 request with the headers its body implies; (status, message)."""
    p = body["params"]
    name = p.get("name", p.get("uri", p.get("taskId")))
    status, r, text = srv.request("POST", body, headers(body["method"], name))
    if r.getheader("Content-Type", "").startswith("text/event-stream"):
        return status, [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: ")][-1]
    return status, json.loads(text)


def tool(srv, id, name, arguments=None, caps=None, **extra):
    return post(srv, request(id, "tools/call", dict({"name": name, "arguments": arguments or {}}, **extra), caps))


def task_call(srv, id, method, task_id, caps=TASK_CAPS, **params):
    return post(srv, request(id, method, dict({"taskId": task_id}, **params), caps))


def poll(srv, task_id, until, timeout=15):
    seen = {}

    def check():
        _, m = task_call(srv, 99, "tasks/get", task_id)
        seen["last"] = m
        return m.get("result", {}).get("status") in until
    wait_until(check, timeout=timeout, every=0.1)
    return seen["last"]["result"]


ACCEPT_ALICE = {"action": "accept", "content": {"name": "Alice"}}


class InputRequired(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BINARY, ["--request-state-ttl-ms", "1500"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def round1(self, name="test_input_required_result_request_state"):
        status, m = tool(self.srv, 1, name)
        self.assertEqual(status, 200)
        res = m["result"]
        self.assertEqual(res["resultType"], "input_required")
        return res

    def test_two_rounds_carry_the_answers_in_the_sealed_state(self):
        r1 = self.round1("test_input_required_result_multi_round")
        self.assertEqual(list(r1["inputRequests"]), ["step1"])
        self.assertEqual(r1["inputRequests"]["step1"]["method"], "elicitation/create")
        _, m = tool(self.srv, 2, "test_input_required_result_multi_round", requestState=r1["requestState"],
                    inputResponses={"step1": ACCEPT_ALICE})
        r2 = m["result"]
        self.assertEqual((r2["resultType"], list(r2["inputRequests"])), ("input_required", ["step2"]))
        self.assertNotEqual(r2["requestState"], r1["requestState"])
        # the third round sends only step2's answer: step1's is in the state
        _, m = tool(self.srv, 3, "test_input_required_result_multi_round", requestState=r2["requestState"],
                    inputResponses={"step2": {"action": "accept", "content": {"color": "blue"}}})
        self.assertEqual(m["result"]["resultType"], "complete")
        self.assertEqual(m["result"]["content"][0]["text"], "Alice likes blue")

    def test_a_tampered_state_is_refused(self):
        state = self.round1()["requestState"]
        answers = {"confirm": {"action": "accept", "content": {"ok": True}}}
        body, mac = state.rsplit(".", 1)
        flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
        for bad in (state + "-TAMPERED", flipped + "." + mac, "not-a-state", body + ".AAAA"):
            status, m = tool(self.srv, 2, "test_input_required_result_request_state", requestState=bad,
                             inputResponses=answers)
            self.assertEqual((status, m["error"]["code"]), (400, -32602), bad)
            self.assertIn("requestState", m["error"]["message"])
        status, m = tool(self.srv, 3, "test_input_required_result_request_state", requestState=state,
                         inputResponses=answers)
        self.assertEqual(m["result"]["content"][0]["text"], "state-ok: confirmed=true")

    def test_a_state_is_bound_to_its_method_and_arguments(self):
        state = self.round1("test_input_required_result_elicitation")["requestState"]
        status, m = tool(self.srv, 2, "test_input_required_result_elicitation", {"unexpected": 1},
                         requestState=state, inputResponses={"user_name": ACCEPT_ALICE})
        self.assertEqual((status, m["error"]["code"]), (400, -32602))
        self.assertIn("another request", m["error"]["message"])

    def test_an_expired_state_is_refused(self):
        state = self.round1()["requestState"]
        time.sleep(1.7)  # --request-state-ttl-ms 1500
        status, m = tool(self.srv, 2, "test_input_required_result_request_state", requestState=state,
                         inputResponses={"confirm": {"action": "accept", "content": {"ok": True}}})
        self.assertEqual((status, m["error"]["code"]), (400, -32602))
        self.assertIn("expired", m["error"]["message"])

    def test_malformed_input_responses_are_invalid_params(self):
        for bad in (None, [], {"user_name": 12345}):
            status, m = tool(self.srv, 2, "test_input_required_result_elicitation", inputResponses=bad)
            self.assertEqual((status, m["error"]["code"]), (400, -32602), bad)

    def test_only_declared_capabilities_are_asked_for_and_missing_ones_are_32021(self):
        _, m = tool(self.srv, 1, "test_input_required_result_capabilities", caps={"sampling": {}})
        self.assertEqual([r["method"] for r in m["result"]["inputRequests"].values()], ["sampling/createMessage"])
        status, m = tool(self.srv, 2, "test_missing_capability", caps={})
        self.assertEqual((status, m["error"]["code"]), (400, -32021))
        self.assertEqual(m["error"]["data"], {"requiredCapabilities": {"sampling": {}}})

    def test_the_same_handler_sends_real_requests_on_a_legacy_session(self):
        sid, _ = self.srv.initialize(capabilities={"elicitation": {}})
        body, h = call(sid, 5, "test_input_required_result_elicitation")
        r = self.srv.open("POST", body, h)
        it = (json.loads(e["data"]) for e in events(r) if e.get("data"))
        asked = next(it)
        self.assertEqual((asked["method"], asked["params"]["message"]), ("elicitation/create", "What is your name?"))
        status, _, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": asked["id"], "result": ACCEPT_ALICE},
                                        {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
        self.assertEqual(status, 202)
        final = next(it)
        self.assertEqual(final["result"]["content"][0]["text"], "Hello, Alice!")


class SharedKey(unittest.TestCase):
    def test_nodes_sharing_a_key_continue_each_other_s_requests_and_others_refuse(self):
        key = ["--request-state-key", "a-shared-secret-of-the-deployment"]
        a, b, c = Server(BINARY, key).start(), Server(BINARY, key).start(), Server(BINARY).start()
        try:
            _, m = tool(a, 1, "test_input_required_result_request_state")
            state = m["result"]["requestState"]
            answers = {"confirm": {"action": "accept", "content": {"ok": True}}}
            _, m = tool(b, 2, "test_input_required_result_request_state", requestState=state, inputResponses=answers)
            self.assertEqual(m["result"]["resultType"], "complete")
            status, m = tool(c, 3, "test_input_required_result_request_state", requestState=state,
                             inputResponses=answers)
            self.assertEqual((status, m["error"]["code"]), (400, -32602))
            # without a configured key each node made one in its data folder
            # (on JetStream: in its store, test_servers_sharing_a_store_...)
            if not os.environ.get("TEST_NATS_SERVERS"):
                self.assertTrue(os.path.exists(os.path.join(c.data, "request-state.key")))
        finally:
            for s in (a, b, c):
                s.cleanup()

    @unittest.skipUnless(os.environ.get("TEST_NATS_SERVERS"), "servers share a store only on JetStream")
    def test_servers_sharing_a_store_share_the_key_without_configuring_it(self):
        a = Server(BINARY).start()
        b = Server(BINARY, data=a.data).start()  # the same data folder: the same streams and buckets
        try:
            _, m = tool(a, 1, "test_input_required_result_request_state")
            answers = {"confirm": {"action": "accept", "content": {"ok": True}}}
            _, m = tool(b, 2, "test_input_required_result_request_state", requestState=m["result"]["requestState"],
                        inputResponses=answers)
            self.assertEqual(m["result"]["resultType"], "complete")
        finally:
            b.cleanup()
            a.cleanup()


class ModernTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BINARY, ["--task-ttl-ms", "4000"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def create(self, name="slow_compute", arguments=None):
        status, m = tool(self.srv, 1, name, arguments if arguments is not None else {"seconds": 1}, caps=TASK_CAPS)
        self.assertEqual(status, 200, m)
        res = m["result"]
        self.assertEqual(res["resultType"], "task", res)
        return res

    def test_a_slow_call_becomes_a_task_that_completes(self):
        res = self.create()
        self.assertEqual(res["status"], "working")
        self.assertEqual(res["ttlMs"], 4000)
        for gone in ("task", "result", "requestState", "ttl", "pollInterval"):
            self.assertNotIn(gone, res)
        _, m = task_call(self.srv, 2, "tasks/get", res["taskId"])  # durable before the handle was returned
        self.assertEqual(m["result"]["taskId"], res["taskId"])
        done = poll(self.srv, res["taskId"], ("completed",))
        self.assertEqual(done["resultType"], "complete")
        self.assertIn("computed", done["result"]["content"][0]["text"])

    def test_quick_calls_and_clients_without_the_extension_stay_synchronous(self):
        _, m = tool(self.srv, 1, "slow_compute", {"seconds": 0}, caps=TASK_CAPS)
        self.assertEqual(m["result"]["resultType"], "complete")
        _, m = tool(self.srv, 2, "slow_compute", {"seconds": 0.5}, caps=CAPS)
        self.assertEqual(m["result"]["resultType"], "complete")
        status, m = tool(self.srv, 3, "failing_job", caps=CAPS)  # taskSupport required
        self.assertEqual((status, m["error"]["code"]), (400, -32021))
        self.assertEqual(m["error"]["data"]["requiredCapabilities"], {"extensions": {EXT: {}}})
        for method in ("tasks/get", "tasks/cancel"):
            status, m = task_call(self.srv, 4, method, "whatever", caps=CAPS)
            self.assertEqual((status, m["error"]["code"]), (400, -32021))

    def test_input_through_tasks_update_partial_then_complete(self):
        res = self.create("multi_input", {})
        waiting = poll(self.srv, res["taskId"], ("input_required",))
        self.assertEqual(sorted(waiting["inputRequests"]), ["first", "second"])
        _, m = task_call(self.srv, 2, "tasks/update", res["taskId"],
                         inputResponses={"first": {"action": "accept", "content": {"name": "one"}}, "stray": {}})
        self.assertEqual(m["result"], {"resultType": "complete", "_meta": m["result"]["_meta"]})
        _, m = task_call(self.srv, 3, "tasks/get", res["taskId"])
        self.assertEqual((m["result"]["status"], list(m["result"]["inputRequests"])), ("input_required", ["second"]))
        task_call(self.srv, 4, "tasks/update", res["taskId"],
                  inputResponses={"second": {"action": "accept", "content": {"name": "two"}}})
        done = poll(self.srv, res["taskId"], ("completed",))
        self.assertEqual(done["result"]["content"][0]["text"], 'answers: {"name":"one"}, {"name":"two"}')

    def test_cancel_stops_the_work_and_is_idempotent(self):
        res = self.create("slow_compute", {"seconds": 60})
        started = time.time()
        _, m = task_call(self.srv, 2, "tasks/cancel", res["taskId"])
        self.assertNotIn("status", m["result"])
        self.assertEqual(poll(self.srv, res["taskId"], ("cancelled",))["status"], "cancelled")
        self.assertLess(time.time() - started, 5)
        _, m = task_call(self.srv, 3, "tasks/cancel", res["taskId"])
        self.assertEqual(m["result"]["resultType"], "complete")
        time.sleep(0.3)
        self.assertEqual(poll(self.srv, res["taskId"], ("cancelled",))["status"], "cancelled")  # not overwritten

    def test_failures_and_unknown_ids(self):
        res = self.create("protocol_error_job", {})
        failed = poll(self.srv, res["taskId"], ("failed",))
        self.assertEqual(failed["error"]["code"], -32603)
        self.assertNotIn("result", failed)
        res = self.create("failing_job", {})
        done = poll(self.srv, res["taskId"], ("completed",))
        self.assertTrue(done["result"]["isError"])
        status, m = task_call(self.srv, 5, "tasks/get", "0123456789abcdef0123456789abcdef")
        self.assertEqual(m["error"]["code"], -32602)
        status, m = post(self.srv, request(6, "tasks/result", {"taskId": res["taskId"]}, TASK_CAPS))
        self.assertEqual((status, m["error"]["code"]), (404, -32601))

    def test_a_task_is_removed_when_its_ttl_ends(self):
        res = self.create("slow_compute", {"seconds": 0.5})
        poll(self.srv, res["taskId"], ("completed",))
        status, _, text = self.srv.request("GET", path="/admin/tasks/" + res["taskId"])
        self.assertEqual(status, 200, text)
        wait_until(lambda: task_call(self.srv, 2, "tasks/get", res["taskId"])[1].get("error", {}).get("code") == -32602,
                   timeout=10)
        # the sweep removes its topic and record too
        wait_until(lambda: self.srv.request("GET", path="/admin/topics/mcp.task/" + res["taskId"])[0] == 404, timeout=5)
        self.assertEqual(self.srv.request("GET", path="/admin/tasks/" + res["taskId"])[0], 404)

    def test_the_admin_api_lists_filters_and_pages_tasks(self):
        ids = [self.create("echo_task", {"text": str(i)})["taskId"] for i in range(3)]
        for i in ids:
            poll(self.srv, i, ("completed",))
        seen, after = [], ""
        while True:
            status, _, text = self.srv.request("GET", path="/admin/tasks?status=completed&limit=2" +
                                               ("&after=" + after if after else ""))
            self.assertEqual(status, 200, text)
            page = json.loads(text)
            self.assertLessEqual(len(page["tasks"]), 2)
            seen += [t["taskId"] for t in page["tasks"] if t["tool"] == "echo_task"]
            if "next" not in page:
                break
            after = page["next"]
        self.assertEqual(sorted(set(ids) & set(seen)), sorted(ids))
        status, _, text = self.srv.request("GET", path="/admin/tasks?status=working")
        self.assertNotIn(ids[0], text)
        status, _, text = self.srv.request("GET", path="/admin/tasks?status=bogus")
        self.assertEqual(status, 400)
        status, _, text = self.srv.request("GET", path="/admin/tasks/%s/events" % ids[0])
        events = [e["record"]["event"] for e in json.loads(text)["events"]]
        self.assertEqual((events[0], events[-1]), ("created", "completed"))
        record = json.loads(self.srv.request("GET", path="/admin/tasks/" + ids[0])[2])
        self.assertEqual((record["status"], record["result"]["content"][0]["text"]), ("completed", "0"))

    def test_status_notifications_reach_a_listen_stream_that_named_the_task(self):
        res = self.create("slow_compute", {"seconds": 1})
        c = self.srv.conn(timeout=10)
        body = request(50, "subscriptions/listen", {"notifications": {"taskIds": [res["taskId"], "not-a-task"]}},
                       TASK_CAPS)
        c.request("POST", "/mcp", json.dumps(body), dict(headers("subscriptions/listen"), **{"Content-Type": "application/json"}))
        stream = events(c.getresponse())
        frames = (json.loads(ev["data"]) for ev in stream if ev.get("data"))
        ack = next(frames)
        self.assertEqual(ack["params"]["notifications"], {"taskIds": [res["taskId"]]})  # unknown ids are left out
        while True:
            f = next(frames)
            self.assertEqual(f["method"], "notifications/tasks")
            self.assertEqual(f["params"]["taskId"], res["taskId"])
            self.assertEqual(f["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 50)
            if f["params"]["status"] == "completed":
                self.assertIn("computed", f["params"]["result"]["content"][0]["text"])
                break
        c.close()

    def test_a_worker_s_tool_runs_as_a_task(self):
        w = Worker(self.srv, "slowpoke", [{"name": "slow_report", "inputSchema": {"type": "object"},
                                           "execution": {"taskSupport": "optional"}}])
        res = self.create("slow_report", {})  # no instance yet: it outlives the promotion window
        inst = w.connect()
        ev = inst.next_call()
        self.assertEqual((ev["method"], ev["params"]["name"]), ("tools/call", "slow_report"))
        self.assertEqual(poll(self.srv, res["taskId"], ("working",))["status"], "working")
        status, _ = w.answer(ev["id"], {"content": [{"type": "text", "text": "report ready"}]})
        self.assertEqual(status, 200)
        done = poll(self.srv, res["taskId"], ("completed",))
        self.assertEqual(done["result"]["content"][0]["text"], "report ready")
        inst.close()


class WorkerInput(unittest.TestCase):
    """A tool server's requests (sampling, elicitation) to a client that
    answers input in rounds: a 2026-07-28 call is answered with
    input_required, and its next round takes the answer to the tool server;
    a task waits in input_required."""

    SAMPLING = {"messages": [{"role": "user", "content": {"type": "text", "text": "two plus three?"}}], "maxTokens": 20}
    ANSWER = {"role": "assistant", "content": {"type": "text", "text": "five"}, "model": "m-1"}
    numbers = itertools.count(1)
    ELICIT = {"message": "Your name?", "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BINARY, ["--request-state-ttl-ms", "3000"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def setUp(self):
        n = next(WorkerInput.numbers)
        self.tool_name, self.task_tool = "ask%d" % n, "ask_task%d" % n
        self.w = Worker(self.srv, "asker%d" % n,
                        [{"name": self.tool_name, "inputSchema": {"type": "object"}, "execution": {"taskSupport": "optional"}},
                         {"name": self.task_tool, "inputSchema": {"type": "object"}, "execution": {"taskSupport": "required"}}])
        self.inst = self.w.connect()

    def tearDown(self):
        self.inst.close()

    def in_thread(self, f):
        out = {}
        t = threading.Thread(target=lambda: out.update(value=f()))
        t.start()
        return t, out

    def asks(self, call_id, id, method, params):
        """The worker's request; its HTTP answer comes with the client's."""
        return self.in_thread(lambda: self.w.ask(call_id, id, method, params))

    def test_a_2026_client_answers_a_worker_s_request_in_its_next_round(self):
        first, got = self.in_thread(lambda: tool(self.srv, 1, self.tool_name, {"q": 1}))
        ev = self.inst.next_call()
        waiting, asked = self.asks(ev["id"], "s-1", "sampling/createMessage", self.SAMPLING)
        first.join(10)
        status, m = got["value"]
        res = m["result"]
        self.assertEqual((status, res["resultType"]), (200, "input_required"), m)
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual(req["method"], "sampling/createMessage")
        self.assertEqual(req["params"]["messages"], self.SAMPLING["messages"])
        self.assertTrue(waiting.is_alive())  # the worker waits for the client's next round
        second, got = self.in_thread(lambda: tool(self.srv, 2, self.tool_name, {"q": 1}, requestState=res["requestState"],
                                                  inputResponses={key: self.ANSWER}))
        waiting.join(10)
        self.assertEqual(asked["value"], (200, {"jsonrpc": "2.0", "id": "s-1", "result": self.ANSWER}))
        self.assertEqual(self.w.answer(ev["id"], {"content": [{"type": "text", "text": "it said five"}]})[0], 200)
        second.join(10)
        status, m = got["value"]
        self.assertEqual(m["result"]["resultType"], "complete", m)
        self.assertEqual(m["result"]["content"][0]["text"], "it said five")
        self.assertEqual(m["id"], 2)
        self.assertEqual(self.w.describe()["redelivered"], 0)  # one delivery throughout

    def test_two_requests_at_once_are_asked_one_round_each(self):
        first, got = self.in_thread(lambda: tool(self.srv, 1, self.tool_name, {}))
        ev = self.inst.next_call()
        a, asked_a = self.asks(ev["id"], "s-1", "sampling/createMessage", self.SAMPLING)
        first.join(10)
        res = got["value"][1]["result"]
        b, asked_b = self.asks(ev["id"], "e-1", "elicitation/create", self.ELICIT)
        time.sleep(0.3)  # the second request waits for the first's round
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual(req["method"], "sampling/createMessage")
        _, m = tool(self.srv, 2, self.tool_name, {}, requestState=res["requestState"], inputResponses={key: self.ANSWER})
        res = m["result"]
        self.assertEqual(res["resultType"], "input_required", m)
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual(req["method"], "elicitation/create")
        a.join(10)
        self.assertEqual(asked_a["value"][1]["result"], self.ANSWER)
        self.assertTrue(b.is_alive())
        last, got = self.in_thread(lambda: tool(self.srv, 3, self.tool_name, {}, requestState=res["requestState"],
                                                inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}}))
        b.join(10)
        self.assertEqual(asked_b["value"][1]["result"]["content"], {"name": "Ada"})
        self.w.answer(ev["id"], {"content": [{"type": "text", "text": "both"}]})
        last.join(10)
        self.assertEqual(got["value"][1]["result"]["content"][0]["text"], "both")

    def test_an_answer_given_between_rounds_is_the_next_round_s(self):
        first, got = self.in_thread(lambda: tool(self.srv, 1, self.tool_name, {}))
        ev = self.inst.next_call()
        waiting, asked = self.asks(ev["id"], "s-1", "sampling/createMessage", self.SAMPLING)
        first.join(10)
        res = got["value"][1]["result"]
        self.w.answer(ev["id"], {"content": [{"type": "text", "text": "did without"}]})
        [(key, _)] = res["inputRequests"].items()
        _, m = tool(self.srv, 2, self.tool_name, {}, requestState=res["requestState"], inputResponses={key: self.ANSWER})
        self.assertEqual(m["result"]["content"][0]["text"], "did without", m)
        waiting.join(10)
        self.assertIn("error", asked["value"][1])
        # the same round again: nothing waits any more
        _, m = tool(self.srv, 3, self.tool_name, {}, requestState=res["requestState"], inputResponses={key: self.ANSWER})
        self.assertEqual(m["error"]["code"], -32602, m)
        self.assertIn("call the tool again", m["error"]["message"])

    def test_a_client_that_never_comes_back_cancels_the_call(self):
        first, got = self.in_thread(lambda: tool(self.srv, 1, self.tool_name, {}))
        ev = self.inst.next_call()
        waiting, asked = self.asks(ev["id"], "s-1", "sampling/createMessage", self.SAMPLING)
        first.join(10)
        self.assertEqual(got["value"][1]["result"]["resultType"], "input_required")
        waiting.join(10)  # --request-state-ttl-ms 3000
        self.assertFalse(waiting.is_alive())
        status, reply = asked["value"]
        self.assertIn("next round", reply["error"]["message"], reply)
        cancel = self.inst.next_cancel()
        self.assertEqual(cancel["requestId"], ev["id"])

    def test_a_task_waits_in_input_required_and_tasks_update_answers_the_worker(self):
        status, m = tool(self.srv, 1, self.task_tool, {}, caps=TASK_CAPS)
        task = m["result"]
        self.assertEqual(task["resultType"], "task", m)
        ev = self.inst.next_call()
        waiting, asked = self.asks(ev["id"], "e-1", "elicitation/create", self.ELICIT)
        view = poll(self.srv, task["taskId"], ("input_required",))
        [(key, req)] = view["inputRequests"].items()
        self.assertEqual((req["method"], req["params"]["message"]), ("elicitation/create", "Your name?"))
        _, m = task_call(self.srv, 2, "tasks/update", task["taskId"],
                         inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}})
        self.assertIn("result", m)
        waiting.join(10)
        self.assertEqual(asked["value"][1]["result"]["content"], {"name": "Ada"})
        self.assertEqual(poll(self.srv, task["taskId"], ("working",))["status"], "working")
        self.w.answer(ev["id"], {"content": [{"type": "text", "text": "hello Ada"}]})
        done = poll(self.srv, task["taskId"], ("completed",))
        self.assertEqual(done["result"]["content"][0]["text"], "hello Ada")

    def test_a_2025_11_25_task_gets_the_worker_s_request_through_tasks_result(self):
        sid, _ = self.srv.initialize(capabilities={"elicitation": {}})
        h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"}
        _, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": self.tool_name, "arguments": {}, "task": {}}}, h)
        task = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: ") and len(l) > 6][-1]["result"]["task"]
        ev = self.inst.next_call()
        waiting, asked = self.asks(ev["id"], "e-1", "elicitation/create", self.ELICIT)
        r = self.srv.open("POST", {"jsonrpc": "2.0", "id": 3, "method": "tasks/result", "params": {"taskId": task["taskId"]}}, h)
        frames = (json.loads(e["data"]) for e in events(r) if e.get("data"))
        request = next(frames)
        self.assertEqual((request["method"], request["params"]["message"]), ("elicitation/create", "Your name?"))
        self.assertEqual(request["params"]["_meta"]["io.modelcontextprotocol/related-task"], {"taskId": task["taskId"]})
        status, _, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": request["id"],
                                                 "result": {"action": "accept", "content": {"name": "Ada"}}}, h)
        self.assertEqual(status, 202)
        waiting.join(10)
        self.assertEqual(asked["value"][1]["result"]["content"], {"name": "Ada"})
        self.w.answer(ev["id"], {"content": [{"type": "text", "text": "hello Ada"}]})
        final = next(f for f in frames if f.get("id") == 3)
        self.assertEqual(final["result"]["content"][0]["text"], "hello Ada")


class Metrics(unittest.TestCase):
    def test_task_series_count_creations_and_outcomes(self):
        srv = Server(BINARY).start()
        try:
            ids = [tool(srv, i, "echo_task", {"text": "m"}, caps=TASK_CAPS)[1]["result"]["taskId"] for i in range(2)]
            slow = tool(srv, 3, "slow_compute", {"seconds": 60}, caps=TASK_CAPS)[1]["result"]["taskId"]
            for i in ids:
                poll(srv, i, ("completed",))
            task_call(srv, 4, "tasks/cancel", slow)
            text = srv.request("GET", path="/metrics")[2]
            samples = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
            self.assertEqual(float(samples["litemcp_tasks_created_total"]), 3)
            self.assertEqual(float(samples['litemcp_tasks_finished_total{status="completed"}']), 2)
            self.assertEqual(float(samples['litemcp_tasks_finished_total{status="cancelled"}']), 1)
            self.assertEqual(float(samples["litemcp_tasks_active"]), 0)
            self.assertEqual(float(samples["litemcp_tasks_expired_total"]), 0)
        finally:
            srv.cleanup()


class StreamClose(unittest.TestCase):
    def test_closing_a_2026_response_stream_cancels_the_request_and_tells_the_worker(self):
        srv = Server(BINARY).start()
        try:
            w = Worker(srv, "patient", [{"name": "patient_tool", "inputSchema": {"type": "object"}}])
            inst = w.connect()
            body = request(7, "tools/call", {"name": "patient_tool", "arguments": {}})
            body["params"]["_meta"]["progressToken"] = "p7"  # an SSE response
            resp = srv.open("POST", body, headers("tools/call", "patient_tool"))
            self.assertEqual(resp.status, 200)
            ev = inst.next_call()
            self.assertEqual(ev["method"], "tools/call")
            resp._conn.sock.shutdown(2)  # the client goes away
            resp._conn.close()
            self.assertEqual(inst.next_cancel()["requestId"], ev["id"])
            inst.close()
        finally:
            srv.cleanup()

    def test_closing_the_connection_of_a_json_answer_cancels_the_request_too(self):
        srv = Server(BINARY).start()
        try:
            w = Worker(srv, "patient", [{"name": "patient_tool", "inputSchema": {"type": "object"}}])
            inst = w.connect()
            c = srv.conn()
            h = headers("tools/call", "patient_tool")
            h["Content-Type"] = "application/json"
            c.request("POST", "/mcp", body=json.dumps(request(8, "tools/call", {"name": "patient_tool", "arguments": {}})),
                      headers=h)  # no progressToken, no logLevel: a JSON answer
            ev = inst.next_call()
            self.assertEqual(ev["method"], "tools/call")
            # The client goes away before the answer (a FIN: the server's
            # interim 100 Continue finds it gone; test_bounds.py checks that
            # a half-close is answered and that a reset cancels too).
            c.sock.shutdown(2)
            c.close()
            self.assertEqual(inst.next_cancel()["requestId"], ev["id"])
            # The watch ends with the answer: calls that run on the handler
            # pool follow one another on one kept-alive connection.
            c = srv.conn()
            for i in range(3):
                body = request(10 + i, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0, "label": "k%d" % i}})
                c.request("POST", "/mcp", body=json.dumps(body), headers=h | {"Mcp-Name": "slow_compute"})
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                self.assertIn("k%d" % i, r.read().decode())
            c.close()
            inst.close()
        finally:
            srv.cleanup()


class Isolation(unittest.TestCase):
    def test_a_task_belongs_to_the_principal_that_created_it(self):
        folder = tempfile.mkdtemp(prefix="litemcp-tasks-auth-")
        tokens = os.path.join(folder, "tokens.json")
        with open(tokens, "w") as f:
            json.dump([{"token": "alice-token-0123456789", "principal": "alice", "scopes": ["mcp"]},
                       {"token": "bob-token-0123456789", "principal": "bob", "scopes": ["mcp"]}], f)
        srv = Server(BINARY, ["--tokens-file", tokens, "--resource-uri", "http://127.0.0.1/mcp"]).start()
        try:
            def as_(who, body):
                p = body["params"]
                name = p.get("name", p.get("taskId"))
                h = dict(headers(body["method"], name), Authorization="Bearer %s-token-0123456789" % who)
                status, _, text = srv.request("POST", body, h)
                return status, json.loads(text)
            _, m = as_("alice", request(1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 1}}, TASK_CAPS))
            task_id = m["result"]["taskId"]
            _, m = as_("alice", request(2, "tasks/get", {"taskId": task_id}, TASK_CAPS))
            self.assertEqual(m["result"]["taskId"], task_id)
            for method, extra in (("tasks/get", {}), ("tasks/cancel", {}),
                                  ("tasks/update", {"inputResponses": {}})):
                _, m = as_("bob", request(3, method, dict({"taskId": task_id}, **extra), TASK_CAPS))
                self.assertEqual(m["error"]["code"], -32602, method)  # as if it did not exist
            _, m = as_("alice", request(4, "tasks/get", {"taskId": task_id}, TASK_CAPS))
            self.assertNotEqual(m["result"]["status"], "cancelled")  # bob's cancel did nothing
            # a requestState is bound to its principal too
            _, m = as_("alice", request(5, "tools/call", {"name": "test_input_required_result_request_state",
                                                          "arguments": {}}, CAPS))
            state = m["result"]["requestState"]
            status, m = as_("bob", request(6, "tools/call", {"name": "test_input_required_result_request_state",
                                                             "arguments": {}, "requestState": state,
                                                             "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}}}, CAPS))
            self.assertEqual((status, m["error"]["code"]), (400, -32602))
        finally:
            srv.cleanup()
            shutil.rmtree(folder, ignore_errors=True)


class LegacyTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BINARY).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def rpc(self, sid, id, method, params):
        status, r, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": id, "method": method, "params": params},
                                           {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
        return [m for m in (json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: ") and len(l) > 6)
                if m.get("id") == id][0]

    def test_the_2025_11_25_flow(self):
        sid, init = self.srv.initialize()
        self.assertIn("tasks", init["result"]["capabilities"])
        m = self.rpc(sid, 1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.3}, "task": {"ttl": 60000}})
        task = m["result"]["task"]
        self.assertEqual((task["status"], task["ttl"]), ("working", 60000))
        self.assertEqual(self.rpc(sid, 2, "tasks/get", {"taskId": task["taskId"]})["result"]["taskId"], task["taskId"])
        result = self.rpc(sid, 3, "tasks/result", {"taskId": task["taskId"]})["result"]  # blocks until done
        self.assertIn("computed", result["content"][0]["text"])
        self.assertEqual(result["_meta"]["io.modelcontextprotocol/related-task"], {"taskId": task["taskId"]})
        listed = self.rpc(sid, 4, "tasks/list", {})["result"]["tasks"]
        self.assertEqual([t["taskId"] for t in listed], [task["taskId"]])
        m = self.rpc(sid, 5, "tasks/cancel", {"taskId": task["taskId"]})
        self.assertEqual(m["error"]["code"], -32602)  # already terminal
        # tool-level negotiation
        self.assertEqual(self.rpc(sid, 6, "tools/call", {"name": "greet", "arguments": {"name": "x"}, "task": {}})
                         ["error"]["code"], -32601)
        self.assertEqual(self.rpc(sid, 7, "tools/call", {"name": "failing_job", "arguments": {}})["error"]["code"], -32601)
        # another session does not see it
        other, _ = self.srv.initialize()
        self.assertEqual(self.rpc(other, 8, "tasks/get", {"taskId": task["taskId"]})["error"]["code"], -32602)
        self.assertEqual(self.rpc(other, 9, "tasks/list", {})["result"]["tasks"], [])

    def test_status_notifications_on_the_session_s_get_stream(self):
        sid, _ = self.srv.initialize()
        get = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25",
                                            "Accept": "text/event-stream"})
        frames = (json.loads(ev["data"]) for ev in events(get) if ev.get("data"))
        task = self.rpc(sid, 1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.3}, "task": {}})["result"]["task"]
        seen = []
        while not seen or seen[-1] != "completed":
            f = next(frames)
            self.assertEqual((f["method"], f["params"]["taskId"]), ("notifications/tasks/status", task["taskId"]))
            seen.append(f["params"]["status"])
        self.assertEqual((seen[0], seen[-1]), ("working", "completed"))
        get._conn.close()

    def test_a_task_waiting_for_input_gets_it_through_tasks_result(self):
        sid, _ = self.srv.initialize(capabilities={"elicitation": {}})
        task = self.rpc(sid, 1, "tools/call", {"name": "confirm_delete", "arguments": {"filename": "b.txt"},
                                               "task": {}})["result"]["task"]
        wait_until(lambda: self.rpc(sid, 2, "tasks/get", {"taskId": task["taskId"]})["result"]["status"] == "input_required")
        h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"}
        r = self.srv.open("POST", {"jsonrpc": "2.0", "id": 3, "method": "tasks/result",
                                   "params": {"taskId": task["taskId"]}}, h)
        frames = (json.loads(ev["data"]) for ev in events(r) if ev.get("data"))
        asked = next(frames)
        self.assertEqual(asked["method"], "elicitation/create")
        self.assertEqual(asked["params"]["_meta"]["io.modelcontextprotocol/related-task"], {"taskId": task["taskId"]})
        status, _, _ = self.srv.request("POST", {"jsonrpc": "2.0", "id": asked["id"],
                                                 "result": {"action": "accept", "content": {"confirm": True}}}, h)
        self.assertEqual(status, 202)
        final = next(f for f in frames if f.get("id") == 3)
        self.assertEqual(final["result"]["content"][0]["text"], "deleted b.txt")

    def test_cancelling_a_running_task(self):
        sid, _ = self.srv.initialize()
        task = self.rpc(sid, 1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}, "task": {}})["result"]["task"]
        m = self.rpc(sid, 2, "tasks/cancel", {"taskId": task["taskId"]})
        self.assertEqual(m["result"]["status"], "cancelled")


class Durability(unittest.TestCase):
    def test_tasks_survive_kill_9_and_finish_after_the_restart(self):
        data = tempfile.mkdtemp(prefix="litemcp-tasks-")
        srv = Server(BINARY, ["--fsync", "always"], data=data).start()
        try:
            _, m = tool(srv, 1, "slow_compute", {"seconds": 2, "label": "survivor"}, caps=TASK_CAPS)
            working = m["result"]["taskId"]
            _, m = tool(srv, 2, "confirm_delete", {"filename": "a.txt"}, caps=TASK_CAPS)
            waiting = m["result"]["taskId"]
            poll(srv, waiting, ("input_required",))
            srv.kill9()
            srv = Server(BINARY, ["--fsync", "always"], data=data).start()
            # the working one runs again; the waiting one still waits for its input
            self.assertEqual(poll(srv, waiting, ("input_required",))["status"], "input_required")
            done = poll(srv, working, ("completed",))
            self.assertIn("survivor", done["result"]["content"][0]["text"])
            key = list(poll(srv, waiting, ("input_required",))["inputRequests"])[0]
            task_call(srv, 3, "tasks/update", waiting, inputResponses={key: {"action": "accept", "content": {"confirm": True}}})
            self.assertEqual(poll(srv, waiting, ("completed",))["result"]["content"][0]["text"], "deleted a.txt")
        finally:
            srv.cleanup()
            shutil.rmtree(data, ignore_errors=True)

    def test_a_promoted_worker_call_survives_kill_9_and_runs_once(self):
        # A 2026-07-28 call of a worker's tool that became a task: after a
        # crash the worker's answer to the original call completes the task,
        # and the task is not handed to the worker a second time.
        data = tempfile.mkdtemp(prefix="litemcp-tasks-")
        srv = Server(BINARY, ["--fsync", "always", "--task-promote-ms", "200"], data=data).start()
        try:
            w = Worker(srv, "keeper", [{"name": "slow_report", "inputSchema": {"type": "object"},
                                        "execution": {"taskSupport": "optional"}}])
            inst = w.connect()
            _, m = tool(srv, 1, "slow_report", {}, caps=TASK_CAPS)
            task_id = m["result"]["taskId"]
            first = inst.next_call()
            self.assertEqual(first["method"], "tools/call")
            self.assertEqual(poll(srv, task_id, ("working",))["status"], "working")
            inst.close()
            srv.kill9()
            srv = Server(BINARY, ["--fsync", "always"], data=data).start()
            w.srv = srv
            inst = w.connect()
            again = inst.next_call()
            self.assertEqual(again["id"], first["id"])  # redelivered, not re-run
            inst.settimeout(1.5)
            with self.assertRaises(OSError):  # socket.timeout: no second call for the same task
                extra = inst.next_message()
                self.fail("a second call reached the worker: %r" % extra)
            status, _ = w.answer(first["id"], {"content": [{"type": "text", "text": "kept"}]})
            self.assertEqual(status, 200)
            self.assertEqual(poll(srv, task_id, ("completed",))["result"]["content"][0]["text"], "kept")
            inst.close()
        finally:
            srv.cleanup()
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
