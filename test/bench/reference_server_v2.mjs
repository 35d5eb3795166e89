// The reference for the 2026-07-28 HTTP benchmark: an MCP server on the
// official TypeScript SDK v2 (npm @modelcontextprotocol/server 2.4.0),
// stateless, through its own serving entry createMcpHandler (modern only),
// serving one tool, `echo`. Plain node:http in front of the handler's
// web-standard fetch face.
//
//   node reference_server_v2.mjs PORT
import http from "node:http";
import { Readable } from "node:stream";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import { z } from "zod";

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: "sdk-v2-reference", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes its text argument", inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: "text", text }] }));
  return server;
}, { legacy: "reject" });

const port = Number(process.argv[2] ?? 8091);
http
  .createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
      method: req.method,
      headers: req.headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) Readable.fromWeb(response.body).pipe(res);
    else res.end();
  })
  .listen(port, "127.0.0.1", () => console.log(`reference listening on http://127.0.0.1:${port}/mcp`));
