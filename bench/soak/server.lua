--- bench/soak/server.lua: the server the soak scenarios attack.
--   eventlet-lua bench/soak/server.lua PORT [cert key]
-- Routes: /stream sends 8 MiB in 64 KiB pieces (a response to cut
-- short), /upload reads the body, anything else "Hello, World!\n".
-- Env: SOAK_MAX_CONNECTIONS (20000), SOAK_HEADER_TIMEOUT (s, 30),
-- SOAK_HANDLER ("lean", the default: a handler that takes no res; "res":
-- one that takes res -- the queue's C lane answers the common requests of
-- both), SOAK_LOG (a file to append the access log to; none by default).
-- With cert and key it serves TLS.  Prints "serving PORT" when ready.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local httpd = require "eventlet.httpd"

local port, cert, key = arg[1], arg[2], arg[3]
local HEADERS = {["Content-Type"] = "text/plain"}
local BODY = "Hello, World!\n"
local PIECE = ("x"):rep(65536)

-- The soak handler: hello world, a long stream (an iterator of its
-- pieces), or a body read.
local function lean(req)
  if req.path == "/stream" then
    local left = 128
    return 200, HEADERS, function()
      left = left - 1
      return left >= 0 and PIECE or nil
    end
  elseif req.path == "/upload" then
    local body = req:read_body()
    return 200, HEADERS, tostring(body and #body)
  end
  return 200, HEADERS, BODY
end

-- The same taking res: the stream written piece by piece.
local function with_res(req, res)
  if req.path ~= "/stream" then return lean(req) end
  for _ = 1, 128 do
    if not res:write(PIECE) then return end
  end
  return res:finish()
end

local handler = os.getenv("SOAK_HANDLER") == "res" and with_res or lean

local log_path = os.getenv("SOAK_LOG")
local opts = {log = log_path and assert(io.open(log_path, "a")) or false, error_log = false,
              max_connections = tonumber(os.getenv("SOAK_MAX_CONNECTIONS")) or 20000,
              header_timeout = tonumber(os.getenv("SOAK_HEADER_TIMEOUT")) or 30}
if cert then opts.tls = {server = true, cert = cert, key = key} end
local server = assert(httpd.server("127.0.0.1:" .. port, handler, opts))
io.stdout:write("serving ", port, "\n")
io.stdout:flush()
server:serve()
