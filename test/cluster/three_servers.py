"""A unittest base class: three litemcp servers sharing one JetStream store.

The test runs under nats_cluster.py (TEST_NATS_SERVERS names the NATS
servers); without it the class is skipped. Subclasses set `binary` (the
litemcp program) before unittest runs, and may set `args` (extra options)."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from litemcp_harness import Server  # noqa: E402


class ThreeServers(unittest.TestCase):
    binary = None
    args = ()

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("TEST_NATS_SERVERS"):
            raise unittest.SkipTest("run under test/cluster/nats_cluster.py")
        # One data folder for all: the harness names the JetStream prefix after
        # it, so the three share their streams and buckets.
        cls.data = tempfile.mkdtemp(prefix="litemcp-cluster-")
        cls.a = Server(ThreeServers.binary, cls.args, data=cls.data).start()
        cls.b = Server(ThreeServers.binary, cls.args, data=cls.data).start()
        cls.c = Server(ThreeServers.binary, cls.args, data=cls.data).start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b, cls.c):
            s.cleanup()
        shutil.rmtree(cls.data, ignore_errors=True)

    def another(self):
        """A fourth server on the same store (to kill); the caller cleans it up."""
        return Server(ThreeServers.binary, self.args, data=self.data).start()
