"""Integration tests of the stateless 2026-07-28 revision on /mcp, beside the
legacy one: request validation, server/discover, results, progress and
logging on the response stream. (input_required, subscriptions/listen and
Tasks are not built yet.)

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
        self.assertNotIn("listChanged", res["capabilities"]["tools"])  # no subscriptions/listen yet

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


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
