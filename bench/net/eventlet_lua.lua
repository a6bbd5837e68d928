--- bench/net/eventlet_lua.lua: the same client and server as
-- bench/c/netpair.c, written with eventlet sockets.
--   echo-server PORT | echo-client PORT N SIZE | bulk-server PORT |
--   bulk-client PORT BYTES        (clients print "ns=... wall=...")
--   tls-bulk-server PORT | tls-bulk-client PORT BYTES  (TLS, same shape)
--   echo-serve PORT | echo-many PORT CONNS N SIZE   (many connections:
--   serve() on one side, CONNS clients doing N round trips each)
-- Servers given port 0 bind an ephemeral port and print "port=N" first.
local eventlet = require "eventlet"
local core = require "eventlet.core"

local mode, port = arg[1], tonumber(arg[2])
local now = core.time

--- Listen on port (0: any), printing "port=N" for bench/net.sh.
local function listen(backlog)
  local l = assert(eventlet.listen("127.0.0.1:" .. port, {backlog = backlog}))
  io.stdout:write("port=", select(2, l:getsockname()), "\n")
  io.stdout:flush()
  return l
end

--- Accept one connection on port.
local function accept_one()
  local l = listen()
  local c = assert(l:accept())
  l:close()
  c:setoption("tcp-nodelay", true)
  return c
end

--- Connect to port (the server is listening: it printed its port).
local function connect()
  local s = assert(eventlet.connect("127.0.0.1:" .. port))
  s:setoption("tcp-nodelay", true)
  return s
end


--- Send total bytes in chunks of `size`, run finish(), print the time
-- per MiB (the bulk clients' report).
local function send_bulk(s, total, size, finish)
  local chunk = string.rep("b", size)
  local t0 = now()
  local sent = 0
  while sent < total do
    local n = math.min(size, total - sent)
    assert(s:send(chunk, 1, n))
    sent = sent + n
  end
  finish()
  local t = now() - t0
  print(("ns=%.1f wall=%.3f"):format(t * 1e9 / (total / 1048576), t))
end

if mode == "echo-server" then
  local c = accept_one()
  while true do
    local line = c:receive()
    if not line then break end
    c:send(line .. "\n")
  end
elseif mode == "echo-serve" then
  local l = listen(1024)
  eventlet.serve(l, function(c)
    c:setoption("tcp-nodelay", true)
    while true do
      local line = c:receive()
      if not line then return end
      c:send(line .. "\n")
    end
  end)
elseif mode == "echo-many" then
  local conns, n, size = tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
  local msg = string.rep("x", size - 1) .. "\n"
  local socks = {}
  for i = 1, conns do socks[i] = connect() end
  local t0 = now()
  local gts = {}
  for i = 1, conns do
    gts[i] = eventlet.spawn(function(s)
      for _ = 1, n do
        s:send(msg)
        s:receive()
      end
      s:close()
    end, socks[i])
  end
  for i = 1, conns do gts[i]:wait() end
  local t = now() - t0
  print(("ns=%.1f wall=%.3f"):format(t * 1e9 / (conns * n), t))
elseif mode == "bulk-server" then
  local c = accept_one()
  while c:recv(1048576) do end
  c:send("k")
elseif mode == "echo-client" then
  local n, size = tonumber(arg[3]), tonumber(arg[4])
  local s = connect()
  local msg = string.rep("x", size - 1) .. "\n"
  local t0 = now()
  for _ = 1, n do
    s:send(msg)
    s:receive()
  end
  local t = now() - t0
  print(("ns=%.1f wall=%.3f"):format(t * 1e9 / n, t))
elseif mode == "tls-bulk-server" then
  -- TLS: the certificate and key come from BENCH_TLS_CERT / BENCH_TLS_KEY.
  local l = listen()
  assert(eventlet.wrap_ssl(l, {server = true, cert = os.getenv("BENCH_TLS_CERT"),
                               key = os.getenv("BENCH_TLS_KEY")}))
  local c = assert(l:accept())
  while c:recv(65536) do end
  c:close()
elseif mode == "tls-bulk-client" then
  local s = assert(eventlet.connect("127.0.0.1:" .. port, {tls = {verify = false}}))
  send_bulk(s, tonumber(arg[3]), 65536, function()
    -- A graceful end: close_notify, then wait for the server to close, so
    -- nothing unread (session tickets) turns our close into a reset.
    s:shutdown("send")
    s:receive("*a")
    s:close()
  end)
elseif mode == "bulk-client" then
  local s = connect()
  send_bulk(s, tonumber(arg[3]), 1048576, function()
    s:shutdown("send")
    assert(s:receive(1) == "k")
  end)
end
