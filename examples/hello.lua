--- hello.lua: the hello-world HTTP server (the benchmark's subject).
--
--   eventlet-lua examples/hello.lua [addr] [workers]
--   curl http://127.0.0.1:8080/
--
-- Answers every request with "Hello, World!\n" as text/plain.  Pass a
-- worker count to fork that many processes sharing the port.
local httpd = require "eventlet.httpd"

local addr = arg and arg[1] or "127.0.0.1:8080"
local workers = tonumber(arg and arg[2]) or 0

local HEADERS = {["Content-Type"] = "text/plain"}
local BODY = "Hello, World!\n"

local server = assert(httpd.server(addr, function()
  return 200, HEADERS, BODY
end, {log = os.getenv("HELLO_LOG") and io.stderr or false, workers = workers}))
io.stderr:write("hello: serving on ", server:url(), "\n")
server:serve()
