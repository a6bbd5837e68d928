--- bench/soak/clients.lua: misbehaving or patient clients for the soak.
--   eventlet-lua bench/soak/clients.lua MODE PORT N
-- MODE slowloris: N connections each sending one more header byte a
--   second, never finishing the head.
-- MODE hold: N connections each making one keep-alive request (waiting
--   up to 10 minutes for its answer), then idle.
-- MODE partial: N connections each sending half a request, then idle.
-- MODE stream: N connections each reading a little of /stream, then idle.
-- MODE tls-partial: N connections each sending half a TLS ClientHello.
-- Prints "ready OPEN failed FAILED" once all are started (and in mode
-- hold "answered N" each time ten more have their answer); holds until
-- killed.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local eventlet = require "eventlet"

local mode, port, n = arg[1], tonumber(arg[2]), tonumber(arg[3])
local open, failed, answered = 0, 0, 0
local HALF = {
  partial = "POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\nabc",
  stream = "GET /stream HTTP/1.1\r\nHost: soak\r\n\r\n",
  ["tls-partial"] = "\22\3\1\2\0\1\0\1\252\3\3" .. ("\0"):rep(40),
  hold = "GET / HTTP/1.1\r\nHost: soak\r\n\r\n",
}

-- One client: connect, send its bytes, then behave as MODE says.
local function client()
  local c = eventlet.connect("127.0.0.1:" .. port, {timeout = 600})
  if not c then failed = failed + 1 return end
  c:settimeout(600)
  open = open + 1
  if mode == "slowloris" then
    c:send("GET / HTTP/1.1\r\n")
    while c:send("X") do eventlet.sleep(1) end
    return
  end
  c:send(HALF[mode])
  if mode == "stream" then c:receive(100000) end
  if mode == "hold" and c:receive("*l") then
    answered = answered + 1
    if answered % 10 == 0 then
      io.stdout:write("answered ", answered, "\n")
      io.stdout:flush()
    end
  end
  eventlet.sleep(3600)
end

local threads = {}
for i = 1, n do
  threads[i] = eventlet.spawn(client)
  if i % 100 == 0 then eventlet.sleep(0.01) end
end
eventlet.sleep(1)
io.stdout:write("ready ", open, " failed ", failed, "\n")
io.stdout:flush()
for _, gt in ipairs(threads) do gt:wait() end
