--- eventlet: green threads for Lua 5.4.
-- The facade `require "eventlet"`: the core's green threads and timeouts,
-- plus the Lua modules, loaded on first use (eventlet.Queue loads
-- eventlet.queue, and so on).
local core = require "eventlet.core"

local pcall = pcall
local error = error
local select = select
local setmetatable = setmetatable
local require = require
local table_pack = table.pack
local table_unpack = table.unpack
local os_exit = os.exit

local _M = {
  core = core,
  version = core.version,
  spawn = core.spawn,
  spawn_n = core.spawn_n,
  spawn_after = core.spawn_after,
  sleep = core.sleep,
  kill = core.kill,
  getcurrent = core.getcurrent,
  Timeout = core.Timeout,
  is_timeout = core.is_timeout,
  GreenletExit = core.GreenletExit,
  run = core.run,
  now = core.now,
  signal = core.signal,
  trampoline = core.trampoline,
  use_hub = core.use_hub,
}

--- Names served by other modules, loaded when first touched.
local lazy = {
  Event = {"eventlet.event", "Event"},
  Semaphore = {"eventlet.semaphore", "Semaphore"},
  BoundedSemaphore = {"eventlet.semaphore", "BoundedSemaphore"},
  CappedSemaphore = {"eventlet.semaphore", "CappedSemaphore"},
  Lock = {"eventlet.semaphore", "Lock"},
  Queue = {"eventlet.queue", "Queue"},
  LightQueue = {"eventlet.queue", "LightQueue"},
  LifoQueue = {"eventlet.queue", "LifoQueue"},
  PriorityQueue = {"eventlet.queue", "PriorityQueue"},
  GreenPool = {"eventlet.greenpool", "GreenPool"},
  GreenPile = {"eventlet.greenpool", "GreenPile"},
  ["local"] = {"eventlet.corolocal", "new"},
  listen = {"eventlet.net", "listen"},
  connect = {"eventlet.net", "connect"},
  serve = {"eventlet.net", "serve"},
  StopServe = {"eventlet.net", "StopServe"},
  wrap_ssl = {"eventlet.tls", "wrap_ssl"},
  resolve = {"eventlet.net", "resolve"},
  wrap_fd = {"eventlet.net", "wrap_fd"},
  fork = {"eventlet.processes", "fork"},
}

setmetatable(_M, {
  __index = function(t, name)
    local where = lazy[name]
    if not where then return nil end
    local value = require(where[1])[where[2]]
    rawset(t, name, value)
    return value
  end,
})

--- Run fn(...) with a deadline; the Timeout is raised past it.
-- @return fn's results
function _M.with_timeout(seconds, fn, ...)
  local _timeout <close> = core.Timeout(seconds)
  return fn(...)
end

--- Run fn(...) with a deadline; return `value` instead of raising when it
-- passes.  Only this call's own Timeout is caught: an outer one passes on.
function _M.with_timeout_value(seconds, value, fn, ...)
  local t <close> = core.Timeout(seconds)
  local r = table_pack(pcall(fn, ...))
  if r[1] then return table_unpack(r, 2, r.n) end
  if r[2] == t then return value end
  error(r[2], 0)
end

local exit_hooks = {}

--- Register fn(signum_or_code) to run before the program exits through
-- eventlet.exit() or SIGINT/SIGTERM; hooks run in registration order and
-- may block (servers drain there).  Returns fn, to pass to cancel_on_exit.
function _M.on_exit(fn)
  exit_hooks[#exit_hooks + 1] = fn
  return fn
end

--- Remove a hook registered with on_exit.
function _M.cancel_on_exit(fn)
  for i = #exit_hooks, 1, -1 do
    if exit_hooks[i] == fn then table.remove(exit_hooks, i) return true end
  end
  return false
end

--- Forget every exit hook (processes.fork calls it in a child that drops
-- the parent's threads: the hooks were the parent's, for work the child
-- no longer has).
function _M._forget_exit_hooks()
  exit_hooks = {}
end

-- Run the exit hooks once, each protected, in order.
local function run_exit_hooks(why)
  local hooks = exit_hooks
  exit_hooks = {}
  for i = 1, #hooks do
    local ok, err = pcall(hooks[i], why)
    if not ok then
      -- killed (by a fork, in the child): the rest is not ours to run
      if err == core.GreenletExit then error(err, 0) end
      io.stderr:write("eventlet: exit hook failed: ", tostring(err), "\n")
    end
  end
end

--- End the program: run the exit hooks, then os.exit(code) (default 0).
function _M.exit(code)
  local kind = type(code)
  if code ~= nil and kind ~= "number" and kind ~= "boolean" then
    error("bad argument #1 to 'exit' (number or boolean expected, got " .. kind .. ")", 2)
  end
  run_exit_hooks(code or 0)
  os_exit(code == nil and 0 or code, true)
end

-- SIGINT/SIGTERM: hooks first, then die by the signal as its default would.
core.set_exit_handler(function(signum)
  run_exit_hooks(signum)
  core.die(signum)
end)

--- Count of arguments helper for modules: select("#", ...).
function _M.nargs(...) return select("#", ...) end

--- The hub object of the seed's api.get_hub(): counters and backend.
function _M.get_hub()
  local stats = core.stats()
  stats.backend = core.backend()
  return stats
end

return _M
