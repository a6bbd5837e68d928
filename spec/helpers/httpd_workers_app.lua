--- A multi-worker server for spec/httpd_workers_spec.lua: answers with
-- "pid ppid" of the worker; /crash makes that worker exit.
--   eventlet-lua spec/helpers/httpd_workers_app.lua   (prints its URL on stderr)
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local eventlet = require "eventlet"
local httpd = require "eventlet.httpd"
local core = require "eventlet.core"

-- SIGUSR1: write every green thread of this process, what it waits on and
-- its stack, to stderr (the spec asks a worker that will not end).
eventlet.signal("USR1", function()
  local out = {("pid %d"):format(core.getpid())}
  for _, info in ipairs(core.threads()) do
    out[#out + 1] = ("#%d %s waiting on %s, timer %s\n%s"):format(info.id, info.state,
      tostring(info.waiting), tostring(info.timer), core.traceback(info.thread))
  end
  io.stderr:write(table.concat(out, "\n"), "\n")
end)

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
