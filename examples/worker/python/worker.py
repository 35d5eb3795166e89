#!/usr/bin/env python3
"""A litemcp worker in Python, standard library only: copy it and replace the
tools with yours.

It registers two tools with litemcp and keeps one SSE stream open; each
event on it is one MCP JSON-RPC message: io.litemcp/attached first, then
tools/call requests (the JSON-RPC id is the call's id) and
notifications/cancelled. Each call runs on a thread and posts JSON-RPC
messages back to /workers/<name>/calls/<id>: notifications/progress, then
the JSON-RPC response. The credential litemcp hands out at the first
registration is kept in a state file, so a restarted worker registers again
under the same name and gets its queue back.

  python3 worker.py --url http://127.0.0.1:8080 [--name py-tools]
                    [--state ./py-tools.credential] [--concurrency 4]

Tools:
  word_count   counts the words of a text (answers at once)
  slow_count   counts to n, one step every 100 ms, reporting progress
               (a long-running tool; stops when the client cancels)
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

TOOLS = [
    {
        "name": "word_count",
        "title": "Word count",
        "description": "Counts the words of a text",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "outputSchema": {"type": "object", "properties": {"words": {"type": "integer"}}, "required": ["words"]},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "slow_count",
        "title": "Slow count",
        "description": "Counts to n, one step every 100 ms, reporting progress",
        "inputSchema": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 600}},
                        "required": ["n"]},
    },
]


class Litemcp:
    """The worker API over plain HTTP/1.1."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.credential = None

    def conn(self, timeout=30):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def headers(self):
        h = {"Content-Type": "application/json"}
        if self.credential:
            h["Authorization"] = "Bearer " + self.credential
        return h

    def post(self, path, body):
        c = self.conn()
        try:
            c.request("POST", path, json.dumps(body), self.headers())
            r = c.getresponse()
            text = r.read().decode()
            return r.status, json.loads(text) if text else {}
        finally:
            c.close()


def register(api, name, state, concurrency):
    if os.path.exists(state):
        with open(state) as f:
            api.credential = f.read().strip()
    status, reply = api.post("/workers", {"name": name, "tools": TOOLS, "concurrency": concurrency})
    if status == 201:
        api.credential = reply["credential"]
        with open(state, "w") as f:
            f.write(api.credential)
        os.chmod(state, 0o600)
    elif status != 200:
        sys.exit("registration failed: %d %s" % (status, reply))
    print("registered as %s (worker %s), queue %s" % (name, reply["workerId"], reply["topic"]), flush=True)


def word_count(args, report, cancelled):
    words = len(args["text"].split())
    return {"content": [{"type": "text", "text": "%d words" % words}], "structuredContent": {"words": words}}


def slow_count(args, report, cancelled):
    n = args["n"]
    for i in range(1, n + 1):
        if cancelled.is_set():
            return None
        time.sleep(0.1)
        report(i, n, "%d of %d" % (i, n))
    return {"content": [{"type": "text", "text": "counted to %d" % n}]}


HANDLERS = {"word_count": word_count, "slow_count": slow_count}


def handle(api, name, request, cancelled):
    """Runs one call and posts its answer: JSON-RPC messages to the call's URL."""
    call_id = request["id"]  # the call's id, the same on every delivery of it
    path = "/workers/%s/calls/%s" % (name, call_id)
    params = request.get("params", {})
    meta = params.get("_meta", {})
    # Delivery is at-least-once: a call may come again (meta["io.litemcp/attempt"]
    # > 1) after a restart or a timeout. meta["io.litemcp/deliveryId"] is the same
    # on every delivery, so a tool with side effects (a mail sent, a row written)
    # should record it and do them once. These two tools have none.

    def send(message):
        status, reply = api.post(path, dict({"jsonrpc": "2.0"}, **message))
        if status != 200:
            print("litemcp refused %s: %d %s" % (message.get("method", "the answer"), status, reply), flush=True)

    def report(progress, total, message):
        p = {"progress": progress, "total": total, "message": message}
        if "progressToken" in meta:  # the client's own, when it asked for progress
            p["progressToken"] = meta["progressToken"]
        send({"method": "notifications/progress", "params": p})

    tool = params.get("name")
    if request["method"] != "tools/call" or tool not in HANDLERS:
        # Not one of our tools (this worker serves no resources or prompts): a
        # JSON-RPC error, final for the call, unlike a failure.
        send({"id": call_id, "error": {"code": -32602, "message": "Unknown tool: %s" % tool}})
        return
    try:
        result = HANDLERS[tool](params.get("arguments", {}), report, cancelled)
    except Exception as e:  # this attempt failed: litemcp delivers the call again
        send({"method": "io.litemcp/failure", "params": {"error": "%s: %s" % (type(e).__name__, e)}})
        return
    # A tool that fails for its caller answers a result with "isError": true;
    # None means the client cancelled, and wants no answer.
    if result is not None:
        send({"id": call_id, "result": result})


def serve(api, name):
    """One SSE stream of calls; returns when it ends."""
    c = api.conn(timeout=None)
    h = api.headers()
    h["Accept"] = "text/event-stream"
    c.request("GET", "/workers/%s/calls" % name, headers=h)
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("attach failed: %d %s" % (r.status, r.read()))
    running = {}  # call id -> cancel flag
    data = []
    for raw in r:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
            continue
        if line or not data:
            continue
        message = json.loads("\n".join(data))  # one JSON-RPC message
        data = []
        method = message.get("method")
        if method == "io.litemcp/attached":
            print("instance %s attached" % message["params"]["instance"], flush=True)
        elif method == "notifications/cancelled":
            flag = running.pop(message["params"].get("requestId"), None)
            if flag:
                flag.set()
        elif "id" in message:  # a request: tools/call (resources/read and prompts/get when served)
            if message["id"] in running:
                continue  # delivered again while it still runs here: that run answers it
            flag = running[message["id"]] = threading.Event()

            def run(message=message, flag=flag):
                try:
                    handle(api, name, message, flag)
                finally:
                    running.pop(message["id"], None)
            threading.Thread(target=run, daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--name", default="py-tools")
    p.add_argument("--state", help="where the credential is kept (default: ./<name>.credential)")
    p.add_argument("--concurrency", type=int, default=4)
    a = p.parse_args()
    api = Litemcp(a.url)
    register(api, a.name, a.state or "./%s.credential" % a.name, a.concurrency)
    delay = 0.5
    while True:
        try:
            serve(api, a.name)
            delay = 0.5
        except (OSError, http.client.HTTPException, RuntimeError) as e:
            print("stream lost (%s); reconnecting in %.1f s" % (e, delay), flush=True)
            time.sleep(delay)
            delay = min(delay * 2, 10)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
