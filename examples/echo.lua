--- An echo server: every line a client sends comes back to it.
--   eventlet-lua examples/echo.lua [port]        (default 6000)
--   then: nc 127.0.0.1 6000
-- Each connection runs in its own green thread; the code reads as if it
-- blocked, but a slow client never holds up the others.
local eventlet = require "eventlet"

local port = tonumber(arg and arg[1]) or 6000

local function echo(conn, addr)
  print("connected: " .. addr)
  conn:setoption("tcp-nodelay", true)
  while true do
    local line, err = conn:receive("*l")
    if not line then
      print("gone: " .. addr .. " (" .. err .. ")")
      return
    end
    conn:send(line .. "\n")
  end
end

local server = assert(eventlet.listen("127.0.0.1:" .. port))
print(("echo server on 127.0.0.1:%d"):format(select(2, server:getsockname())))
eventlet.serve(server, echo)
