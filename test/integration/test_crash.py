"""Crash test of the whole server: client threads open sessions and call
tools (quick ones, and slow ones that report progress) over POST with SSE
answers while, round after round, litemcp is killed with -9 at a random
moment and started again on the same data folder (--fsync always). After
each restart:

  * every session whose initialize was answered 200, in any round, still
    answers a ping (200, not 404);
  * every request whose stream was cut is resumed with GET + Last-Event-ID
    (the last event the client had): the replay starts after that event,
    repeats nothing the client had, and ends with the request's final
    response -- its result, or the -31000 error of a request the kill
    interrupted (docs/server.md) -- so no client waits forever;
  * every request's stream replays, from its first event, exactly the events
    the client received (ids and data, byte for byte) and then what its
    resume gave;
  * the events of each request are its own, in order, without a gap
    (countdown's progress is 1, 2, ... up to where it stopped).

The last pass replays every request of every round once more.

usage: test_crash.py /path/to/litemcp [--rounds N] [--seed S] [unittest args]

The test command runs 3 rounds; a longer run:
    python3 test/integration/test_crash.py build/litemcp --rounds 100 --seed 42"""

import http.client
import itertools
import json
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from litemcp_harness import LEGACY, Server, call, events, wait_until  # noqa: E402

BINARY = None
ROUNDS = 3
SEED = None

CLIENTS = 6
INTERRUPTED = {"code": -31000,
               "message": "the server stopped while this request ran, before it was answered; send it again",
               "data": {"reason": "server_stopped", "retryable": True}}
# What a cut connection raises while a response is read (IncompleteRead and
# RemoteDisconnected are HTTPExceptions; resets and refusals are OSErrors).
CUT = (OSError, http.client.HTTPException)


def position(event_id):
    """(stream, offset) of a POST stream's event id "<n>-<o>"."""
    stream, _, offset = event_id.partition("-")
    return int(stream), int(offset)


class Request:
    """One tools/call as its client saw it."""

    def __init__(self, sid, id, tool, arguments, token):
        self.sid, self.id, self.tool, self.arguments, self.token = sid, id, tool, arguments, token
        self.received = []  # (event id, data) of each whole event, the priming event included
        self.final = None   # the response message, once received
        self.resumed = []   # (event id, data) that resuming the cut stream gave

    def label(self):
        return "session %s request %d (%s %s)" % (self.sid, self.id, self.tool, json.dumps(self.arguments))

    def history(self):
        """Every data event of the stream after its first event, as the client now has them."""
        return self.received[1:] + self.resumed


class Round:
    """The client threads of one round, and what they were acknowledged."""

    def __init__(self, srv, sessions, rng, ids):
        self.srv, self.sessions, self.ids = srv, sessions, ids
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.requests = []
        self.new_sessions = []
        self.streams = 0  # calls that got their first event
        self.unacknowledged = 0  # calls and initializes the kill left without an answer or an event
        self.anomalies = []      # whole HTTP answers that were wrong: the test fails on them
        self.threads = [threading.Thread(target=self.client, args=(random.Random(rng.random()),), daemon=True)
                        for _ in range(CLIENTS)]

    def client(self, rng):
        while not self.stop.is_set():
            with self.lock:
                sid = rng.choice(self.sessions) if self.sessions and rng.random() > 0.2 else None
            try:
                if sid is None:
                    self.initialize()
                else:
                    self.call(sid, rng)
            except CUT:
                with self.lock:
                    self.unacknowledged += 1
            time.sleep(rng.uniform(0, 0.03))

    def initialize(self):
        status, r, text = self.srv.request("POST", {
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {},
                       "clientInfo": {"name": "litemcp-crash", "version": "1"}}})
        if status != 200:
            with self.lock:
                self.anomalies.append("initialize answered %d: %s" % (status, text[:200]))
            return
        sid = r.getheader("Mcp-Session-Id")
        with self.lock:  # acknowledged: from here on it must survive every kill
            self.sessions.append(sid)
            self.new_sessions.append(sid)
        try:
            status, _, text = self.srv.request("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"},
                                               {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY})
        except CUT:
            return  # the session stands all the same
        if status != 202:
            with self.lock:
                self.anomalies.append("session %s: notifications/initialized answered %d: %s"
                                      % (sid, status, text[:200]))

    def call(self, sid, rng):
        id = next(self.ids)
        tool, arguments = rng.choice([
            ("echo", {"text": "echo %d" % id}),
            ("countdown", {"steps": rng.randint(3, 30)}),
            ("countdown", {"steps": rng.randint(3, 30)}),
            ("test_tool_with_progress", {}),
            ("test_tool_with_logging", {}),
        ])
        token = "p%d" % id
        req = Request(sid, id, tool, arguments, token)
        r = self.srv.open("POST", *call(sid, id, tool, arguments, meta={"progressToken": token}))
        if r.status != 200:
            with self.lock:
                self.anomalies.append("%s answered %d: %s" % (req.label(), r.status, r.read()[:200]))
            return
        try:
            for e in events(r):
                req.received.append((e.get("id"), e.get("data", "")))
                if len(req.received) == 1:
                    with self.lock:
                        self.streams += 1
                if e.get("data") and json.loads(e["data"]).get("id") == id:
                    req.final = json.loads(e["data"])
        except CUT:
            pass  # the kill: what came before it is acknowledged
        r._conn.close()
        with self.lock:
            if req.received:
                self.requests.append(req)
            else:
                self.unacknowledged += 1


class CrashTest(unittest.TestCase):
    def test_kill_9_under_concurrent_sessions_and_calls(self):
        seed = SEED if SEED is not None else int(time.time())
        rng = random.Random(seed)
        print("\ncrash: %d rounds, seed %d, %d clients" % (ROUNDS, seed, CLIENTS))
        # Checkpoints every 200 ms: kills land before, during and after them.
        srv = Server(BINARY, ["--fsync", "always", "--checkpoint-ms", "200"]).start()
        self.addCleanup(srv.cleanup)
        sessions, requests, ids = [], [], itertools.count(1)
        totals = dict(sessions=0, events=0, resumed=0, interrupted=0, unacknowledged=0)
        started = time.time()
        for n in range(1, ROUNDS + 1):
            t0 = time.time()
            rnd = Round(srv, sessions, rng, ids)
            for t in rnd.threads:
                t.start()
            time.sleep(rng.uniform(0.2, 2.0))
            # A slow build may not have a stream open yet: the kill waits for one.
            self.assertTrue(wait_until(lambda: rnd.streams > 0, timeout=120), "round %d: no call got an event" % n)
            rnd.stop.set()  # no new calls: the ones running now meet the kill
            srv.kill9()
            ran = time.time() - t0
            for t in rnd.threads:
                t.join(60)
                self.assertFalse(t.is_alive(), "a client thread still reads from the killed server")
            self.assertEqual(rnd.anomalies, [], "round %d: answers before the kill" % n)
            srv.proc.stdout.close()  # the killed process's; start() reads the new one's
            srv.start()

            for sid in sessions:
                self.check_session(srv, sid)
            events_checked = resumed = interrupted = 0
            for req in rnd.requests:
                self.check_received(req)
                if req.final is None:
                    self.resume(srv, req)
                    resumed += 1
                    interrupted += "error" in req.final
                self.check_final(req)
                events_checked += self.check_replay(srv, req, rng)
            requests += rnd.requests
            print("round %d: killed after %.2f s; %d sessions checked (%d new), %d events checked, "
                  "%d requests completed, %d resumed, %d interrupted requests answered, "
                  "%d calls and initializes unanswered; %.1f s"
                  % (n, ran, len(sessions), len(rnd.new_sessions), events_checked,
                     len(rnd.requests) - resumed, resumed, interrupted, rnd.unacknowledged, time.time() - t0))
            totals["sessions"] = len(sessions)
            totals["events"] += events_checked
            totals["resumed"] += resumed
            totals["interrupted"] += interrupted
            totals["unacknowledged"] += rnd.unacknowledged

        # After the last restart, everything of every round once more.
        replayed = sum(self.check_replay(srv, req) for req in requests)
        for sid in sessions:
            self.check_session(srv, sid)
        print("crash: %d rounds, seed %d: %d sessions valid, %d requests (%d events) replayed whole at the end, "
              "%d events checked after their round, %d requests resumed, %d interrupted requests answered, "
              "%d calls and initializes unanswered; %.0f s"
              % (ROUNDS, seed, totals["sessions"], len(requests), replayed, totals["events"], totals["resumed"],
                 totals["interrupted"], totals["unacknowledged"], time.time() - started))

    def check_session(self, srv, sid):
        status, _, text = srv.request("POST", {"jsonrpc": "2.0", "id": "alive", "method": "ping"},
                                      {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY})
        self.assertEqual(status, 200, "acknowledged session %s was lost: %s" % (sid, text[:200]))
        self.assertIn('"result":{}', text, "session %s: ping answered %s" % (sid, text[:200]))

    def check_received(self, req):
        """What the client received: the priming event, then events of this one stream, in order."""
        first_id, first_data = req.received[0]
        stream, offset = position(first_id)
        self.assertEqual((offset, first_data), (stream, ""), "%s: the first event is not the priming event %r"
                         % (req.label(), req.received[0]))
        self.assert_in_order(req, req.received, stream, offset - 1)

    def assert_in_order(self, req, evs, stream, after):
        for eid, data in evs:
            s, o = position(eid)
            self.assertEqual(s, stream, "%s: event %s is not of stream %d" % (req.label(), eid, stream))
            self.assertGreater(o, after, "%s: event %s comes after offset %d" % (req.label(), eid, after))
            after = o

    def resume(self, srv, req):
        """Resumes the cut stream from the last event the client had."""
        last = req.received[-1][0]
        g = srv.open("GET", headers={"Mcp-Session-Id": req.sid, "Last-Event-ID": last,
                                     "Accept": "text/event-stream"})
        if g.status != 200:
            self.fail("%s: resume after %s: %d %s" % (req.label(), last, g.status, g.read()[:200]))
        try:
            replay = [(e.get("id"), e.get("data", "")) for e in events(g)]
        except CUT as e:
            self.fail("%s: the resumed stream after %s did not end with a final response (%r): its client "
                      "would wait forever" % (req.label(), last, e))
        g._conn.close()
        priming = [ev for ev in replay if not ev[1]]
        req.resumed = [ev for ev in replay if ev[1]]
        self.assertTrue(all(eid == last for eid, _ in priming), "%s: resume after %s: %r"
                        % (req.label(), last, priming))
        had = {eid for eid, _ in req.received}
        self.assertEqual([eid for eid, _ in req.resumed if eid in had], [],
                         "%s: the resume after %s repeats events the client had" % (req.label(), last))
        self.assert_in_order(req, req.resumed, position(last)[0], position(last)[1])
        self.assertTrue(req.resumed, "%s: the resume after %s ended without a final response" % (req.label(), last))
        final = json.loads(req.resumed[-1][1])
        self.assertEqual(final.get("id"), req.id, "%s: the resume after %s ended with %r, not the final response"
                         % (req.label(), last, final))
        req.final = final

    def check_final(self, req):
        """Every event of the request is its own, without a gap, and the final is its answer."""
        messages = [json.loads(d) for _, d in req.received[1:] + req.resumed]
        self.assertEqual(messages[-1], req.final, "%s: events after the final response" % req.label())
        notes = messages[:-1]
        self.assertTrue(all("id" not in m and m.get("method") in ("notifications/progress", "notifications/message")
                            for m in notes), "%s: unexpected events %r" % (req.label(), notes))
        progress = [m["params"] for m in notes if m["method"] == "notifications/progress"]
        self.assertTrue(all(p["progressToken"] == req.token for p in progress), "%s: %r" % (req.label(), progress))
        steps = [p["progress"] for p in progress]
        logs = [m["params"]["data"] for m in notes if m["method"] == "notifications/message"]
        done = "result" in req.final
        if not done:
            self.assertEqual(req.final["error"], INTERRUPTED, "%s: %r" % (req.label(), req.final))
        if req.tool == "countdown":
            n = req.arguments["steps"]
            self.assertEqual(steps, list(range(1, len(steps) + 1)), "%s: progress with a gap" % req.label())
            self.assertLessEqual(len(steps), n, req.label())
            expected = ("countdown of %d finished" % n) if done else None
        elif req.tool == "test_tool_with_progress":
            self.assertEqual(steps, [0, 50, 100][:len(steps)], "%s: progress with a gap" % req.label())
            expected = "Progress tool completed" if done else None
        elif req.tool == "test_tool_with_logging":
            self.assertEqual(logs, ["Tool execution started", "Tool processing data",
                                    "Tool execution completed"][:len(logs)], "%s: logs with a gap" % req.label())
            expected = "Tool with logging executed successfully" if done else None
        else:
            self.assertEqual(notes, [], req.label())
            expected = req.arguments["text"] if done else None
        if done:
            self.assertEqual(req.final["result"]["content"][0]["text"], expected, "%s: %r" % (req.label(), req.final))
            if req.tool == "countdown":
                self.assertEqual(len(steps), req.arguments["steps"], "%s: a result without all its progress"
                                 % req.label())

    def check_replay(self, srv, req, rng=None):
        """The whole stream from its first event replays what the client has,
        byte for byte; with rng, so does its rest from an event in the middle."""
        history = req.history()
        n = self.replay_from(srv, req, req.received[0][0], history)
        if rng and len(history) > 1:
            i = rng.randrange(len(history) - 1)
            n += self.replay_from(srv, req, history[i][0], history[i + 1:])
        return n

    def replay_from(self, srv, req, last, expected):
        g = srv.open("GET", headers={"Mcp-Session-Id": req.sid, "Last-Event-ID": last,
                                     "Accept": "text/event-stream"})
        if g.status != 200:
            self.fail("%s: replay after %s: %d %s" % (req.label(), last, g.status, g.read()[:200]))
        try:
            replay = [(e.get("id"), e.get("data", "")) for e in events(g) if e.get("data")]
        except CUT as e:
            self.fail("%s: the replay after %s did not end (%r)" % (req.label(), last, e))
        g._conn.close()
        self.assertEqual(replay, expected, "%s: the replay after %s differs from what the client has"
                         % (req.label(), last))
        return len(replay)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    for flag in ("--rounds", "--seed"):
        if flag in sys.argv:
            i = sys.argv.index(flag)
            value = int(sys.argv[i + 1])
            del sys.argv[i:i + 2]
            if flag == "--rounds":
                ROUNDS = value
            else:
                SEED = value
    unittest.main(verbosity=2)
