// A web-standard fetch handler (the TypeScript SDK v2's createMcpHandler)
// served by node:http: the SDK's Node adapter has no 2.4.0 release. Used by
// modern_upstream_server.mjs and test/bench/reference_server_v2.mjs; the
// scripts that run them copy this file next to them in the npm folder
// (test/integration/test_upstreams.py, test/bench/http_bench.py).
//
//   const request = await fetchRequest(req, "http://127.0.0.1:8091");
//   sendResponse(res, await handler.fetch(request));
import { Readable } from "node:stream";

// The node:http request as a fetch Request at origin + its path, its body read whole.
export async function fetchRequest(req, origin) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new Request(`${origin}${req.url}`, {
    method: req.method,
    headers: req.headers,
    body: chunks.length ? Buffer.concat(chunks) : undefined,
  });
}

// Answers with a fetch Response, its body streamed as it comes.
export function sendResponse(res, response) {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) Readable.fromWeb(response.body).pipe(res);
  else res.end();
}
