--- eventlet.repl_commands: the built-in commands of a REPL session --
-- a "top" for green threads: threads(), tb(id), kill(id), hub(), mem(),
-- gc(), help(), exit().  Each prints to its session and returns nothing;
-- the data behind them is eventlet.core.threads(), .stats(), .lag_stats().
local core = require "eventlet.core"

local collectgarbage = collectgarbage
local io_open = io.open
local ipairs = ipairs
local math_tointeger = math.tointeger
local pairs = pairs
local string_format = string.format
local tonumber = tonumber
local tostring = tostring
local type = type

local _M = {}

-- Find a live green thread by id (a number, "12", "#12") or accept a
-- GreenThread itself.
local function find_thread(id)
  if type(id) == "userdata" then return id end
  if id == nil then return nil end
  id = math_tointeger(tonumber(type(id) == "string" and id:match("^#?(%d+)$") or id))
  for _, info in ipairs(core.threads()) do
    if info.id == id then return info.thread, info end
  end
  return nil
end

-- Seconds as a short human string.
local function seconds(s)
  if s < 1e-3 then return string_format("%.0fus", s * 1e6) end
  if s < 1 then return string_format("%.1fms", s * 1e3) end
  if s < 120 then return string_format("%.1fs", s) end
  return string_format("%.0fm", s / 60)
end

-- Bytes as a short human string.
local function bytes(n)
  if n < 10240 then return string_format("%dB", n) end
  if n < 10485760 then return string_format("%.1fKiB", n / 1024) end
  return string_format("%.1fMiB", n / 1048576)
end

-- Resident set size of this process, in bytes (nil off Linux).
local function rss()
  local f = io_open("/proc/self/status")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local kb = text:match("VmRSS:%s*(%d+)")
  return kb and tonumber(kb) * 1024
end

-- threads(): one line per live green thread.
local function threads(session)
  local me = core.getcurrent()
  session:out(string_format("%5s  %-32s %-8s %8s %9s  %s\n",
    "id", "name", "state", "age", "switches", "waiting on"))
  for _, info in ipairs(core.threads()) do
    session:out(string_format("%s%4d  %-32s %-8s %8s %9d  %s\n",
      info.thread == me and "*" or " ", info.id, (info.name or ""):sub(1, 32),
      info.state, seconds(info.age), info.switches, info.waiting or ""))
  end
end

-- tb(id): where a thread stands.
local function tb(session, id)
  local gt = find_thread(id)
  if not gt then return session:out("no live green thread #" .. tostring(id) .. "\n") end
  session:out(core.traceback(gt, tostring(gt)) .. "\n")
end

-- kill(id[, err]): deliver a kill to a thread.
local function kill(session, id, err)
  local gt = find_thread(id)
  if not gt then return session:out("no live green thread #" .. tostring(id) .. "\n") end
  session:out("killing " .. tostring(gt) .. "\n")
  core.kill(gt, err)
end

-- The loop-lag part of hub(), when the core measures it.
local function lag_lines(session)
  if not core.lag_stats then return end
  local lag = core.lag_stats()
  if lag.samples > 0 then
    session:out(string_format("loop lag: last %s, mean %s, max %s (%d samples every %s)\n",
      seconds(lag.last), seconds(lag.mean), seconds(lag.max), lag.samples, seconds(lag.interval)))
    session:out(string_format("switches/s: %.0f\n", lag.switches_per_s))
  else
    session:out("loop lag: not measured yet\n")
  end
  local wd = core.watchdog and core.watchdog()
  session:out(wd and string_format("blocking watchdog: %s, fired %d times, longest %s\n",
                                   seconds(wd.threshold), wd.fired, seconds(wd.longest))
                  or "blocking watchdog: off\n")
end

-- hub(): the hub's counters.
local function hub(session)
  local s = core.stats()
  local timers, fds = 0, 0
  if core.wait_counts then timers, fds = core.wait_counts() end
  session:out(string_format("hub: %s backend, %d threads live (%d ready, %d parked), "
    .. "%d timers, %d fd waits, %d watchers\n",
    core.backend(), s.live, s.ready, s.parked, timers, fds, s.watchers))
  session:out(string_format("switches: %d total, %d spawned\n", s.switches, s.spawned))
  lag_lines(session)
end

-- mem(): Lua heap and process RSS.
local function mem(session)
  local heap = collectgarbage("count") * 1024
  local r = rss()
  session:out("Lua heap: " .. bytes(heap) .. (r and (", RSS: " .. bytes(r)) or "") .. "\n")
end

-- gc(): a full collection, reporting what it freed.
local function gc(session)
  local before = collectgarbage("count") * 1024
  collectgarbage("collect")
  local after = collectgarbage("count") * 1024
  session:out(string_format("gc: freed %s, Lua heap now %s\n", bytes(before - after), bytes(after)))
end

local HELP = [[
threads()       live green threads: id, name, state, age, switches, wait
tb(id)          traceback of a thread (id or GreenThread)
kill(id[, e])   kill a thread (raises e, default GreenletExit, at its wait)
hub()           hub counters: threads, timers, fds, switches/s, loop lag
mem()           Lua heap and process RSS
gc()            run a full garbage collection
help()          this text
exit()          end this session (Ctrl-D does too)
=expr, expr     print the value(s); tables are pretty-printed
Assignments stay in this session; _G.name = v changes the program.
print/io.write go to this session, also from threads spawned here.
Ctrl-C (eventlet-lua --attach, telnet) interrupts the evaluation.
]]

-- help(): what the commands are.
local function help(session)
  session:out(HELP)
end

local COMMANDS = {
  threads = threads, tb = tb, kill = kill, hub = hub, mem = mem, gc = gc, help = help,
  exit = function(session) session:close() end,
}

--- Put the commands into a session's environment (extra: more of them,
-- each called as fn(session, ...)).
function _M.install(session, env, extra)
  for name, fn in pairs(COMMANDS) do
    env[name] = function(...) fn(session, ...) end
  end
  for name, fn in pairs(extra or {}) do
    env[name] = function(...) return fn(session, ...) end
  end
end

_M.seconds = seconds
_M.bytes = bytes

return _M
