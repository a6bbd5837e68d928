--- bench/httpd/luahttp.lua: the hello world on lua-http (cqueues), as
-- Debian packages it (Lua 5.1-5.3; run with lua5.1).
--   lua5.1 bench/httpd/luahttp.lua PORT
local http_server = require "http.server"
local http_headers = require "http.headers"

local BODY = "Hello, World!\n"

-- Answer every request with the hello body.
local function onstream(_, stream)
  local req = stream:get_headers()
  if not req then return end
  local res = http_headers.new()
  res:append(":status", "200")
  res:append("content-type", "text/plain")
  res:append("content-length", tostring(#BODY))
  stream:write_headers(res, req:get(":method") == "HEAD")
  if req:get(":method") ~= "HEAD" then stream:write_chunk(BODY, true) end
end

local port = assert(tonumber(arg[1]), "usage: luahttp.lua PORT")
local server = assert(http_server.listen {
  host = "127.0.0.1",
  port = port,
  onstream = onstream,
  onerror = function() end,  -- a client that goes away is not news
})
assert(server:listen())
assert(server:loop())
