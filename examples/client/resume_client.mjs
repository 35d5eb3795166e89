// An MCP client on the official TypeScript SDK that uses litemcp's durable
// sessions: it connects, lists and calls tools, lets the server drop a
// stream mid-call (the SDK resumes it), then drops the connection itself in
// the middle of a long call and resumes the same request, from a new
// transport, with the last event id it saw.
//
//   node resume_client.mjs http://127.0.0.1:8080/mcp
// (run it where `npm install @modelcontextprotocol/sdk@1.32.2` put node_modules)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const url = new URL(process.argv[2] ?? "http://127.0.0.1:8080/mcp");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const check = (cond, what) => {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
};
const text = (result) => result.content?.[0]?.text;

// 1. Connect and use the session.
const client = new Client({ name: "litemcp-resume-example", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);
const sessionId = transport.sessionId;
check(/^[0-9a-f]{32}$/.test(sessionId), `connected, session ${sessionId}`);
const { tools } = await client.listTools();
check(tools.some((t) => t.name === "countdown"), `${tools.length} tools listed`);
check(text(await client.callTool({ name: "echo", arguments: { text: "hello" } })) === "hello", "echo answered");

// 2. The server closes the stream mid-call; the SDK reconnects with Last-Event-ID.
const reconnection = await client.callTool({ name: "test_reconnection", arguments: {} });
check(text(reconnection).includes("reconnected"), "the server dropped the stream and the SDK resumed it");

// 3. Drop the connection ourselves in the middle of a long call.
let lastEventId;
const progress = [];
const pending = client.request(
  { method: "tools/call", params: { name: "countdown", arguments: { steps: 8 } } },
  CallToolResultSchema,
  { onresumptiontoken: (token) => { lastEventId = token; }, onprogress: (p) => progress.push(p.progress), timeout: 30000 },
);
pending.catch(() => {}); // this transport is about to go away
while (progress.length < 3) await sleep(20);
await transport.close(); // the connection is gone; the call goes on in litemcp
check(lastEventId !== undefined, `disconnected after ${progress.length} progress events (last event id ${lastEventId})`);

// 4. A new transport on the same session resumes the same request.
const again = new Client({ name: "litemcp-resume-example", version: "1.0.0" });
const resumed = new StreamableHTTPClientTransport(url, { sessionId });
await again.connect(resumed); // an existing session id: no new initialize
const more = [];
const result = await again.request(
  { method: "tools/call", params: { name: "countdown", arguments: { steps: 8 } } },
  CallToolResultSchema,
  { resumptionToken: lastEventId, onprogress: (p) => more.push(p.progress), timeout: 30000 },
);
check(text(result) === "countdown of 8 finished", "the resumed request delivered its result");
await resumed.terminateSession();
await again.close();
console.log("resume_client: all checks passed");
