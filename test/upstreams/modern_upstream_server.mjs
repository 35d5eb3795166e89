// An upstream MCP server that speaks only 2026-07-28, for the upstream tests:
// the official TypeScript SDK v2 (npm @modelcontextprotocol/server 2.4.0)
// through its stateless serving entry createMcpHandler, legacy requests
// refused (initialize gets an error: litemcp must find it with
// server/discover). Its tools ask the client for input the 2026-07-28 way,
// with input_required rounds. GET /stats says what reached it.
//
//   node modern_upstream_server.mjs [--port N]     prints "listening PORT"
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer, ProtocolError, acceptedContent, createMcpHandler, inputRequired, inputResponse } from "@modelcontextprotocol/server";
import { z } from "zod";
import { fetchRequest, sendResponse } from "./node_fetch_adapter.mjs";

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1] || 0) || 0;
const stats = { calls: 0, byDelivery: {}, rounds: 0, headers: [], tasks: {} };

// Tasks (the 2026-07-28 Tasks extension), kept by hand: the SDK v2 has the
// vocabulary but no runtime. A tool answers with a task when the request's
// client declared the extension; tasks/get, tasks/update and tasks/cancel
// serve them. GET /stats says how each ended ("tasks": id -> status).
const TASKS = "io.modelcontextprotocol/tasks";
const tasks = new Map();
const stamp = () => new Date().toISOString();
function newTask() {
  const t = { taskId: randomUUID(), status: "working", createdAt: stamp(), lastUpdatedAt: stamp(), ttlMs: 60000, pollIntervalMs: 100 };
  tasks.set(t.taskId, { view: t });
  stats.tasks[t.taskId] = "working";
  return t;
}
function settle(id, fields) {
  const t = tasks.get(id);
  if (!t || ["completed", "failed", "cancelled"].includes(t.view.status)) return;
  Object.assign(t.view, fields, { lastUpdatedAt: stamp() });
  if (fields.status !== "input_required") delete t.view.inputRequests;
  stats.tasks[id] = t.view.status;
}
function byId(id) {
  const t = tasks.get(id);
  if (!t) throw new ProtocolError(-32602, `no task ${id}`);
  return t;
}

function count(ctx) {
  stats.calls++;
  const id = ctx?.mcpReq?._meta?.["io.litemcp/deliveryId"];
  if (id) stats.byDelivery[id] = (stats.byDelivery[id] || 0) + 1;
}

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "modern-fixture", version: "2.0.0" },
                               { capabilities: { logging: {}, extensions: { [TASKS]: {} } } });
  const wantsTasks = () => Boolean(server.server.getClientCapabilities()?.extensions?.[TASKS]);
  server.registerTool("job", { description: "A task that completes after ms", inputSchema: z.object({ ms: z.number() }) },
    async ({ ms }, ctx) => {
      count(ctx);
      const done = { content: [{ type: "text", text: `job done after ${ms}` }] };
      if (!wantsTasks()) return done;
      const t = newTask();
      setTimeout(() => settle(t.taskId, { status: "completed", result: done }), ms);
      return { resultType: "task", ...t };
    });
  server.registerTool("job_ask", { description: "A task that asks the user's name", inputSchema: z.object({}) },
    async (_, ctx) => {
      count(ctx);
      if (!wantsTasks()) return { content: [{ type: "text", text: "not as a task" }], isError: true };
      const t = newTask();
      tasks.get(t.taskId).answer = (responses) => {
        const name = responses?.who?.content?.name;
        settle(t.taskId, { status: "completed", result: { content: [{ type: "text", text: `the task says hello ${name}` }] } });
      };
      setTimeout(() => settle(t.taskId, {
        status: "input_required",
        inputRequests: { who: inputRequired.elicit({
          message: "Your name, for the task?",
          requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        }) },
      }), 50);
      return { resultType: "task", ...t };
    });
  const byTaskId = { params: z.object({ taskId: z.string() }).passthrough() };
  server.server.setRequestHandler("tasks/get", byTaskId, async ({ taskId }) => ({ ...byId(taskId).view }));
  server.server.setRequestHandler("tasks/update", byTaskId, async ({ taskId }, ctx) => {
    const t = byId(taskId);
    if (t.view.status === "input_required" && t.answer) t.answer(ctx.mcpReq.inputResponses);
    return {};
  });
  server.server.setRequestHandler("tasks/cancel", byTaskId, async ({ taskId }) => {
    byId(taskId);
    settle(taskId, { status: "cancelled", statusMessage: "cancelled by the client" });
    return {};
  });
  server.registerTool("echo", { description: "Echoes its text argument", inputSchema: z.object({ text: z.string() }) },
    async ({ text }, ctx) => {
      count(ctx);
      return { content: [{ type: "text", text }] };
    });
  server.registerTool("slow", { description: "A progress notification per step", inputSchema: z.object({ steps: z.number() }) },
    async ({ steps }, ctx) => {
      count(ctx);
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined)
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, progress: i, total: steps } });
        await new Promise((r) => setTimeout(r, 20));
      }
      return { content: [{ type: "text", text: `done ${steps}` }] };
    });
  server.registerTool("ask", { description: "Asks the client for a name", inputSchema: z.object({}) }, async (_, ctx) => {
    const name = acceptedContent(ctx.mcpReq.inputResponses, "who");
    if (!name) {
      stats.rounds++;
      return inputRequired({
        inputRequests: {
          who: inputRequired.elicit({
            message: "Your name?",
            requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
          }),
        },
        requestState: "asked-once",
      });
    }
    count(ctx);
    return { content: [{ type: "text", text: `hello ${name.name} (${ctx.mcpReq.requestState() ?? "no state"})` }] };
  });
  server.registerTool("sample", { description: "Asks the client's model", inputSchema: z.object({ prompt: z.string() }) },
    async ({ prompt }, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, "model");
      if (answer.kind !== "sampling") {
        stats.rounds++;
        return inputRequired({
          inputRequests: {
            model: inputRequired.createMessage({
              messages: [{ role: "user", content: { type: "text", text: prompt } }],
              maxTokens: 20,
            }),
          },
        });
      }
      count(ctx);
      return { content: [{ type: "text", text: `model said: ${answer.result.content.text}` }] };
    });
  // Its region argument is mirrored in an Mcp-Param-Region header (SEP-2243),
  // which the SDK checks against the body: a call without it is refused.
  server.registerTool("locate", {
    description: "Names the region it was asked for",
    inputSchema: z.object({ region: z.string().meta({ "x-mcp-header": "Region" }) }),
  }, async ({ region }, ctx) => {
    count(ctx);
    return { content: [{ type: "text", text: `in ${region}` }] };
  });
  server.registerTool("boom", { description: "Fails", inputSchema: z.object({}) }, async (_, ctx) => {
    count(ctx);
    return { content: [{ type: "text", text: "it broke" }], isError: true };
  });
  return server;
}, { legacy: "reject" });

const srv = http.createServer(async (req, res) => {
  if (req.url === "/stats") {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify(stats));
  }
  const request = await fetchRequest(req, `http://127.0.0.1:${srv.address().port}`);
  if (req.method === "POST")
    stats.headers.push({ method: req.headers["mcp-method"], name: req.headers["mcp-name"], version: req.headers["mcp-protocol-version"],
                         region: req.headers["mcp-param-region"] });
  if (stats.headers.length > 100) stats.headers.shift();
  sendResponse(res, await handler.fetch(request));
});
srv.listen(port, "127.0.0.1", () => console.log(`listening ${srv.address().port}`));
