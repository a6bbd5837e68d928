--- bench/core/eventlet_lua.lua: the core's costs, measured under the
-- eventlet-lua host (or plain lua5.4 with eventlet.core).
--   eventlet-lua bench/core/eventlet_lua.lua switch|spawn|park|timers [n]
package.path = arg[0]:gsub("[^/]+/[^/]+$", "?.lua;") .. package.path
local lib = require "lib"
local eventlet = require "eventlet"
local core = eventlet.core

local spawn, sleep = eventlet.spawn, eventlet.sleep
local park, unpark = core.park, core.unpark
local collectgarbage = collectgarbage

-- Run fn(n) in a green thread of its own and wait for it: measured code
-- runs where application code runs (the host's main chunk is not
-- yieldable, so its waits would run nested loops instead of yielding).
local function threaded(fn)
  return function(n, ...) return spawn(fn, n, ...):wait() end
end

-- n sleep(0) calls in each of two green threads: 2n switches.
local switches = threaded(function(n)
  local function loop() for _ = 1, n do sleep(0) end end
  local a, b = spawn(loop), spawn(loop)
  a:wait()
  b:wait()
end)

local function nothing() end

-- n green threads spawned and waited for, one after the other.
local spawn_wait = threaded(function(n)
  for _ = 1, n do spawn(nothing):wait() end
end)

-- Park n green threads; returns them (all parked on return).
local function park_many(n)
  local gts = {}
  for i = 1, n do gts[i] = spawn(park, -1, "bench") end
  sleep(0)  -- every one of them runs up to its park
  return gts
end

-- Wake and reap the threads park_many parked.
local function unpark_all(gts)
  for i = 1, #gts do unpark(gts[i]) end
  for i = 1, #gts do gts[i]:wait() end
end

-- n green threads each sleeping `delay` at once: all timers armed together.
local timers = threaded(function(n, delay)
  local gts = {}
  for i = 1, n do gts[i] = spawn(sleep, delay) end
  for i = 1, n do gts[i]:wait() end
end)

local modes = {}

function modes.switch(n)
  lib.report{
    ns = lib.ns_per_op(switches, n) / 2,
    bytes = lib.bytes_per_op(switches, n // 10) / 2,
  }
end

function modes.spawn(n)
  lib.report{
    ns = lib.ns_per_op(spawn_wait, n),
    bytes = lib.bytes_per_op(spawn_wait, n // 10),
  }
end

-- Memory of n parked green threads: Lua heap and resident set deltas.
function modes.park(n)
  collectgarbage("collect")
  local kb0, rss0 = collectgarbage("count"), lib.rss_kb()
  local gts = threaded(park_many)(n)
  collectgarbage("collect")
  local kb1, rss1 = collectgarbage("count"), lib.rss_kb()
  threaded(unpark_all)(gts)
  lib.report{heap = (kb1 - kb0) * 1024 / n, rss = (rss1 - rss0) * 1024 / n}
end

-- CPU seconds spent arming and firing n timers, and wall time past delay.
function modes.timers(n)
  local delay = 0.2
  collectgarbage("collect")
  local cpu0, wall0 = lib.clock(), core.time()
  timers(n, delay)
  lib.report{cpu = lib.clock() - cpu0, wall = core.time() - wall0 - delay}
end

local mode, n = lib.args(100000)
assert(modes[mode], "unknown mode " .. mode)(n)
