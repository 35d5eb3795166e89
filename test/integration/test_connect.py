"""Integration tests of litemcp-connect: a stdio MCP server nobody here wrote
-- the official reference server @modelcontextprotocol/server-everything --
put behind litemcp through the worker API, and called by an MCP client.

usage: test_connect.py LITEMCP LITEMCP_CONNECT NPM_WORK_DIR [unittest args]"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from litemcp_harness import Server, call, call_answering, messages, wait_until  # noqa: E402

BINARY = CONNECT = NPM = None


def listed_tools(srv, sid):
    status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": 90, "method": "tools/list"}, {"Mcp-Session-Id": sid})
    msgs = [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]
    return msgs[-1]["result"]["tools"]


def tool_names(srv, sid):
    return [t["name"] for t in listed_tools(srv, sid)]


def result_of(srv, sid, id, name, arguments=None, meta=None):
    status, _, text = srv.request("POST", *call(sid, id, name, arguments, meta=meta))
    assert status == 200, (status, text)
    return [json.loads(l[6:]) for l in text.splitlines() if l.startswith("data: {")] or [json.loads(text)]


class Connect(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="litemcp-connect-")
        self.srv = Server(BINARY, ["--worker-offline-grace-ms", "1500"]).start()
        self.sid, _ = self.srv.initialize()
        self.proc = None

    def tearDown(self):
        self.stop_connector()
        self.srv.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connector(self, *extra, url=None):
        everything = os.path.join(NPM, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
        cmd = [CONNECT, "--url", url or "http://127.0.0.1:%d" % self.srv.port, "--name", "ev",
               "--credential-file", os.path.join(self.dir, "ev.credential")] + list(extra) + ["--", "node", everything, "stdio"]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start_connector(self, *extra):
        self.proc = self.connector(*extra)
        self.assertTrue(wait_until(lambda: "ev__echo" in tool_names(self.srv, self.sid), timeout=30),
                        self.proc.poll() is not None and self.proc.stderr.read())

    def stop_connector(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.proc = None

    def test_the_server_s_tools_are_listed_and_called_through_litemcp(self):
        self.start_connector()
        names = tool_names(self.srv, self.sid)
        self.assertIn("ev__get-sum", names)
        msgs = result_of(self.srv, self.sid, 1, "ev__echo", {"message": "through the connector"})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "Echo: through the connector")
        msgs = result_of(self.srv, self.sid, 2, "ev__get-sum", {"a": 2, "b": 3})
        self.assertIn("5", msgs[-1]["result"]["content"][0]["text"])

    def test_progress_reaches_the_client(self):
        self.start_connector()
        msgs = result_of(self.srv, self.sid, 3, "ev__trigger-long-running-operation", {"duration": 1, "steps": 2},
                         meta={"progressToken": "lr"})
        progress = [m["params"] for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual([p["progress"] for p in progress], [1, 2], msgs)
        self.assertTrue(all(p["progressToken"] == "lr" for p in progress))
        self.assertIn("result", msgs[-1], msgs)

    def test_the_server_s_sampling_and_elicitation_reach_the_client_and_its_answers_the_server(self):
        self.start_connector()
        self.assertTrue(wait_until(lambda: "ev__trigger-sampling-request" in tool_names(self.srv, self.sid), timeout=30))
        sid, _ = self.srv.initialize(capabilities={"sampling": {}, "elicitation": {}})
        asked, got = call_answering(self.srv, sid, 5, "ev__trigger-sampling-request", {"prompt": "hi"},
                              {"role": "assistant", "content": {"type": "text", "text": "hello back"}, "model": "m"})
        self.assertEqual([m["method"] for m in asked], ["sampling/createMessage"])
        self.assertIn("hi", asked[0]["params"]["messages"][0]["content"]["text"])
        self.assertIn("hello back", got["result"]["content"][0]["text"], got)
        asked, got = call_answering(self.srv, sid, 6, "ev__trigger-elicitation-request", {}, {"action": "accept", "content": {"name": "Ada"}})
        self.assertEqual([m["method"] for m in asked], ["elicitation/create"])
        self.assertIn("Name: Ada", "".join(c["text"] for c in got["result"]["content"]), got)
        # A client that did not declare sampling: the server gets a JSON-RPC
        # error, which it reports as its tool's error.
        msgs = result_of(self.srv, self.sid, 7, "ev__trigger-sampling-request", {"prompt": "hi"})
        final = msgs[-1]
        self.assertTrue("error" in final or final["result"].get("isError"), final)

    def test_a_tool_the_server_runs_only_as_a_task_is_followed_to_its_result(self):
        self.start_connector()
        self.assertTrue(wait_until(lambda: "ev__simulate-research-query" in tool_names(self.srv, self.sid), timeout=30))
        tool = [t for t in listed_tools(self.srv, self.sid) if t["name"] == "ev__simulate-research-query"][0]
        self.assertEqual(tool["execution"]["taskSupport"], "optional")  # the connector runs the server's task
        msgs = result_of(self.srv, self.sid, 8, "ev__simulate-research-query", {"topic": "tides"})
        self.assertIn("Research Report: tides", msgs[-1]["result"]["content"][0]["text"], msgs)

    def test_calls_wait_while_the_connector_is_away_and_are_answered_when_it_returns(self):
        self.start_connector()
        self.stop_connector(signal.SIGKILL)
        r = self.srv.open("POST", *call(self.sid, 4, "ev__echo", {"message": "queued"}))
        time.sleep(2)  # past the offline grace: the call waits in the queue
        self.proc = self.connector()  # the same credential file: registered again, the queue kept
        msgs = messages(r)
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "Echo: queued", msgs)

    def test_an_unreachable_litemcp_or_a_missing_command_is_said_at_once(self):
        p = self.connector(url="http://127.0.0.1:1")
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot reach litemcp", err)
        p = subprocess.run([CONNECT, "--name", "x", "--", "/nonexistent/server"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot run", p.stderr)
        p = subprocess.run([CONNECT, "--", "node"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    CONNECT = sys.argv.pop(1)
    NPM = os.path.abspath(sys.argv.pop(1))
    subprocess.check_output([os.path.join(here, "..", "npm", "install.sh"), NPM], text=True)
    unittest.main(verbosity=2)
