// An upstream MCP server for the upstream tests: the official TypeScript SDK
// (npm @modelcontextprotocol/sdk 1.32.2) over Streamable HTTP, stateful
// (sessions, SSE answers with event ids and the SDK's in-memory event store,
// so a client may resume them) or --stateless (no session: every request alone),
// or --legacy-sse: the HTTP+SSE transport of 2024-11-05 (the SDK's
// SSEServerTransport): GET /sse opens a session's stream, whose endpoint
// event names /messages?sessionId=..., where the client POSTs.
// It counts every call it receives by litemcp's delivery id, and notes the
// session each came on, so a test can check what reached it: GET /stats. POST /add-tool adds a tool (the SDK
// then sends list_changed).
//
//   node upstream_server.mjs [--port N] [--stateless | --legacy-sse]     prints "listening PORT"
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import { CreateMessageResultSchema, ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { InMemoryTaskStore, InMemoryTaskMessageQueue } from "@modelcontextprotocol/sdk/experimental/tasks";
import { z } from "zod";

const args = process.argv.slice(2);
const stateless = args.includes("--stateless");
const legacySse = args.includes("--legacy-sse");
const port = Number(args[args.indexOf("--port") + 1] || 0) || 0;

const stats = { calls: 0, byDelivery: {}, cancelled: 0, initialize: 0, tools: {}, tasks: {}, sessions: [] };

// Tasks (2025-11-25, the SDK's experimental tasks): one store for every
// session; GET /stats says how each task ended ("tasks": id -> status).
class CountingTaskStore extends InMemoryTaskStore {
  async createTask(...a) {
    const t = await super.createTask(...a);
    stats.tasks[t.taskId] = t.status;
    return t;
  }
  async updateTaskStatus(id, status, ...rest) {
    stats.tasks[id] = status;
    return super.updateTaskStatus(id, status, ...rest);
  }
  async storeTaskResult(id, status, ...rest) {
    stats.tasks[id] = status;
    return super.storeTaskResult(id, status, ...rest);
  }
}
const taskStore = new CountingTaskStore();
const taskMessageQueue = new InMemoryTaskMessageQueue();
const servers = new Set();
const extraTools = [];

function count(name, extra) {
  stats.calls++;
  stats.tools[name] = (stats.tools[name] || 0) + 1;
  stats.sessions.push([name, extra?.sessionId ?? null]);  // which client's session (litemcp server) called
  const id = extra?._meta?.["io.litemcp/deliveryId"];
  if (id) stats.byDelivery[id] = (stats.byDelivery[id] || 0) + 1;
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    });
  });

// Waits ms per step, sending a progress notification after each when the
// call has a token; a cancelled call is counted (stats.cancelled) and throws.
async function steps_with_progress(steps, ms, extra) {
  const token = extra._meta?.progressToken;
  try {
    for (let i = 1; i <= steps; i++) {
      await sleep(ms, extra.signal);
      if (token !== undefined)
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
        });
    }
  } catch (e) {
    stats.cancelled++;
    throw e;
  }
}

function makeServer() {
  const server = new McpServer(
    { name: "upstream-fixture", version: "1.0.0" },
    {
      capabilities: { logging: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore,
      taskMessageQueue,
    },
  );
  server.tool("echo", "Echoes its text argument", { text: z.string() }, async ({ text }, extra) => {
    count("echo", extra);
    return { content: [{ type: "text", text }] };
  });
  server.tool("add", "Adds two numbers", { a: z.number(), b: z.number() }, async ({ a, b }, extra) => {
    count("add", extra);
    return { content: [{ type: "text", text: String(a + b) }] };
  });
  server.tool(
    "slow",
    "Sends a progress notification per step, then answers",
    { steps: z.number(), ms: z.number() },
    async ({ steps, ms }, extra) => {
      count("slow", extra);
      await steps_with_progress(steps, ms, extra);
      return { content: [{ type: "text", text: `done after ${steps}` }] };
    },
  );
  server.tool("log", "Logs its text at info, then answers", { text: z.string() }, async ({ text }, extra) => {
    count("log", extra);
    await extra.sendNotification({
      method: "notifications/message",
      params: { level: "info", logger: "fixture", data: text },
    });
    return { content: [{ type: "text", text: "logged" }] };
  });
  server.tool("huge", "Answers with mb megabytes of text", { mb: z.number() }, async ({ mb }, extra) => {
    count("huge", extra);
    return { content: [{ type: "text", text: "x".repeat(mb * 1024 * 1024) }] };
  });
  server.tool("boom", "Always fails", {}, async (_args, extra) => {
    count("boom", extra);
    throw new Error("boom went the tool");
  });
  server.tool("ask", "Asks the client's model (sampling)", { prompt: z.string() }, async ({ prompt }, extra) => {
    count("ask", extra);
    const r = await extra.sendRequest(
      {
        method: "sampling/createMessage",
        params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 10 },
      },
      CreateMessageResultSchema,
    );
    return { content: [{ type: "text", text: "model said: " + r.content.text }] };
  });
  server.tool(
    "ask_slow",
    "Asks the client's model (sampling), then sends a progress notification per step and answers",
    { prompt: z.string(), steps: z.number(), ms: z.number() },
    async ({ prompt, steps, ms }, extra) => {
      count("ask_slow", extra);
      const r = await extra.sendRequest(
        {
          method: "sampling/createMessage",
          params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 10 },
        },
        CreateMessageResultSchema,
      );
      await steps_with_progress(steps, ms, extra);
      return { content: [{ type: "text", text: "model said: " + r.content.text }] };
    },
  );
  server.tool("elicit", "Asks the user for a name (elicitation)", {}, async (_args, extra) => {
    count("elicit", extra);
    const r = await extra.sendRequest(
      {
        method: "elicitation/create",
        params: {
          message: "Your name?",
          requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        },
      },
      ElicitResultSchema,
    );
    return { content: [{ type: "text", text: r.action === "accept" ? "hello " + r.content.name : r.action }] };
  });
  server.tool("pause", "Ends its answer's stream half way (SEP-1699), then answers", {}, async (_args, extra) => {
    count("pause", extra);
    const token = extra._meta?.progressToken;
    const progress = (n) =>
      token === undefined
        ? Promise.resolve()
        : extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: n, total: 2 } });
    await progress(1);
    if (!extra.closeSSEStream) throw new Error("the transport cannot close the stream");
    extra.closeSSEStream();
    await sleep(300);
    await progress(2);
    return { content: [{ type: "text", text: "after the pause" }] };
  });
  server.resource("hello", "fixture://hello", { mimeType: "text/plain" }, async (uri) => ({
    contents: [{ uri: uri.href, text: "hello from the upstream" }],
  }));
  server.prompt("greet", "Greets someone", { who: z.string() }, ({ who }) => ({
    messages: [{ role: "user", content: { type: "text", text: `Hello, ${who}!` } }],
  }));
  // Tools that run only as tasks (execution.taskSupport "required").
  const plainTask = {
    getTask: (_a, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: (_a, extra) => extra.taskStore.getTaskResult(extra.taskId),
  };
  server.experimental.tasks.registerToolTask("job", { description: "A task that completes after ms", inputSchema: { ms: z.number() } }, {
    ...plainTask,
    async createTask({ ms }, extra) {
      count("job", extra);
      const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl, pollInterval: 100 });
      setTimeout(() => {
        if (stats.tasks[task.taskId] !== "working") return;  // cancelled meanwhile
        extra.taskStore
          .storeTaskResult(task.taskId, "completed", { content: [{ type: "text", text: `job done after ${ms}` }] })
          .catch(() => {});
      }, ms);
      return { task };
    },
  });
  server.experimental.tasks.registerToolTask("job_ask", { description: "A task that asks the user's name", inputSchema: {} }, {
    ...plainTask,
    async createTask(_args, extra) {
      count("job_ask", extra);
      const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl, pollInterval: 100 });
      (async () => {
        const r = await extra.sendRequest(
          {
            method: "elicitation/create",
            params: {
              message: "Your name, for the task?",
              requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
            },
          },
          ElicitResultSchema,
          { relatedTask: { taskId: task.taskId } },
        );
        await extra.taskStore.updateTaskStatus(task.taskId, "working");
        await extra.taskStore.storeTaskResult(task.taskId, "completed", {
          content: [{ type: "text", text: "the task says hello " + (r.content?.name ?? r.action) }],
        });
      })().catch(() => {});
      return { task };
    },
  });
  for (const name of extraTools)
    server.tool(name, "Added at run time", {}, async (_a, extra) => {
      count(name, extra);
      return { content: [{ type: "text", text: name }] };
    });
  servers.add(server);
  return server;
}

const transports = new Map();

async function handleLegacy(req, res, body) {
  const url = new URL(req.url, "http://localhost");
  if (req.method === "GET" && url.pathname === "/sse") {
    const transport = new SSEServerTransport("/messages", res);
    transports.set(transport.sessionId, transport);
    res.on("close", () => transports.delete(transport.sessionId));
    await makeServer().connect(transport);
    return;
  }
  if (req.method === "POST" && url.pathname === "/messages") {
    const transport = transports.get(url.searchParams.get("sessionId"));
    if (!transport) {
      res.writeHead(404).end("no such session");
      return;
    }
    if (body?.method === "initialize") stats.initialize++;
    await transport.handlePostMessage(req, res, body);
    return;
  }
  res.writeHead(405).end();
}

async function handle(req, res) {
  if (req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  if (legacySse && req.method === "GET") return handleLegacy(req, res, undefined);
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (req.url === "/add-tool") {
    const name = JSON.parse(Buffer.concat(chunks).toString()).name;
    extraTools.push(name);
    for (const s of servers)
      s.tool(name, "Added at run time", {}, async (_a, extra) => {
        count(name, extra);
        return { content: [{ type: "text", text: name }] };
      });
    res.writeHead(200).end("{}");
    return;
  }
  let body;
  try {
    body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (legacySse) return handleLegacy(req, res, body);
  if (body?.method === "initialize") stats.initialize++;
  if (stateless) {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const server = makeServer();
    res.on("close", () => {
      transport.close();
      server.close();
      servers.delete(server);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports.get(sid) : undefined;
  if (!transport) {
    if (sid || body?.method !== "initialize") {
      res.writeHead(sid ? 404 : 400).end();
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      retryInterval: 100,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    await makeServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer((req, res) =>
  handle(req, res).catch((e) => {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }),
);
httpServer.listen(port, "127.0.0.1", () => console.log(`listening ${httpServer.address().port}`));
