--- bench/soak/green_kill.lua -- scenario 5: SOAK_THREADS (10,000) green
-- threads parked in every kind of wait, then killed, SOAK_ROUNDS (5)
-- times.  Before the first round and after each, the hub's live threads
-- and armed watchers, the process's descriptors and Lua's heap are
-- printed: after the rounds they must be back where they started.
--   eventlet-lua bench/soak/green_kill.lua
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local eventlet = require "eventlet"
local core = require "eventlet.core"
local channel = require "eventlet.channel"
local processes = require "eventlet.processes"
local fs = require "eventlet.fs"

local N = tonumber(os.getenv("SOAK_THREADS")) or 10000
local ROUNDS = tonumber(os.getenv("SOAK_ROUNDS")) or 5

-- The number of open descriptors of this process.
local function fd_count()
  local p = io.popen("ls /proc/" .. core.getpid() .. "/fd | wc -l")
  local n = tonumber(p:read("a"))
  p:close()
  return n
end

-- The resident set of this process, in KiB.
local function rss_kb()
  local f = io.open("/proc/self/status")
  local kb = f:read("a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb)
end

-- One line of figures: live threads, armed watchers, fds, Lua heap, RSS.
local function sample(what)
  for _ = 1, 3 do collectgarbage("collect") end
  local s = core.stats()
  print(("%-22s live %5d  parked %5d  watchers %5d  fds %4d  heap %8.0f KiB  rss %6d KiB")
        :format(what, s.live, s.parked, s.watchers, fd_count(), collectgarbage("count"), rss_kb()))
  return s, fd_count(), collectgarbage("count")
end

-- The kinds of wait, each a function parking the calling thread; shared
-- objects are made per round so a kill has to clean up after itself.
local function kinds()
  local ev, q, sem, lock = eventlet.Event(), eventlet.Queue(), eventlet.Semaphore(0), eventlet.Lock()
  lock:acquire()
  local ch = channel.new()
  local pool = eventlet.GreenPool(1)
  local member = pool:spawn(eventlet.sleep, 3600)
  local listener = assert(eventlet.listen("127.0.0.1:0"))   -- recv's peers
  local _, port = listener:getsockname()
  local conns = {}
  -- A connected socket whose peer never writes.
  local function silent()
    local c = assert(eventlet.connect("127.0.0.1:" .. port))
    conns[#conns + 1] = c
    return c
  end
  local list = {
    sleep = function() eventlet.sleep(3600) end,
    timeout = function() eventlet.with_timeout(3600, eventlet.sleep, 7200) end,
    event = function() ev:wait() end,
    event_timeout = function() ev:wait(3600) end,
    queue = function() q:get() end,
    queue_put = function() local full = eventlet.Queue(1); full:put(1); full:put(2) end,
    semaphore = function() sem:acquire() end,
    lock = function() lock:acquire() end,
    channel = function() ch:receive() end,
    greenpool = function() pool:spawn(eventlet.sleep, 1) end,
    waitall = function() pool:waitall() end,
    accept = function()                  -- one listener each: nobody connects
      local quiet = assert(eventlet.listen("127.0.0.1:0"))
      conns[#conns + 1] = quiet
      quiet:accept()
    end,
    recv = function() silent():receive(1) end,
    trampoline = function() core.trampoline(silent():getfd(), "r", 3600) end,
    fs = function() fs.read("/proc/self/status") end,
    process = function()
      local p = processes.spawn({"sleep", "3600"})
      conns[#conns + 1] = p
      p:wait()
    end,
  }
  -- What the round leaves behind besides its threads: closed here.
  local function close()
    member:kill()
    listener:close()
    for _, c in ipairs(conns) do
      if c.kill then c:kill(9) c:wait() end
      c:close()
    end
  end
  return list, close
end

local NAMES = {"sleep", "timeout", "event", "event_timeout", "queue", "queue_put", "semaphore",
               "lock", "channel", "greenpool", "waitall", "accept", "recv", "trampoline"}
-- Costlier waits (a child process, a file read on the thread pool) get
-- fewer threads each.
local FEW = {process = 10, fs = 20}

local base_stats, base_fds, base_heap = sample("before")
for round = 1, ROUNDS do
  local list, close = kinds()
  local threads = {}
  for i = 1, N do
    threads[i] = eventlet.spawn(list[NAMES[i % #NAMES + 1]])
    if i % 500 == 0 then eventlet.sleep(0) end
  end
  for name, n in pairs(FEW) do
    for _ = 1, n do threads[#threads + 1] = eventlet.spawn(list[name]) end
  end
  eventlet.sleep(0.5)
  local parked = core.stats().parked
  for _, gt in ipairs(threads) do gt:kill() end
  eventlet.sleep(0.3)                   -- tpool jobs finish, children reaped
  close()
  eventlet.sleep(0.3)
  sample(("round %d (%d parked)"):format(round, parked))
end
local s, fds, heap = sample("after")
print(("green_kill: %d rounds of %d threads: live %+d, watchers %+d, fds %+d, heap %+.0f KiB")
      :format(ROUNDS, N, s.live - base_stats.live, s.watchers - base_stats.watchers,
              fds - base_fds, heap - base_heap))
