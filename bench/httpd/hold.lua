--- bench/httpd/hold.lua: open N keep-alive connections to a server, make
-- one request on each, then hold them idle; prints "ready N" when all are
-- open and sleeps until killed.
--   eventlet-lua bench/httpd/hold.lua PORT N
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local eventlet = require "eventlet"

local port, n = tonumber(arg[1]), tonumber(arg[2])
local REQUEST = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
local held, failed = {}, 0

-- Open one connection and finish one request on it.
local function open_one()
  local c = eventlet.connect("127.0.0.1:" .. port, {timeout = 30})
  if not c then failed = failed + 1 return end
  c:settimeout(30)
  if c:send(REQUEST) and c:receive("*l") then
    repeat local line = c:receive("*l") until not line or line == ""
    c:receive(14)
    held[#held + 1] = c
  else
    failed = failed + 1
    c:close()
  end
end

local batch = 200
for first = 1, n, batch do
  local pile = {}
  for _ = first, math.min(n, first + batch - 1) do pile[#pile + 1] = eventlet.spawn(open_one) end
  for _, gt in ipairs(pile) do gt:wait() end
end
io.stdout:write("ready ", #held, " failed ", failed, "\n")
io.stdout:flush()
eventlet.sleep(3600)
