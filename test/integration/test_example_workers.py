"""The example workers of examples/worker/, run as a user would run them
against the real litemcp binary: each registers, serves its tools to an MCP
client (progress included), answers a tool it does not have with a JSON-RPC
error, and gets its queue back after a restart.

usage: test_example_workers.py /path/to/litemcp /path/to/litemcp-example-worker examples/worker/python/worker.py"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, call, messages, wait_until  # noqa: E402

BINARY = CPP_WORKER = PY_WORKER = None


class ExampleWorkers(unittest.TestCase):
    def setUp(self):
        self.srv = Server(BINARY).start()
        self.sid, _ = self.srv.initialize()
        self.state = tempfile.mkdtemp(prefix="litemcp-workers-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.kill()
            p.wait()
            p.stdout.close()
        self.srv.cleanup()

    def start_worker(self, kind):
        if kind == "cpp":
            cmd = [CPP_WORKER, "--port", str(self.srv.port), "--state", os.path.join(self.state, "cpp")]
        else:
            cmd = [sys.executable, PY_WORKER, "--url", "http://127.0.0.1:%d" % self.srv.port,
                   "--state", os.path.join(self.state, "py")]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.assertIn("registered as", p.stdout.readline())
        self.assertIn("attached", p.stdout.readline())
        return p

    def tools_call(self, id, name, arguments):
        body, h = call(self.sid, id, name, arguments, meta={"progressToken": "t%d" % id})
        return messages(self.srv.open("POST", body, h))

    def progress(self, msgs, token):
        """The progress values of a call's stream, each for the client's own token."""
        notes = [m["params"] for m in msgs if m.get("method") == "notifications/progress"]
        self.assertEqual({n["progressToken"] for n in notes}, {token})
        return [n["progress"] for n in notes]

    def test_the_cpp_worker_serves_its_tools(self):
        self.start_worker("cpp")
        msgs = self.tools_call(1, "fibonacci", {"n": 50})
        self.assertEqual(msgs[-1]["result"]["structuredContent"], {"value": 12586269025})
        msgs = self.tools_call(2, "count_primes", {"below": 1000})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "168 primes below 1000")
        self.assertEqual(self.progress(msgs, "t2"), list(range(1, 21)))

    def test_the_python_worker_serves_its_tools(self):
        self.start_worker("py")
        msgs = self.tools_call(1, "word_count", {"text": "one two three"})
        self.assertEqual(msgs[-1]["result"]["structuredContent"], {"words": 3})
        msgs = self.tools_call(2, "slow_count", {"n": 5})
        self.assertEqual(msgs[-1]["result"]["content"][0]["text"], "counted to 5")
        self.assertEqual(self.progress(msgs, "t2"), [1, 2, 3, 4, 5])

    def test_a_tool_the_worker_does_not_have_gets_a_json_rpc_error(self):
        for kind, name in [("cpp", "cpp-tools"), ("py", "py-tools")]:
            self.start_worker(kind)
            # Registered again with the worker's credential and another tool,
            # which litemcp lists and the running worker does not know.
            with open(os.path.join(self.state, kind)) as f:
                credential = f.read().strip()
            tool = "gone_" + kind
            status, _, text = self.srv.request(
                "POST", {"name": name, "tools": [{"name": tool, "inputSchema": {"type": "object"}}]},
                {"Authorization": "Bearer " + credential}, path="/workers")
            self.assertEqual(status, 200, text)
            body, h = call(self.sid, 20, tool, {})
            error = messages(self.srv.open("POST", body, h))[-1]["error"]
            self.assertEqual(error["code"], -32602)
            self.assertIn(tool, error["message"])

    def test_a_restarted_worker_registers_again_and_gets_its_queue_back(self):
        for kind, tool, args, expect in [("cpp", "fibonacci", {"n": 10}, "55"),
                                         ("py", "word_count", {"text": "a b"}, "2 words")]:
            p = self.start_worker(kind)
            p.kill()
            p.wait()
            # A call made while the worker is down waits in its queue (the
            # grace period keeps the worker online for a restart).
            body, h = call(self.sid, 10, tool, args)
            resp = self.srv.open("POST", body, h)
            self.start_worker(kind)  # same state file: same credential
            self.assertEqual(messages(resp)[-1]["result"]["content"][0]["text"], expect)


if __name__ == "__main__":
    BINARY, CPP_WORKER, PY_WORKER = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main(verbosity=2)
