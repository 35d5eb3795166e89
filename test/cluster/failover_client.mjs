// The official TypeScript SDK client (v1) through the balancer while the
// server holding its stream is killed: test_failover.py drives it over
// stdin/stdout.
//
//   node failover_client.mjs URL
//
// 1. starts a long countdown, drops its connection after 3 progress events
//    and prints "dropped <session>"; waits for "go";
// 2. resumes the request from a new transport (GET with Last-Event-ID,
//    wherever the balancer sends it); the driver, which sees where the
//    stream is, answers "again" (resume once more: it landed on the server
//    running the request) or "killed" (it killed the server holding it);
// 3. the SDK reconnects on its own; checks the request's result.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import readline from "node:readline";

const url = new URL(process.argv[2]);
const steps = 60;
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (l) => waiting.shift()?.(l.trim()));
const next = () => new Promise((r) => waiting.push(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const call = { method: "tools/call", params: { name: "countdown", arguments: { steps } } };

const first = new Client({ name: "failover", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(url);
await first.connect(transport);
const sessionId = transport.sessionId;
let lastEventId;
let seen = 0;

const started = first.request(call, CallToolResultSchema, {
  onresumptiontoken: (t) => { lastEventId = t; },
  onprogress: () => { seen++; },
  timeout: 60000,
});
started.catch(() => {});
while (seen < 3) await sleep(10);
await transport.close();
console.log("dropped " + sessionId);
await next();

for (;;) {
  const client = new Client({ name: "failover", version: "1.0.0" });
  const resumed = new StreamableHTTPClientTransport(url, { sessionId });
  await client.connect(resumed);
  // A resumed request reports no events to its caller (the SDK passes no
  // callbacks on that path): the driver sees the stream on the servers.
  const result = client.request(call, CallToolResultSchema, { resumptionToken: lastEventId, timeout: 60000 });
  result.catch(() => {});
  const v = await next();
  if (v === "again") {
    await resumed.close();
    continue;
  }
  const r = await result;
  const text = r.content?.[0]?.text;
  if (text !== `countdown of ${steps} finished`) throw new Error("unexpected result: " + JSON.stringify(r));
  console.log("result " + text);
  await resumed.terminateSession();
  await client.close();
  break;
}
lines.close();
