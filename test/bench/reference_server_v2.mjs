// The reference for the 2026-07-28 HTTP benchmark: an MCP server on the
// official TypeScript SDK v2 (npm @modelcontextprotocol/server 2.4.0),
// stateless, through its own serving entry createMcpHandler (modern only),
// serving one tool, `echo`. Plain node:http in front of the handler's
// web-standard fetch face (../upstreams/node_fetch_adapter.mjs, which
// http_bench.py copies next to this script).
//
//   node reference_server_v2.mjs PORT
import http from "node:http";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import { z } from "zod";
import { fetchRequest, sendResponse } from "./node_fetch_adapter.mjs";

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "sdk-v2-reference", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes its text argument", inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text }] }));
  return server;
}, { legacy: "reject" });

const port = Number(process.argv[2] ?? 8091);
http
  .createServer(async (req, res) => {
    const request = await fetchRequest(req, `http://127.0.0.1:${port}`);
    sendResponse(res, await handler.fetch(request));
  })
  .listen(port, "127.0.0.1", () => console.log(`reference listening on http://127.0.0.1:${port}/mcp`));
