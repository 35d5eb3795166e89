#!/usr/bin/env python3
"""Workers across three litemcp servers sharing one JetStream store: a worker
registered through one server, its instance attached to another, clients on
the others, and its answers posted to yet another -- each on purpose.

Run under nats_cluster.py (TEST_NATS_SERVERS names the NATS servers):
    nats_cluster.py --nodes 3 -- python3 test_workers_across.py path/to/litemcp
"""
import copy
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from litemcp_harness import Server, Worker, attempt_of, call, events, messages, wait_until  # noqa: E402
from test_tasks import TASK_CAPS, poll, task_call, tool  # noqa: E402
from test_workers import ADD, text_result, tool_names  # noqa: E402
from three_servers import ThreeServers  # noqa: E402


def through(worker, srv):
    """The same worker (its credential), talking to another server."""
    w = copy.copy(worker)
    w.srv = srv
    return w


def attach(worker, srv, instance=None):
    """An instance on srv, once srv has heard of the registration."""
    w = through(worker, srv)
    assert wait_until(lambda: srv.request("GET", headers=w.auth(), path="/workers/" + w.name)[0] == 200, timeout=5), \
        "server %d never heard of %s" % (srv.port, w.name)
    return w.connect(instance)


class WorkersAcross(ThreeServers):
    args = ("--worker-offline-grace-ms", "3000")
    n = 0

    def register(self, srv, **options):
        """A worker with its own tool name (the tests share the servers)."""
        WorkersAcross.n += 1
        tool = dict(ADD, name="add%d" % WorkersAcross.n)
        w = Worker(srv, "calc%d" % WorkersAcross.n, [tool], **options)
        w.tool = tool["name"]
        return w

    def start_call(self, srv, sid, id, tool, arguments=None):
        body, h = call(sid, id, tool, arguments if arguments is not None else {"a": 2, "b": 3})
        return srv.open("POST", body, h)

    def session_seeing(self, srv, tool):
        sid, _ = srv.initialize()
        self.assertTrue(wait_until(lambda: tool in tool_names(srv, sid), timeout=10),
                        "%s is not listed on %s" % (tool, srv.port))
        return sid

    def test_an_instance_on_one_server_serves_clients_of_the_others(self):
        w = self.register(self.a, concurrency=2)
        inst = attach(w, self.a, "on-a")
        sid_b = self.session_seeing(self.b, w.tool)
        sid_c = self.session_seeing(self.c, w.tool)
        from_b = self.start_call(self.b, sid_b, 1, w.tool)
        first = inst.next_call()
        from_c = self.start_call(self.c, sid_c, 1, w.tool, {"a": 1, "b": 1})
        second = inst.next_call()
        self.assertEqual({first["params"]["arguments"]["a"], second["params"]["arguments"]["a"]}, {2, 1})
        # Each answer posted to a server that neither runs the instance nor
        # holds the call: it travels to the server the client asked.
        for ev in (first, second):
            a = ev["params"]["arguments"]["a"]
            via = self.c if a == 2 else self.b
            status, reply = through(w, via).answer(ev["id"], text_result(str(a * 10)))
            self.assertEqual((status, reply["status"]), (200, "answered"), reply)
        self.assertEqual(messages(from_b)[-1]["result"]["content"][0]["text"], "20")
        self.assertEqual(messages(from_c)[-1]["result"]["content"][0]["text"], "10")
        # Answered again: the owner remembers it.
        status, reply = through(w, self.a).answer(first["id"], text_result("late"))
        self.assertEqual((status, reply["status"]), (200, "already finished"), reply)
        # Every server's view: the instance is on a; the others see it elsewhere.
        self.assertTrue(wait_until(lambda: through(w, self.b).describe()["instancesElsewhere"] == 1, timeout=5))
        self.assertEqual(len(through(w, self.a).describe()["instances"]), 1)
        # The counters are the cluster's on every server: b and c each owned
        # one call (each saves its counts within a second).
        def counted(srv):
            d = through(w, srv).describe()
            status, _, text = srv.request("GET", path="/admin/workers")
            listed = [x for x in json.loads(text)["workers"] if x["name"] == w.name][0]
            return (d["delivered"], d["answered"], listed["delivered"], listed["answered"])
        self.assertTrue(wait_until(lambda: all(counted(s) == (2, 2, 2, 2) for s in (self.a, self.b, self.c)), timeout=5),
                        [counted(s) for s in (self.a, self.b, self.c)])

    def test_retries_dead_letters_and_suspend_hold_across_servers(self):
        w = self.register(self.a, maxAttempts=2)
        inst = attach(w, self.c, "on-c")
        sid = self.session_seeing(self.b, w.tool)
        # Suspend, posted through a: the call goes back to the head of the
        # queue on b (the owner), and comes again after the pause, same attempt.
        resp = self.start_call(self.b, sid, 1, w.tool)
        ev = inst.next_call()
        t0 = time.time()
        status, reply = through(w, self.a).suspend(ev["id"], 800)
        self.assertEqual((status, reply["status"]), (200, "suspended"), reply)
        again = inst.next_call()
        self.assertGreaterEqual(time.time() - t0, 0.75)
        self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 1))
        # A failure through a, retried after its delay; a second one through b
        # dead-letters it and the client on b gets the tool error.
        status, reply = through(w, self.a).fail(ev["id"], "database down", retry_after_ms=200)
        self.assertEqual((status, reply["status"]), (200, "will be retried"), reply)
        again = inst.next_call()
        self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 2))
        status, reply = through(w, self.b).fail(ev["id"], "database still down")
        self.assertEqual(reply["status"], "dead-lettered")
        result = messages(resp)[-1]["result"]
        self.assertTrue(result["isError"])
        self.assertIn("failed this call 2 times", result["content"][0]["text"])
        # The dead letter is in the shared store: any server's admin API has it.
        self.assertTrue(wait_until(
            lambda: ev["id"] in self.c.request("GET", path="/admin/workers/%s/dead-letters" % w.name)[2], timeout=5))
        # The instance (concurrency 1) is free again for the next call.
        resp = self.start_call(self.b, sid, 2, w.tool)
        ev = inst.next_call()
        through(w, self.c).answer(ev["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")

    def test_a_cancellation_reaches_the_instance_on_another_server(self):
        w = self.register(self.a)
        inst = attach(w, self.c)
        sid = self.session_seeing(self.b, w.tool)
        resp = self.start_call(self.b, sid, 7, w.tool)
        ev = inst.next_call()
        status, _, _ = self.a.request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                               "params": {"requestId": 7, "reason": "changed my mind"}},
                                      {"Mcp-Session-Id": sid})
        self.assertEqual(status, 202)
        self.assertEqual(inst.next_message(), {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                               "params": {"requestId": ev["id"],
                                                          "reason": "the client cancelled the request"}})
        self.assertEqual([m for m in messages(resp) if "id" in m], [])

    def test_a_worker_s_request_posted_to_any_server_reaches_the_calling_client(self):
        # The client is on b (the owner), the instance on c, and the worker
        # posts its sampling request to a, which holds neither: a asks b
        # (w-ask), b asks the client on the call's stream, and the client's
        # answer travels back to the worker's HTTP answer.
        w = self.register(self.a)
        inst = attach(w, self.c)
        sid, _ = self.b.initialize(capabilities={"sampling": {}})
        self.assertTrue(wait_until(lambda: w.tool in tool_names(self.b, sid), timeout=10))
        resp = self.start_call(self.b, sid, 11, w.tool)
        ev = inst.next_call()
        asked = {}
        t = threading.Thread(target=lambda: asked.update(
            r=through(w, self.a).ask(ev["id"], 1, "sampling/createMessage",
                                     {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
                                      "maxTokens": 5})))
        t.start()
        request = None
        for e in events(resp):
            m = json.loads(e["data"]) if e.get("data") else {}
            if m.get("method") == "sampling/createMessage":
                request = m
                break
        self.assertIsNotNone(request)
        self.assertEqual(request["params"]["messages"][0]["content"]["text"], "hi")
        answer = {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"}
        status, _, text = self.b.request("POST", {"jsonrpc": "2.0", "id": request["id"], "result": answer},
                                         {"Mcp-Session-Id": sid})
        self.assertEqual(status, 202, text)
        t.join(15)
        status, reply = asked["r"]
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["result"]["content"]["text"], "hello back", reply)
        through(w, self.a).answer(ev["id"], text_result("5"))
        self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], "5")
        # A call no server has open: a clear JSON-RPC error, at once.
        status, reply = through(w, self.a).ask("no-such-call", 2, "roots/list")
        self.assertEqual(status, 200, reply)
        self.assertIn("not open on any litemcp server", reply["error"]["message"])

    def task_worker(self):
        """A worker whose one tool runs only as a task, its instance on a."""
        WorkersAcross.n += 1
        name = "asktask%d" % WorkersAcross.n
        w = Worker(self.a, name, [{"name": name, "inputSchema": {"type": "object"},
                                   "execution": {"taskSupport": "required"}}])
        w.tool = name
        return w, attach(w, self.a)

    @staticmethod
    def elicit(w, call_id, id, message):
        """The worker's elicitation request, in a thread (its HTTP answer
        comes with the client's); (the thread, a dict whose "r" is that answer)."""
        asked = {}
        t = threading.Thread(target=lambda: asked.update(r=w.ask(call_id, id, "elicitation/create", {
            "message": message, "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}})))
        t.start()
        return t, asked

    def test_a_task_s_input_given_through_another_server_reaches_the_worker(self):
        # The task is made on a, whose hub parks the worker's request; its
        # answer is given with tasks/update through b, which has it resumed
        # on a; the worker's answer settles the task, read through c.
        w, inst = self.task_worker()
        for srv in (self.b, self.c):
            self.session_seeing(srv, w.tool)
        status, m = tool(self.a, 1, w.tool, {}, caps=TASK_CAPS)
        task = m["result"]
        self.assertEqual(task["resultType"], "task", m)
        ev = inst.next_call()
        waiting, asked = self.elicit(w, ev["id"], "e-1", "Your name?")
        view = poll(self.b, task["taskId"], ("input_required",))
        [(key, req)] = view["inputRequests"].items()
        self.assertEqual(req["params"]["message"], "Your name?")
        _, m = task_call(self.b, 2, "tasks/update", task["taskId"],
                         inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}})
        self.assertIn("result", m)
        waiting.join(15)
        self.assertEqual(asked["r"][1]["result"]["content"], {"name": "Ada"}, asked)
        w.answer(ev["id"], {"content": [{"type": "text", "text": "hello Ada"}]})
        done = poll(self.c, task["taskId"], ("completed", "failed"))
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["result"]["content"][0]["text"], "hello Ada")
        self.assertEqual(w.describe()["redelivered"], 0)  # one delivery throughout

    def test_a_task_waiting_for_input_on_a_killed_server_asks_again_where_its_call_went(self):
        # The task is made on d, which holds the worker's parked request;
        # d is killed. Its call is taken over and delivered again, the
        # worker asks again, the task is back in input_required with the
        # new request, and an answer given through c completes it.
        d = self.another()
        try:
            w, inst = self.task_worker()
            self.session_seeing(d, w.tool)
            status, m = tool(d, 1, w.tool, {}, caps=TASK_CAPS)
            task = m["result"]
            ev = inst.next_call()
            _, first = self.elicit(w, ev["id"], "e-1", "Your name?")
            view = poll(self.b, task["taskId"], ("input_required",))
            [(old_key, _)] = view["inputRequests"].items()
            d.kill9()
            again = inst.next_call()  # delivered again, to the same instance
            self.assertEqual(again["id"], ev["id"])
            self.assertTrue(wait_until(lambda: "r" in first, timeout=10))
            self.assertIn("error", first["r"][1], first)  # the first request ended with its server
            waiting, asked = self.elicit(w, ev["id"], "e-2", "Your name, again?")
            self.assertTrue(wait_until(lambda: list(poll(self.b, task["taskId"], ("input_required",)).get(
                "inputRequests", {"x": 0}))[0] != old_key, timeout=10))
            view = poll(self.b, task["taskId"], ("input_required",))
            [(key, req)] = view["inputRequests"].items()
            self.assertEqual(req["params"]["message"], "Your name, again?")
            _, m = task_call(self.c, 2, "tasks/update", task["taskId"],
                             inputResponses={key: {"action": "accept", "content": {"name": "Ada"}}})
            self.assertIn("result", m)
            waiting.join(15)
            self.assertEqual(asked["r"][1]["result"]["content"], {"name": "Ada"}, asked)
            w.answer(ev["id"], {"content": [{"type": "text", "text": "hello Ada"}]})
            done = poll(self.c, task["taskId"], ("completed", "failed"))
            self.assertEqual(done["result"]["content"][0]["text"], "hello Ada", done)
        finally:
            d.cleanup()

    def test_a_deregistration_on_one_server_removes_the_tools_on_every_server(self):
        w = self.register(self.a)
        inst = attach(w, self.a)
        sid = self.session_seeing(self.c, w.tool)
        status, _, text = self.b.request("DELETE", headers=w.auth(), path="/workers/" + w.name)
        self.assertEqual(status, 200, text)
        self.assertTrue(wait_until(lambda: w.tool not in tool_names(self.c, sid), timeout=5))
        inst.settimeout(5)
        self.assertEqual(list(inst.events), [])  # a closed its stream

    def test_the_calls_of_an_instance_on_a_killed_server_go_to_an_instance_on_another(self):
        d = self.another()
        try:
            w = self.register(self.a, invisibilityMs=1500)
            first = attach(w, d, "on-d")
            sid = self.session_seeing(self.b, w.tool)
            resp = self.start_call(self.b, sid, 1, w.tool)
            ev = first.next_call()
            # b (the owner) has d's word that the call was delivered: an attempt.
            self.assertTrue(wait_until(lambda: through(w, self.b).describe()["delivered"] == 1, timeout=5))
            d.kill9()
            second = attach(w, self.c, "on-c")
            again = second.next_call()
            self.assertEqual((again["id"], attempt_of(again)), (ev["id"], 2))
            through(w, self.a).answer(again["id"], text_result("5"))
            msgs = messages(resp)
            self.assertEqual([m["result"]["content"][0]["text"] for m in msgs if "result" in m], ["5"])
        finally:
            d.cleanup()

    def killed_owner(self, take_over, via_answer, via_resume):
        """A call from a client of server d to an instance on a; d killed, then
        take_over() (nothing, or start a server); the call comes again and its
        answer reaches the client resuming its request's stream elsewhere."""
        d, took = self.another(), None
        try:
            w = self.register(self.a)
            inst = attach(w, self.a, "on-a")
            sid = self.session_seeing(d, w.tool)
            resp = self.start_call(d, sid, 1, w.tool)
            primed = next(e for e in events(resp) if e.get("id"))  # the request stream's first event
            ev = inst.next_call()
            d.kill9()
            took = take_over()
            t0 = time.time()
            again = inst.next_call()  # delivered again, to the same instance
            self.assertEqual(again["id"], ev["id"])
            waited = time.time() - t0
            status, reply = through(w, via_answer).answer(ev["id"], text_result("taken over"))
            self.assertEqual((status, reply["status"]), (200, "answered"), reply)
            status, _, text = via_resume.request("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": primed["id"],
                                                                 "Accept": "text/event-stream"})
            self.assertEqual(status, 200, text)
            self.assertIn("taken over", text)
            return waited
        finally:
            for s in (d, took):
                if s:
                    s.cleanup()

    def test_the_calls_of_a_killed_owner_are_taken_by_a_running_server(self):
        # d's beats stop; within seconds one of a, b and c takes its call.
        self.assertLess(self.killed_owner(lambda: None, self.c, self.b), 12)

    def test_the_server_holding_the_call_s_slot_takes_the_call_itself(self):
        # Two servers on a store of their own, so the one whose instance
        # holds the call's slot (for the owner, by w-deliver) is the one to
        # take the call over: it frees that slot and delivers the call again.
        # It once waited for the slot until the call's deadline.
        data = tempfile.mkdtemp(prefix="litemcp-pair-")
        x = y = None
        try:
            x = Server(ThreeServers.binary, self.args, data=data).start()
            y = Server(ThreeServers.binary, self.args, data=data).start()
            w = self.register(x)
            inst = attach(w, x, "on-x")
            sid = self.session_seeing(y, w.tool)
            resp = self.start_call(y, sid, 1, w.tool)
            primed = next(e for e in events(resp) if e.get("id"))
            ev = inst.next_call()
            y.kill9()
            again = inst.next_call()  # delivered again, to the same instance
            self.assertEqual(again["id"], ev["id"])
            status, reply = through(w, x).answer(ev["id"], text_result("taken over"))
            self.assertEqual((status, reply["status"]), (200, "answered"), reply)
            status, _, text = x.request("GET", headers={"Mcp-Session-Id": sid, "Last-Event-ID": primed["id"],
                                                        "Accept": "text/event-stream"})
            self.assertEqual(status, 200, text)
            self.assertIn("taken over", text)
        finally:
            for s in (x, y):
                if s:
                    s.cleanup()
            shutil.rmtree(data, ignore_errors=True)

    def test_the_calls_of_a_killed_owner_are_taken_by_the_next_server_to_start(self):
        # The server starting finds the call of a server that does not answer.
        self.killed_owner(self.another, self.b, self.c)

if __name__ == "__main__":
    ThreeServers.binary = sys.argv.pop(1)
    unittest.main(verbosity=2)
