#!/usr/bin/env python3
"""An upstream MCP server (the official TypeScript SDK's, test/upstreams/)
behind three litemcp servers sharing one JetStream store: a client's next
round may reach any of them, and the upstream's requests to the client on a
call that another litemcp server's connection forwarded reach that client.

Run under nats_cluster.py (TEST_NATS_SERVERS names the NATS servers):
    nats_cluster.py --nodes 3 -- python3 test_upstreams_across.py path/to/litemcp NPM_WORK_DIR
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
import test_upstreams  # noqa: E402
from litemcp_harness import call_answering, events, wait_until  # noqa: E402
from test_upstreams import Upstream, listed, modern_call, register, result_of  # noqa: E402
from three_servers import ThreeServers  # noqa: E402

SAMPLED = {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"}


def round_request(srv, id, name, arguments, **extra):
    """A 2026-07-28 tools/call that may be answered in rounds, with a
    progress token (the same in every round, as the client's _meta)."""
    params = dict({"name": name, "arguments": arguments, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}, "progressToken": "pt"}}, **extra)
    return ({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params},
            {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name,
             "Accept": "application/json, text/event-stream"})


def open_round(srv, id, name, arguments, **extra):
    """A 2026-07-28 tools/call with a progress token; its open response."""
    return srv.open("POST", *round_request(srv, id, name, arguments, **extra))


def round_messages(srv, id, name, arguments, **extra):
    """Every message of such a call's answer, in order."""
    status, _, text = srv.request("POST", *round_request(srv, id, name, arguments, **extra))
    assert status == 200, (status, text)
    return [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]


class UpstreamsAcross(ThreeServers):
    # Each litemcp server forwards one call at a time to the upstream, so
    # a second call of a's clients goes through b's or c's connection.
    args = ("--worker-offline-grace-ms", "3000", "--upstream-ping-ms", "500", "--upstream-concurrency", "1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.up = Upstream().start()
        status, reply = register(cls.a, "fx", cls.up.url)
        assert status == 201, reply
        for srv in (cls.a, cls.b, cls.c):
            sid, _ = srv.initialize()
            assert wait_until(lambda: "fx__ask" in [t["name"] for t in listed(srv, sid, "tools/list", "tools")],
                              timeout=15), "fx is not listed on %d" % srv.port

    @classmethod
    def tearDownClass(cls):
        cls.up.kill()
        super().tearDownClass()

    def first_round(self, srv, id):
        status, m = modern_call(srv, id, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}})
        res = m.get("result", {})
        self.assertEqual((status, res.get("resultType")), (200, "input_required"), m)
        [(key, req)] = res["inputRequests"].items()
        self.assertEqual(req["method"], "sampling/createMessage")
        return res["requestState"], key

    def test_a_2026_client_s_next_round_may_reach_another_server(self):
        # The round is resumed where the request is parked (a), and the
        # answer comes back through b.
        state, key = self.first_round(self.a, 1)
        status, m = modern_call(self.b, 2, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                requestState=state, inputResponses={key: SAMPLED})
        self.assertEqual(status, 200, m)
        self.assertEqual(m["result"]["content"][0]["text"], "model said: hello back", m)
        self.assertEqual(m["result"]["resultType"], "complete")
        # The round without its answer is asked again, through c, and the
        # requestState it gets still leads to the request.
        state, key = self.first_round(self.a, 3)
        status, m = modern_call(self.c, 4, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}}, requestState=state)
        self.assertEqual(m["result"]["resultType"], "input_required", m)
        [(key, _)] = m["result"]["inputRequests"].items()
        status, m = modern_call(self.b, 5, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                requestState=m["result"]["requestState"], inputResponses={key: SAMPLED})
        self.assertEqual(m["result"]["content"][0]["text"], "model said: hello back", m)

    def test_the_progress_after_a_relayed_round_reaches_its_client(self):
        args = {"prompt": "hi", "steps": 2, "ms": 50}
        res = round_messages(self.a, 1, "fx__ask_slow", args)[-1]["result"]
        [(key, _)] = res["inputRequests"].items()
        msgs = round_messages(self.b, 2, "fx__ask_slow", args, requestState=res["requestState"],
                              inputResponses={key: SAMPLED})
        progress = [m["params"]["progress"] for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual(progress, [1, 2], msgs)
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "model said: hello back", msgs)

    def test_a_client_leaving_a_relayed_round_cancels_the_call(self):
        args = {"prompt": "hi", "steps": 100, "ms": 100}
        res = round_messages(self.a, 1, "fx__ask_slow", args)[-1]["result"]
        [(key, _)] = res["inputRequests"].items()
        cancelled = self.up.stats()["cancelled"]
        r = open_round(self.b, 2, "fx__ask_slow", args, requestState=res["requestState"],
                       inputResponses={key: SAMPLED})
        first = next(e for e in events(r) if e.get("data") and "notifications/progress" in e["data"])
        self.assertIn("progress", first["data"])
        r.close()  # the client goes: b tells a, which cancels the upstream's call
        r._conn.close()
        self.assertTrue(wait_until(lambda: self.up.stats()["cancelled"] > cancelled, timeout=10), self.up.stats())

    def test_a_round_whose_server_stopped_gets_an_error_saying_to_call_again(self):
        d = self.another()
        try:
            sid, _ = d.initialize()
            self.assertTrue(wait_until(lambda: "fx__ask" in [t["name"] for t in listed(d, sid, "tools/list", "tools")],
                                       timeout=15))
            state, key = self.first_round(d, 1)
            d.kill9()
            # Sent at once: b still counts on d, relays the round, and ends
            # its wait when d's beats stop (within 6.5 s and a beat).
            t0 = time.time()
            status, m = modern_call(self.b, 2, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                    requestState=state, inputResponses={key: SAMPLED})
            self.assertLess(time.time() - t0, 15)
            self.assertIn("did not answer this round", m["error"]["message"], m)
            self.assertIn("call the tool again", m["error"]["message"])
            # Sent later: refused at once.
            t0 = time.time()
            status, m = modern_call(self.c, 3, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                    requestState=state, inputResponses={key: SAMPLED})
            self.assertLess(time.time() - t0, 3)
            self.assertIn("does not run", m["error"]["message"], m)
            self.assertIn("call the tool again", m["error"]["message"])
        finally:
            d.cleanup()

    def busy_a(self):
        """A slow call of a's own, holding a's one connection slot (3 s)."""
        sid, _ = self.a.initialize()
        t = threading.Thread(target=lambda: result_of(self.a, sid, 50, "fx__slow", {"steps": 10, "ms": 300}))
        t.start()
        before = len(self.up.stats()["sessions"])
        self.assertTrue(wait_until(lambda: len(self.up.stats()["sessions"]) > before, timeout=5))
        return t

    def session_of(self, tool):
        return [s for name, s in self.up.stats()["sessions"] if name == tool][-1]

    def test_a_request_on_a_call_another_server_forwarded_reaches_the_client(self):
        # a's own connection is busy, so the call goes through b's or c's;
        # the upstream's sampling request there is asked of the client on a.
        slow = self.busy_a()
        sid, _ = self.a.initialize(capabilities={"sampling": {}})
        asked, got = call_answering(self.a, sid, 1, "fx__ask", {"prompt": "hi"}, SAMPLED)
        slow.join(10)
        self.assertEqual([m["method"] for m in asked], ["sampling/createMessage"])
        self.assertEqual(got["result"]["content"][0]["text"], "model said: hello back", got)
        self.assertNotEqual(self.session_of("ask"), self.session_of("slow"))  # not a's connection

    def test_a_2026_client_answers_such_a_request_in_a_round_on_any_server(self):
        slow = self.busy_a()
        state, key = self.first_round(self.a, 1)
        self.assertNotEqual(self.session_of("ask"), self.session_of("slow"))
        status, m = modern_call(self.c, 2, "fx__ask", {"prompt": "hi"}, caps={"sampling": {}},
                                requestState=state, inputResponses={key: SAMPLED})
        slow.join(10)
        self.assertEqual(m["result"]["content"][0]["text"], "model said: hello back", m)


if __name__ == "__main__":
    ThreeServers.binary = sys.argv.pop(1)
    test_upstreams.NPM = os.path.abspath(sys.argv.pop(1))
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), test_upstreams.NPM], text=True)
    unittest.main(verbosity=2)
