// An MCP server as people write them, with the official TypeScript SDK,
// served over Streamable HTTP -- and nothing of litemcp in it. Put it behind
// litemcp by registering its URL (README.md here):
//
//   npm install @modelcontextprotocol/sdk@1 zod
//   node server.mjs 3000
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

function makeServer() {
  const server = new McpServer({ name: "example-upstream", version: "1.0.0" });
  server.tool("forecast", "Tomorrow's weather for a city", { city: z.string() }, async ({ city }, extra) => {
    // Delivered at least once: the same delivery id on every attempt of one
    // call (a tool with side effects would do them once per id).
    const delivery = extra._meta?.["io.litemcp/deliveryId"] ?? "(called directly)";
    return { content: [{ type: "text", text: `${city}: sunny, 21 °C (delivery ${delivery})` }] };
  });
  server.tool("countdown", "Counts down, one progress notification a step", { from: z.number().int().max(20) },
    async ({ from }, extra) => {
      for (let i = from; i > 0; i--) {
        if (extra._meta?.progressToken !== undefined)
          await extra.sendNotification({ method: "notifications/progress",
            params: { progressToken: extra._meta.progressToken, progress: from - i + 1, total: from } });
        await new Promise((r) => setTimeout(r, 200));
      }
      return { content: [{ type: "text", text: "lift-off" }] };
    });
  return server;
}

const sessions = new Map();  // Mcp-Session-Id -> transport
http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  let transport = sessions.get(req.headers["mcp-session-id"]);
  if (!transport) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => sessions.delete(transport.sessionId);
    await makeServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}).listen(Number(process.argv[2] ?? 3000), "127.0.0.1", () => console.log("MCP server on http://127.0.0.1:%s/mcp", process.argv[2] ?? 3000));
