--- bench/httpd/copas.lua: the hello world on copas + luasocket, as
-- Debian packages them (Lua 5.1/5.2; run with lua5.1).  Copas has no HTTP
-- server of its own, so this reads request heads line by line and answers
-- with a fixed response: the least work an HTTP server on copas can do.
--   lua5.1 bench/httpd/copas.lua PORT
local copas = require "copas"
local socket = require "socket"

local BODY = "Hello, World!\n"
local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " .. #BODY .. "\r\n"

-- Read one request head; returns whether the client asked to close, or
-- nil when the connection ended.
local function read_head(skt)
  local line = copas.receive(skt, "*l")
  if not line then return nil end
  local close = false
  while line ~= "" do
    if line:lower() == "connection: close" then close = true end
    line = copas.receive(skt, "*l")
    if not line then return nil end
  end
  return close
end

-- Serve one connection until the client closes or asks to.
local function serve(skt)
  skt:setoption("tcp-nodelay", true)
  while true do
    local close = read_head(skt)
    if close == nil then return end
    copas.send(skt, HEAD .. (close and "Connection: close\r\n\r\n" or "\r\n") .. BODY)
    if close then return end
  end
end

local port = assert(tonumber(arg[1]), "usage: copas.lua PORT")
local server = assert(socket.bind("127.0.0.1", port, 1024))
copas.addserver(server, serve)
copas.loop()
