// The reference for the HTTP benchmark: an MCP server on the official
// TypeScript SDK (npm @modelcontextprotocol/sdk 1.32.2) with stateful
// sessions, SSE responses and the SDK's in-memory event store (resumability),
// serving one tool, `echo`. Plain node:http, no framework.
//
//   node reference_server.mjs PORT
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import { z } from "zod";

const transports = new Map();

function makeServer() {
  const server = new McpServer({ name: "sdk-reference", version: "1.0.0" });
  server.tool("echo", "Echoes its text argument", { text: z.string() }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  return server;
}

const port = Number(process.argv[2] ?? 8090);
http
  .createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
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
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  })
  .listen(port, "127.0.0.1", () => console.log(`reference listening on http://127.0.0.1:${port}/mcp`));
