// An upstream MCP server that speaks only 2026-07-28, for the upstream tests:
// the official TypeScript SDK v2 (npm @modelcontextprotocol/server 2.4.0)
// through its stateless serving entry createMcpHandler, legacy requests
// refused (initialize gets an error: litemcp must find it with
// server/discover). Its tools ask the client for input the 2026-07-28 way,
// with input_required rounds. GET /stats says what reached it.
//
//   node modern_upstream_server.mjs [--port N]     prints "listening PORT"
import http from "node:http";
import { McpServer, acceptedContent, createMcpHandler, inputRequired, inputResponse } from "@modelcontextprotocol/server";
import { z } from "zod";
import { fetchRequest, sendResponse } from "./node_fetch_adapter.mjs";

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1] || 0) || 0;
const stats = { calls: 0, byDelivery: {}, rounds: 0, headers: [] };

function count(ctx) {
  stats.calls++;
  const id = ctx?.mcpReq?._meta?.["io.litemcp/deliveryId"];
  if (id) stats.byDelivery[id] = (stats.byDelivery[id] || 0) + 1;
}

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "modern-fixture", version: "2.0.0" }, { capabilities: { logging: {} } });
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
