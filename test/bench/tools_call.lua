-- wrk script: one MCP request per call, a fresh request id each time.
--   legacy (default): tools/call on the session MCP_SESSION (2025-11-25).
--   ERA=modern: a 2026-07-28 request with its _meta envelope and the
--     MCP-Protocol-Version, Mcp-Method and Mcp-Name headers; METHOD picks
--     tools/call (default) or tasks/get (of TASK_ID); CAPABILITIES (JSON) are
--     the client capabilities sent (default {}).
-- TOOL and ARGUMENTS (JSON) pick another tool than echo. REQUEST=not_found
-- sends GETs of a path litemcp does not serve instead: a 404 from the I/O
-- thread, without JSON-RPC or the store -- the transport's ceiling.
local session = os.getenv("MCP_SESSION")
local tool = os.getenv("TOOL") or "echo"
local arguments = os.getenv("ARGUMENTS") or '{"text":"hello"}'
local not_found = os.getenv("REQUEST") == "not_found"
local modern = os.getenv("ERA") == "modern"
local method = os.getenv("METHOD") or "tools/call"
local task_id = os.getenv("TASK_ID") or ""
local capabilities = os.getenv("CAPABILITIES") or "{}"
local counter = 0

-- Everything but the request id is the same from one request to the next:
-- built once (on the first request, when wrk.headers holds the Host), so a
-- request costs two concatenations rather than wrk.format's headers table
-- and string.format per header, which cost wrk's core more than litemcp's
-- answer costs litemcp's (test/bench/README.md).
local fixed_request, head, body_tail

local function prepare()
  if not_found then
    fixed_request = wrk.format("GET", "/not-an-endpoint", {}, "")
    return
  end
  local lines = {"POST /mcp HTTP/1.1", "Host: " .. wrk.headers["Host"], "Content-Type: application/json",
                 "Accept: application/json, text/event-stream"}
  if modern then
    local meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
        '"io.modelcontextprotocol/clientCapabilities":' .. capabilities .. '}'
    local params, name
    if method == "tasks/get" then
      params, name = '{"taskId":"' .. task_id .. '",' .. meta .. '}', task_id
    else
      params, name = '{"name":"' .. tool .. '","arguments":' .. arguments .. ',' .. meta .. '}', tool
    end
    table.insert(lines, "MCP-Protocol-Version: 2026-07-28")
    table.insert(lines, "Mcp-Method: " .. method)
    table.insert(lines, "Mcp-Name: " .. name)
    body_tail = ',"method":"' .. method .. '","params":' .. params .. '}'
  else
    table.insert(lines, "Mcp-Session-Id: " .. session)
    table.insert(lines, "MCP-Protocol-Version: 2025-11-25")
    body_tail = ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. arguments .. '}}'
  end
  table.insert(lines, "Content-Length: ")
  head = table.concat(lines, "\r\n")
end

request = function()
  if not head and not fixed_request then prepare() end
  if fixed_request then return fixed_request end
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":' .. counter .. body_tail
  return head .. #body .. "\r\n\r\n" .. body
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
  -- The tail beyond wrk's --latency table, for cpu_per_call.py.
  for _, p in ipairs({99, 99.9}) do
    io.write(string.format("wrk: p%s %.3f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("wrk: max %.3f ms\n", latency.max / 1000))
end
