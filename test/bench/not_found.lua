-- wrk script: GET of a path litemcp does not serve. The 404 is answered on
-- the I/O thread without touching the store: the transport's ceiling, to
-- read the tools/call figure against.
request = function()
  return wrk.format("GET", "/not-an-endpoint", {}, "")
end

bad = 0
response = function(status, headers, body)
  if status ~= 404 then
    bad = bad + 1
  end
end

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
