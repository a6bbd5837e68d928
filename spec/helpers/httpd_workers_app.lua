--- A multi-worker server for spec/httpd_workers_spec.lua: answers with
-- "pid ppid" of the worker; /crash makes that worker exit.
--   eventlet-lua spec/helpers/httpd_workers_app.lua   (prints its URL on stderr)
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local httpd = require "eventlet.httpd"

-- Fields 1 and 4 of /proc/self/stat: pid and parent pid.
local function ids()
  local f = assert(io.open("/proc/self/stat"))
  local stat = f:read("a")
  f:close()
  local pid, ppid = stat:match("^(%d+) %b() %S+ (%d+)")
  return pid .. " " .. ppid
end

local server = assert(httpd.server("127.0.0.1:0", function(req)
  if req.path == "/crash" then os.exit(3, true) end
  return 200, {["Content-Type"] = "text/plain"}, ids()
end, {workers = 2, log = false, grace = 1}))
io.stderr:write("url ", server:url(), "\n")
server:serve()
