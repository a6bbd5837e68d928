--- Spec support: run Lua code in a child process (the eventlet-lua host or
-- plain lua5.4) that finds this checkout's modules, and read what it said.
local _M = {}

_M.HOST = "./eventlet-lua"
_M.RUNTIMES = {"./eventlet-lua", "lua5.4"}

local PATHS = "package.path = \"lua/?.lua;lua/?/init.lua;\" .. package.path; " ..
              "package.cpath = \"lua/?.so;\" .. package.cpath; "

--- run(env, runtime, code[, stderr]) -> output, exit status: the code in a
-- temporary script run as `env runtime script`; stderr goes with stdout
-- unless `stderr` names a file for it.
function _M.run(env, runtime, code, stderr)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(PATHS, code)
  f:close()
  local p = io.popen(("%s %s %s 2>%s; echo \"exit=$?\""):format(env, runtime, path,
                                                               stderr or "&1"))
  local out = p:read("a")
  p:close()
  os.remove(path)
  local body, status = out:match("^(.-)exit=(%d+)\n$")
  return body, tonumber(status)
end

return _M
