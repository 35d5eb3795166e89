"""Integration tests of the stateless 2026-07-28 revision on /mcp, beside the
legacy one: request validation, server/discover, results, progress and
logging on the response stream, subscriptions/listen. (input_required and
tasks: test_tasks.py.)


usage: test_modern.py /path/to/litemcp [unittest args]"""

import base64
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, events  # noqa: E402

BINARY = None
V = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "modern-test", "version": "1"}}


def request(id, method, params=None, meta=None):
    p = dict(params or {})
    p["_meta"] = dict(META, **(meta or {}))
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": p}


def headers(method, name=None, version=V, accept="application/json, text/event-stream"):
    h = {"MCP-Protocol-Version": version, "Mcp-Method": method, "Accept": accept}
    if name is not None:
        h["Mcp-Name"] = name
    return h


class Modern(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(BINARY).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def post(self, body, h):
        status, r, text = self.srv.request("POST", body, h)
        if r.getheader("Content-Type", "").startswith("text/event-stream"):
            msgs = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
            return status, r, msgs
        return status, r, json.loads(text) if text else None

    def test_discover(self):
        status, r, body = self.post(request(1, "server/discover"), headers("server/discover"))
        self.assertEqual(status, 200)
        self.assertIsNone(r.getheader("Mcp-Session-Id"))  # stateless: no session is minted
        res = body["result"]
        self.assertEqual(res["supportedVersions"][0], V)
        self.assertIn("2025-11-25", res["supportedVersions"])
        self.assertEqual(res["resultType"], "complete")
        self.assertIsInstance(res["ttlMs"], int)
        self.assertIn(res["cacheScope"], ("public", "private"))
        self.assertEqual(res["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "litemcp")
        self.assertIn("tools", res["capabilities"])
        self.assertTrue(res["capabilities"]["tools"]["listChanged"])  # through subscriptions/listen
        self.assertTrue(res["capabilities"]["resources"]["subscribe"])

    def test_envelope_and_version_checks_in_order(self):
        def err(body, h):
            status, _, b = self.post(body, h)
            return status, b["error"]["code"], b
        # the header is required
        h = headers("server/discover")
        del h["MCP-Protocol-Version"]
        self.assertEqual(err(request(1, "server/discover"), h)[:2], (400, -32020))
        # the envelope is required, even with the header right
        for params in ({}, {"_meta": {"io.modelcontextprotocol/protocolVersion": V}},
                       {"_meta": {"io.modelcontextprotocol/clientCapabilities": {}}}):
            body = {"jsonrpc": "2.0", "id": 2, "method": "server/discover", "params": params}
            status, code, b = err(body, headers("server/discover"))
            self.assertEqual((status, code, b["id"]), (400, -32602, 2), params)
        # header against body
        body = request(3, "server/discover", meta={"io.modelcontextprotocol/protocolVersion": "v999.0.0"})
        self.assertEqual(err(body, headers("server/discover"))[:2], (400, -32020))
        # both agree on a version this server does not speak
        status, code, b = err(body, headers("server/discover", version="v999.0.0"))
        self.assertEqual((status, code), (400, -32022))
        self.assertEqual(b["error"]["data"]["requested"], "v999.0.0")
        _, _, discover = self.post(request(4, "server/discover"), headers("server/discover"))
        self.assertTrue(set(b["error"]["data"]["supported"]) <= set(discover["result"]["supportedVersions"]))

    def test_method_and_name_headers_must_match_the_body(self):
        call = request(5, "tools/call", {"name": "echo", "arguments": {"text": "x"}})
        for h, ok in [(headers("tools/call", "echo"), True),
                      (headers("tools/call", "  echo  "), True),  # optional whitespace
                      (headers("tools/call", "=?base64?" + base64.b64encode(b"echo").decode() + "?="), True),
                      (headers("tools/list", "echo"), False),
                      (headers("tools/call", "other"), False),
                      (headers("tools/call"), False),
                      (headers("tools/call", "=?base64?ZWNobw?="), False),  # unpadded
                      (headers("tools/call", "=?base64?ZW!!bw==?="), False)]:
            status, _, body = self.post(call, h)
            if ok:
                self.assertEqual(status, 200, (h, body))
                self.assertEqual(body["result"]["content"][0]["text"], "x")
            else:
                self.assertEqual((status, body["error"]["code"]), (400, -32020), h)

    def test_header_parameters_mirror_their_arguments(self):
        def call(args, extra):
            body = request(60, "tools/call", {"name": "test_header_params", "arguments": args})
            h = dict(headers("tools/call", "test_header_params"), **extra)
            status, _, b = self.post(body, h)
            return status, b
        ok = [({"region": "eu-west", "count": 7}, {"Mcp-Param-Region": "eu-west", "Mcp-Param-Count": "7"}),
              ({"region": "eu-west", "count": 7}, {"Mcp-Param-Region": "=?base64?ZXUtd2VzdA==?=", "Mcp-Param-Count": "007"}),
              ({"text": "no header needed"}, {}),
              ({"region": None}, {})]
        for args, extra in ok:
            status, b = call(args, extra)
            self.assertEqual(status, 200, (args, extra, b))
        bad = [({"region": "eu-west"}, {}),
               ({"region": "eu-west"}, {"Mcp-Param-Region": "us-east"}),
               ({"count": 7}, {"Mcp-Param-Count": "8"}),
               ({"region": "eu-west"}, {"Mcp-Param-Region": "=?base64?ZXUtd2VzdA?="})]
        for args, extra in bad:
            status, b = call(args, extra)
            self.assertEqual((status, b["error"]["code"]), (400, -32020), (args, extra))

    def test_methods_of_the_legacy_era_are_not_found(self):
        for i, method in enumerate(["initialize", "ping", "logging/setLevel", "resources/subscribe",
                                    "resources/unsubscribe", "unknown/method"]):
            status, _, body = self.post(request(10 + i, method, {"uri": "test://static-text"}), headers(method))
            self.assertEqual((status, body["error"]["code"], body["id"]), (404, -32601, 10 + i), method)

    def test_results_carry_result_type_and_cache_hints(self):
        for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list"):
            status, _, body = self.post(request(20, method), headers(method))
            self.assertEqual(status, 200, method)
            res = body["result"]
            self.assertEqual(res["resultType"], "complete")
            self.assertGreaterEqual(res["ttlMs"], 0)
            self.assertEqual(res["cacheScope"], "public")
        names = [[t["name"] for t in self.post(request(21, "tools/list"), headers("tools/list"))[2]["result"]["tools"]]
                 for _ in range(3)]
        self.assertEqual(names[0], names[1])
        self.assertEqual(names[1], names[2])
        read = request(22, "resources/read", {"uri": "test://static-text"})
        res = self.post(read, headers("resources/read", "test://static-text"))[2]["result"]
        self.assertIn("ttlMs", res)
        missing = request(23, "resources/read", {"uri": "test://nothing"})
        status, _, body = self.post(missing, headers("resources/read", "test://nothing"))
        self.assertEqual(body["error"]["code"], -32602)  # -32002 is gone in this revision

    def test_progress_streams_before_the_result(self):
        body = request(30, "tools/call", {"name": "countdown", "arguments": {"steps": 3}}, {"progressToken": "p"})
        status, r, msgs = self.post(body, headers("tools/call", "countdown"))
        self.assertEqual(status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/event-stream"))
        progress = [m for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual([p["params"]["progress"] for p in progress], [1, 2, 3])
        self.assertEqual(msgs[-1]["id"], 30)
        self.assertEqual(msgs[-1]["result"]["resultType"], "complete")

    def test_log_messages_only_with_a_log_level(self):
        call = {"name": "test_tool_with_logging", "arguments": {}}
        status, _, body = self.post(request(40, "tools/call", call), headers("tools/call", "test_tool_with_logging"))
        self.assertEqual(status, 200)
        self.assertIn("result", body)  # plain JSON: no stream, no log messages
        status, _, msgs = self.post(request(41, "tools/call", call, {"io.modelcontextprotocol/logLevel": "info"}),
                                    headers("tools/call", "test_tool_with_logging"))
        self.assertEqual(len([m for m in msgs if m.get("method") == "notifications/message"]), 3)
        status, _, body = self.post(request(42, "tools/call", call, {"io.modelcontextprotocol/logLevel": "loud"}),
                                    headers("tools/call", "test_tool_with_logging"))
        self.assertEqual((status, body["error"]["code"]), (400, -32602))

    def test_notifications_are_accepted_and_dropped(self):
        body = {"jsonrpc": "2.0", "method": "notifications/whatever", "params": {"_meta": META}}
        status, _, _ = self.srv.request("POST", body, headers("notifications/whatever"))
        self.assertEqual(status, 202)
        # Without an envelope the modern header decides: accepted and dropped,
        # never a legacy "session required" answer.
        bare = {"jsonrpc": "2.0", "method": "notifications/whatever"}
        status, _, text = self.srv.request("POST", bare, headers("notifications/whatever"))
        self.assertEqual((status, text), (202, ""))
        # A request without an envelope is still refused (-32602).
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 9, "method": "tools/list"},
                                           headers("tools/list"))
        self.assertEqual((status, json.loads(text)["error"]["code"]), (400, -32602))

    def test_both_eras_on_one_endpoint(self):
        sid, _ = self.srv.initialize()
        status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 50, "method": "ping"},
                                           {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
        self.assertEqual(status, 200)
        self.assertNotIn("resultType", text)  # legacy results stay as they were
        status, _, body = self.post(request(51, "tools/list"), headers("tools/list"))
        self.assertEqual(body["result"]["resultType"], "complete")
        status, _, text = self.srv.request("GET", path="/metrics")
        self.assertIn('litemcp_mcp_requests_total{method="tools/list",era="modern",status="200"}', text)


def listen(srv, id, notifications, timeout=10, accept="application/json, text/event-stream"):
    c = srv.conn(timeout=timeout)
    body = request(id, "subscriptions/listen", {"notifications": notifications})
    h = dict(headers("subscriptions/listen", accept=accept), **{"Content-Type": "application/json"})
    c.request("POST", "/mcp", json.dumps(body), h)
    r = c.getresponse()
    assert r.status == 200, (r.status, r.read())
    r._conn = c
    return r, events(r)


def frame(stream):
    return json.loads(next(ev for ev in stream if ev.get("data"))["data"])


class Listen(unittest.TestCase):
    def setUp(self):
        self.srv = Server(BINARY, ["--max-listen-streams", "25"]).start()

    def tearDown(self):
        self.srv.cleanup()

    def trigger_tool_change(self, id):
        body = request(id, "tools/call", {"name": "test_trigger_tool_change", "arguments": {}})
        status, _, _ = self.srv.request("POST", body, headers("tools/call", "test_trigger_tool_change"))
        self.assertEqual(status, 200)

    def test_acknowledgement_first_then_only_the_opted_in_changes(self):
        tools, tools_stream = listen(self.srv, "L1", {"toolsListChanged": True})
        ack = frame(tools_stream)
        self.assertEqual(ack["method"], "notifications/subscriptions/acknowledged")
        self.assertEqual(ack["params"]["notifications"], {"toolsListChanged": True})
        self.assertEqual(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L1")
        prompts, prompts_stream = listen(self.srv, 7, {"promptsListChanged": True})
        self.assertEqual(frame(prompts_stream)["params"]["notifications"], {"promptsListChanged": True})
        self.trigger_tool_change(2)
        change = frame(tools_stream)
        self.assertEqual(change["method"], "notifications/tools/list_changed")
        self.assertEqual(change["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L1")
        prompts._conn.sock.settimeout(0.5)
        with self.assertRaises(OSError):  # socket.timeout: nothing for the prompts listener
            frame(prompts_stream)
        tools._conn.close()
        prompts._conn.close()

    def test_resource_updates_reach_only_their_subscribers(self):
        watched, w_stream = listen(self.srv, "R1", {"resourceSubscriptions": ["test://watched-resource"]})
        self.assertEqual(frame(w_stream)["params"]["notifications"],
                         {"resourceSubscriptions": ["test://watched-resource"]})
        other, o_stream = listen(self.srv, "R2", {"resourceSubscriptions": ["test://elsewhere"], "toolsListChanged": True})
        frame(o_stream)
        # A legacy session with a GET stream and no subscription must not get it either.
        sid, _ = self.srv.initialize()
        g = self.srv.open("GET", headers={"Mcp-Session-Id": sid, "Accept": "text/event-stream"})
        g_stream = events(g)
        next(g_stream)  # priming
        body = request(4, "tools/call", {"name": "test_trigger_resource_update", "arguments": {"uri": "test://watched-resource"}})
        self.assertEqual(self.srv.request("POST", body, headers("tools/call", "test_trigger_resource_update"))[0], 200)
        update = frame(w_stream)
        self.assertEqual((update["method"], update["params"]["uri"]),
                         ("notifications/resources/updated", "test://watched-resource"))
        self.assertEqual(update["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "R1")
        for r, s in ((other, o_stream), (g, g_stream)):
            r._conn.sock.settimeout(0.5)
            with self.assertRaises(OSError):
                frame(s)
        for r in (watched, other, g):
            r._conn.close()

    def test_one_change_fans_out_to_every_listener(self):
        streams = [listen(self.srv, "F%d" % i, {"toolsListChanged": True}) for i in range(20)]
        for _, s in streams:
            frame(s)  # acknowledged
        self.trigger_tool_change(3)
        for i, (r, s) in enumerate(streams):
            f = frame(s)
            self.assertEqual((f["method"], f["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"]),
                             ("notifications/tools/list_changed", "F%d" % i))
            r._conn.close()

    def test_a_method_that_is_not_a_string_is_invalid_not_a_500(self):
        for method in (5, None, ["tools/list"]):
            status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "id": 1, "method": method},
                                               headers("tools/list"))
            self.assertEqual(status, 400, text)
            self.assertEqual(json.loads(text)["error"]["code"], -32600)

    def test_accept_is_read_as_rfc_9110_says_as_for_a_legacy_get(self):
        # */* and text/* admit the stream, as they do for a legacy GET ...
        for accept in ("*/*", "application/json, text/*", "application/json, text/event-stream;q=0.5"):
            r, s = listen(self.srv, "A", {"toolsListChanged": True}, accept=accept)
            self.assertEqual(frame(s)["method"], "notifications/subscriptions/acknowledged", accept)
            r._conn.close()
        # ... a list without it, or with q=0, does not.
        for accept in ("application/json", "text/event-stream;q=0, */*", "application/json, text/*;q=0"):
            status, _, text = self.srv.request("POST", request(5, "subscriptions/listen", {"notifications": {}}),
                                               headers("subscriptions/listen", accept=accept))
            self.assertEqual(status, 406, accept)
            self.assertEqual(json.loads(text)["error"]["code"], -32600)

    def test_a_cap_on_open_streams_and_a_clean_end_at_shutdown(self):
        streams = [listen(self.srv, i, {"toolsListChanged": True}) for i in range(25)]
        body = request(99, "subscriptions/listen", {"notifications": {"toolsListChanged": True}})
        status, _, text = self.srv.request("POST", body, headers("subscriptions/listen"))
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(text)["id"], 99)
        status, _, text = self.srv.request("POST", request(98, "subscriptions/listen", {}), headers("subscriptions/listen"))
        self.assertEqual((status, json.loads(text)["error"]["code"]), (400, -32602))
        r, s = streams[0]
        frame(s)
        self.assertEqual(self.srv.stop(), 0)
        final = frame(s)
        self.assertEqual(final["id"], 0)
        self.assertEqual(final["result"], {"resultType": "complete",
                                           "_meta": {"io.modelcontextprotocol/subscriptionId": 0}})


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
