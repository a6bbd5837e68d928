--- bench/core/bare.lua: the floor -- bare Lua 5.4 coroutines, no hub.
-- Run by plain lua5.4 (eventlet.core would wrap coroutine.resume).
--   lua5.4 bench/core/bare.lua switch|spawn|park [n]
package.path = arg[0]:gsub("[^/]+/[^/]+$", "?.lua;") .. package.path
local lib = require "lib"

local create, resume, yield = coroutine.create, coroutine.resume, coroutine.yield
local collectgarbage = collectgarbage

-- n resume/yield pairs into one coroutine (a pair is one switch there
-- and one back, what a green-thread switch through the hub replaces).
local function switches(n)
  local co = create(function() while true do yield() end end)
  for _ = 1, n do resume(co) end
end

local function nothing() end

-- n coroutines created and run to completion.
local function spawn_wait(n)
  for _ = 1, n do resume(create(nothing)) end
end

local modes = {}

function modes.switch(n)
  lib.report{ns = lib.ns_per_op(switches, n), bytes = lib.bytes_per_op(switches, n // 10)}
end

function modes.spawn(n)
  lib.report{ns = lib.ns_per_op(spawn_wait, n), bytes = lib.bytes_per_op(spawn_wait, n // 10)}
end

-- Memory of n coroutines suspended in a yield.
function modes.park(n)
  collectgarbage("collect")
  local kb0, rss0 = collectgarbage("count"), lib.rss_kb()
  local cos = {}
  for i = 1, n do cos[i] = create(yield); resume(cos[i]) end
  collectgarbage("collect")
  local kb1, rss1 = collectgarbage("count"), lib.rss_kb()
  lib.report{heap = (kb1 - kb0) * 1024 / n, rss = (rss1 - rss0) * 1024 / n}
end

local mode, n = lib.args(100000)
assert(modes[mode], "unknown mode " .. mode)(n)
