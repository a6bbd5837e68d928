--- bench/coordination/eventlet_lua.lua: the coordination primitives'
-- costs under the eventlet-lua host.
--   eventlet-lua bench/coordination/eventlet_lua.lua MODE [n]
-- MODE: pingpong, event, semaphore, pool; floor_queue and floor_handoff
-- measure what the core allows under them (floor.lua).
package.path = arg[0]:gsub("[^/]+/[^/]+$", "?.lua;") .. package.path
local lib = require "lib"
local eventlet = require "eventlet"
local floor = require "coordination.floor"

local spawn = eventlet.spawn

-- n messages between two green threads through two queues made by
-- new_queue: each message is one put and one get, one hand-off to the
-- other thread.
local function pingpong(n, new_queue)
  local there, back = new_queue(), new_queue()
  local rounds = n // 2
  local pong = spawn(function()
    for _ = 1, rounds do back:put(there:get()) end
  end)
  for i = 1, rounds do
    there:put(i)
    back:get()
  end
  pong:wait()
end

-- n hand-offs between two green threads through two Events (send, wait,
-- reset), one per direction.
local function handoff(n)
  local there, back = eventlet.Event(), eventlet.Event()
  local rounds = n // 2
  local pong = spawn(function()
    for _ = 1, rounds do
      there:wait()
      there:reset()
      back:send(true)
    end
  end)
  for _ = 1, rounds do
    there:send(true)
    back:wait()
    back:reset()
  end
  pong:wait()
end

-- n acquire/release pairs on a Semaphore nobody else wants.
local function semaphore(n)
  local sem = eventlet.Semaphore(1)
  for _ = 1, n do
    sem:acquire()
    sem:release()
  end
end

local function nothing() end

-- n jobs through a GreenPool of 1000 (eventlet's default size), then waitall.
local function pool(n)
  local p = eventlet.GreenPool(1000)
  for _ = 1, n do p:spawn(nothing) end
  p:waitall()
end

local runs = {
  pingpong = function(n) return pingpong(n, eventlet.Queue) end,
  floor_queue = function(n) return pingpong(n, floor.fifo) end,
  floor_handoff = floor.handoff,
  event = handoff, semaphore = semaphore, pool = pool,
}

local mode, n = lib.args(100000)
local body = assert(runs[mode], "unknown mode " .. tostring(mode))
-- Measured code runs in a green thread of its own, where application code
-- runs (the host's main chunk is not yieldable: its waits run nested loops).
-- BENCH_MAIN_CHUNK=1 measures the main chunk instead.
local function run(count)
  if os.getenv("BENCH_MAIN_CHUNK") then return body(count) end
  return spawn(body, count):wait()
end
lib.report{ns = lib.ns_per_op(run, n), bytes = lib.bytes_per_op(run, math.max(n // 10, 1000))}
