-- wrk script: tools/call of `echo` on one MCP session, a fresh request id per
-- request. The session id comes from the environment (MCP_SESSION); TOOL and
-- ARGUMENTS (JSON) pick another tool. REQUEST=not_found sends GETs of a path
-- litemcp does not serve instead: a 404 from the I/O thread, without
-- JSON-RPC or the store -- the transport's ceiling.
local session = os.getenv("MCP_SESSION")
local tool = os.getenv("TOOL") or "echo"
local arguments = os.getenv("ARGUMENTS") or '{"text":"hello"}'
local not_found = os.getenv("REQUEST") == "not_found"
local counter = 0

request = function()
  if not_found then
    return wrk.format("GET", "/not-an-endpoint", {}, "")
  end
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":' .. counter ..
      ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. arguments .. '}}'
  return wrk.format("POST", "/mcp", {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["Mcp-Session-Id"] = session,
    ["MCP-Protocol-Version"] = "2025-11-25",
  }, body)
end

bad = 0
response = function(status, headers, body)
  if not_found then
    if status ~= 404 then bad = bad + 1 end
  elseif status ~= 200 or not string.find(body, '"result"', 1, true) then
    bad = bad + 1
  end
end

-- Each wrk thread has its own Lua state: collect the counters at the end.
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
  end
  io.write(string.format("wrk: bad responses %d\n", total))
end
