"""The product without examples/ (server/app/main.cpp, built as litemcp-core): it
builds, starts, serves MCP with no tools of its own, and refuses --examples
with a clear message.

usage: test_product.py /path/to/litemcp-core [unittest args]"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import Server, messages  # noqa: E402

BINARY = None


class ProductWithoutExamples(unittest.TestCase):
    def test_help_and_a_clear_refusal_of_examples(self):
        h = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=20)
        self.assertEqual(h.returncode, 0, h.stderr)
        self.assertIn("--port", h.stdout)
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([BINARY, "--port", "0", "--data", d + "/data", "--examples"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2)
            self.assertIn("this build has no example tools", r.stderr)
            self.assertFalse(os.path.exists(d + "/data"))  # refused before touching the disk

    def test_serves_mcp_with_no_tools_of_its_own(self):
        srv = Server(BINARY, examples=False).start()
        try:
            sid, _ = srv.initialize()
            listed = messages(srv.open("POST", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                       {"Mcp-Session-Id": sid}))
            self.assertEqual(listed[-1]["result"]["tools"], [])
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
