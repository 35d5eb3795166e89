// An MCP client on the official TypeScript SDK v2 (@modelcontextprotocol/client)
// speaking the stateless 2026-07-28 revision to litemcp: it negotiates the
// era with server/discover, lists and calls tools, answers input_required
// rounds through its ordinary elicitation and sampling handlers (the SDK
// carries the sealed requestState between rounds), opens a
// subscriptions/listen stream and receives a tools/list_changed on it, and
// checks that a legacy 2025-11-25 session still works beside it.
//
//   node modern_client.mjs http://127.0.0.1:8080/mcp
// (run it where `npm install @modelcontextprotocol/client@2.4.0` put node_modules)
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const url = new URL(process.argv[2] ?? "http://127.0.0.1:8080/mcp");
const check = (cond, what) => {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
};
const text = (result) => result.content?.[0]?.text;

// 1. Era negotiation: server/discover first, then the modern envelope on every request.
const client = new Client(
  { name: "litemcp-modern-example", version: "1.0.0" },
  { versionNegotiation: { mode: "auto" }, capabilities: { elicitation: {}, sampling: {} } },
);
const asked = [];
client.setRequestHandler("elicitation/create", async (request) => {
  asked.push(request.params.message);
  const field = Object.keys(request.params.requestedSchema.properties)[0];
  return { action: "accept", content: { [field]: field === "color" ? "teal" : "Ada" } };
});
client.setRequestHandler("sampling/createMessage", async () => ({
  role: "assistant", content: { type: "text", text: "Paris" }, model: "example-model", stopReason: "endTurn",
}));
await client.connect(new StreamableHTTPClientTransport(url));
check(client.getProtocolEra() === "modern", `negotiated the modern era (${client.getNegotiatedProtocolVersion()})`);
check(client.getServerVersion()?.name === "litemcp", "server info from server/discover");

// 2. Plain calls.
const { tools } = await client.listTools();
check(tools.some((t) => t.name === "echo"), `${tools.length} tools listed`);
check(text(await client.callTool({ name: "echo", arguments: { text: "stateless" } })) === "stateless", "echo answered");

// 3. Multi round-trip: two input_required rounds, answered by the handlers above.
const rounds = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
check(text(rounds) === "Ada likes teal", `two rounds of input (${asked.join(" / ")})`);
const sampled = await client.callTool({ name: "test_input_required_result_sampling", arguments: {} });
check(text(sampled) === "The model answered: Paris", "a sampling round");

// 4. subscriptions/listen: a change fans out to the open stream.
let changed;
const arrived = new Promise((resolve) => { changed = resolve; });
client.setNotificationHandler("notifications/tools/list_changed", () => changed());
const subscription = await client.listen({ toolsListChanged: true });
check(subscription.honoredFilter.toolsListChanged === true, "listen acknowledged");
await client.callTool({ name: "test_trigger_tool_change", arguments: {} });
await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error("no list_changed")), 5000))]);
check(true, "tools/list_changed arrived on the listen stream");
await subscription.close();
await client.close();

// 5. The same endpoint still serves a legacy session.
const legacy = new Client({ name: "litemcp-legacy-beside", version: "1.0.0" });
await legacy.connect(new StreamableHTTPClientTransport(url));
check(legacy.getProtocolEra() === "legacy", `a legacy session beside it (${legacy.getNegotiatedProtocolVersion()})`);
check(text(await legacy.callTool({ name: "echo", arguments: { text: "legacy" } })) === "legacy", "legacy echo answered");
await legacy.close();
console.log("all checks passed");
