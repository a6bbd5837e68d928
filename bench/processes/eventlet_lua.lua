--- bench/processes/eventlet_lua.lua: child processes through
-- eventlet.processes.  Wall time (children run outside our CPU clock).
--   eventlet-lua bench/processes/eventlet_lua.lua runs N   N concurrent run{"true"}
--   eventlet-lua bench/processes/eventlet_lua.lua cat BYTES  BYTES through cat and back
package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local core = require "eventlet.core"
local processes = require "eventlet.processes"
local lib = require "lib"

local mode, n = arg[1], tonumber(arg[2])

-- n run{"true"} at once; seconds of wall time.
local function runs(count)
  local t0 = core.time()
  local gts = {}
  for i = 1, count do
    gts[i] = core.spawn(processes.run, {"true"})
  end
  for i = 1, count do
    local _, _, code = gts[i]:wait()
    assert(code == 0)
  end
  return core.time() - t0
end

-- bytes through cat: one thread writes, this one reads; wall seconds.
local function cat(bytes)
  local chunk = ("x"):rep(65536)
  local p <close> = assert(processes.spawn{"cat"})
  local t0 = core.time()
  local writer = core.spawn(function()
    for _ = 1, bytes // #chunk do assert(p.stdin:send(chunk)) end
    p:close_stdin()
  end)
  local got = 0
  while true do
    local data = p.stdout:recv(1 << 20)
    if not data then break end
    got = got + #data
  end
  writer:wait()
  assert(p:wait() == 0 and got == bytes // #chunk * #chunk)
  return core.time() - t0
end

local function main()
  if mode == "runs" then
    local wall = runs(n)
    lib.report{wall = wall, per = wall / n}
  else
    local wall = cat(n)
    lib.report{wall = wall, mbs = n / wall / 1e6}
  end
end
core.spawn(main):wait()
