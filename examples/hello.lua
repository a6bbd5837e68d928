--- hello.lua: the hello-world HTTP server (the benchmark's subject).
--
--   eventlet-lua examples/hello.lua [addr] [workers]
--   curl http://127.0.0.1:8080/
--
-- Answers every request with "Hello, World!\n" as text/plain.  Pass a
-- worker count to fork that many processes sharing the port.  The
-- benchmarks measure the other handler forms with HELLO_FORM=res
-- (function(req, res) returning the answer) or HELLO_FORM=finish
-- (res:header() and res:finish()), and the access log with HELLO_LOG=1.
local httpd = require "eventlet.httpd"

local addr = arg and arg[1] or "127.0.0.1:8080"
local workers = tonumber(arg and arg[2]) or 0

local HEADERS = {["Content-Type"] = "text/plain"}
local BODY = "Hello, World!\n"

local handlers = {
  plain = function() return 200, HEADERS, BODY end,
  res = function(_, _) return 200, HEADERS, BODY end,
  finish = function(_, res)
    res:header("Content-Type", "text/plain")
    res:finish(BODY)
  end,
}
local handler = handlers[os.getenv("HELLO_FORM") or "plain"]
assert(handler, "HELLO_FORM: plain, res or finish")

local log = os.getenv("HELLO_LOG") and io.stderr or false
local server = assert(httpd.server(addr, handler, {log = log, workers = workers}))
io.stderr:write("hello: serving on ", server:url(), "\n")
server:serve()
