--- eventlet.greenpool: GreenPool and GreenPile.
-- A GreenPool runs at most `size` green threads at a time: spawn blocks
-- the caller (FIFO) while the pool is full, and a thread's end, however it
-- ends, frees its slot for the oldest blocked spawner.  A GreenPile
-- collects the results of the threads it spawns, in spawn order.
local core = require "eventlet.core"
local ring = require "eventlet.ring"
local waiters = require "eventlet.waiters"
local support = require "eventlet.support"

local setmetatable = setmetatable
local pcall = pcall
local error = error
local type = type
local getmetatable = getmetatable
local table_pack = table.pack
local table_unpack = table.unpack
local spawn = core.spawn
local getcurrent = core.getcurrent

local _M = {}

local GreenPool = {}
GreenPool.__index = GreenPool
GreenPool.__name = "eventlet.GreenPool"

local check_size = support.count
local check_callable = support.callable

--- GreenPool([size]) -> a pool running at most size (default 1000)
-- green threads at once.
function _M.GreenPool(size)
  return setmetatable({
    size = check_size(size == nil and 1000 or size, "GreenPool", "size"),
    nrunning = 0,
    members = {},              -- live member thread -> true
    spawners = waiters.new(),  -- callers blocked in spawn, FIFO
    idlers = waiters.new(),    -- callers blocked in waitall
  }, GreenPool)
end

-- Link of every member: its slot goes to the oldest blocked spawner if
-- the pool has room for it (not after a resize down), else is freed.
local function member_ended(gt, pool)
  pool.members[gt] = nil
  if pool.nrunning <= pool.size and pool.spawners:wake() then
    return  -- the slot changed hands: nrunning is unchanged
  end
  pool.nrunning = pool.nrunning - 1
  if pool.nrunning == 0 then pool.idlers:wake_all() end
end

-- Start fn(...) as a member, in a slot already counted.
local function start(pool, fn, ...)
  local gt = spawn(fn, ...)
  pool.members[gt] = true
  gt:link(member_ended, pool)
  return gt
end

--- spawn(fn, ...) -> GreenThread: run fn(...) in the pool, first waiting
-- (FIFO) for a free slot.  A pool member spawning into its own full pool
-- does not wait (that could deadlock): the new thread runs beyond the
-- limit and the caller waits for it to end, as if it ran inline.
function GreenPool:spawn(fn, ...)
  check_callable(fn, "GreenPool:spawn")
  if self.nrunning < self.size and #self.spawners == 0 then
    self.nrunning = self.nrunning + 1
    return start(self, fn, ...)
  end
  if self.members[getcurrent(true)] then
    self.nrunning = self.nrunning + 1
    local gt = start(self, fn, ...)
    local ok, err = pcall(gt.wait, gt)
    if not ok and not gt:dead() then error(err, 0) end  -- we were cancelled
    return gt
  end
  self.spawners:wait(nil, "GreenPool:spawn")  -- woken with a slot handed over
  return start(self, fn, ...)
end

--- spawn_n(fn, ...): as spawn, without returning the thread.
function GreenPool:spawn_n(fn, ...)
  check_callable(fn, "GreenPool:spawn_n")
  self:spawn(fn, ...)
end

--- waitall([timeout]) -> true once no member runs (at once if none);
-- nil, "timeout" if members still run after timeout seconds.  An error
-- from a member, which would wait for itself.
function GreenPool:waitall(timeout)
  if self.members[getcurrent(true)] then
    error("GreenPool:waitall: called from a pool member, it would never end", 2)
  end
  if self.nrunning == 0 then return true end
  if timeout == 0 then return nil, "timeout" end
  if self.idlers:wait(timeout, "GreenPool:waitall") then return true end
  return nil, "timeout"
end

--- Number of member threads running.
function GreenPool:running()
  return self.nrunning
end

--- Number of free slots (negative after a resize below running()).
function GreenPool:free()
  return self.size - self.nrunning
end

--- Number of callers blocked in spawn.
function GreenPool:waiting()
  return #self.spawners
end

--- resize(size): change the limit; running threads finish, blocked
-- spawners start while there is room.
function GreenPool:resize(size)
  self.size = check_size(size, "GreenPool:resize", "size")
  while self.nrunning < self.size and self.spawners:wake() do
    self.nrunning = self.nrunning + 1
  end
end

-- The body of result-collecting threads: ok, results... of fn(...), so
-- an error becomes a result instead of a report.
local function protected(fn, ...)
  return pcall(fn, ...)
end

-- An iterator over the argument lists zipped from sources (arrays, or
-- functions returning the next value or nil); nil when one runs dry.
local function zip(sources)
  local i = 0
  return function()
    i = i + 1
    local args = {n = sources.n}
    for k = 1, sources.n do
      local s = sources[k]
      local v
      if type(s) == "table" then v = s[i] else v = s() end
      if v == nil then return nil end
      args[k] = v
    end
    return args
  end
end

-- An iterator returning ok, results... of each job in input order, with
-- at most the pool's free slots (at least one) running ahead.
local function ordered(pool, fn, next_args)
  local pending, exhausted = ring.new(), false
  return function()
    while not exhausted and (pending.n == 0 or pool:free() > 0) do
      local args = next_args()
      if args == nil then exhausted = true; break end
      pending:push(pool:spawn(protected, fn, table_unpack(args, 1, args.n)))
    end
    local gt = pending:shift()
    if gt == nil then return nil end
    return gt:wait()
  end
end

--- imap(fn, ...) -> iterator: fn applied to the zipped inputs (arrays, or
-- functions returning the next value or nil), run in the pool.  Each step
-- gives `ok, results...` in input order: true and fn's results, or false
-- and the error it raised -- a failing item does not stop the others.
--   for ok, v in pool:imap(fetch, urls) do ... end
function GreenPool:imap(fn, ...)
  check_callable(fn, "GreenPool:imap")
  local sources = table_pack(...)
  for k = 1, sources.n do
    local t = type(sources[k])
    if t ~= "table" and t ~= "function" then
      error(("GreenPool:imap: input %d must be an array or a function, got %s"):format(k, t), 2)
    end
  end
  return ordered(self, fn, zip(sources))
end

--- starmap(fn, arglists) -> iterator as imap, calling fn(table.unpack(a))
-- for each argument list a (an array, with an optional n).
function GreenPool:starmap(fn, arglists)
  check_callable(fn, "GreenPool:starmap")
  if type(arglists) ~= "table" then error("GreenPool:starmap: expected an array of argument lists", 2) end
  local i = 0
  return ordered(self, fn, function()
    i = i + 1
    local args = arglists[i]
    if args == nil then return nil end
    if args.n == nil then return {n = #args, table_unpack(args)} end
    return args
  end)
end

--- __tostring: "GreenPool (3/10 running, 0 waiting)".
function GreenPool:__tostring()
  return ("GreenPool (%d/%d running, %d waiting)"):format(self.nrunning, self.size, #self.spawners)
end

local GreenPile = {}
GreenPile.__index = GreenPile
GreenPile.__name = "eventlet.GreenPile"

--- GreenPile([pool_or_size]) -> a pile spawning into the given GreenPool
-- (piles may share one) or into a new pool of that size (default 1000).
function _M.GreenPile(pool_or_size)
  local pool = pool_or_size
  if getmetatable(pool) ~= GreenPool then pool = _M.GreenPool(pool_or_size) end
  return setmetatable({pool = pool, pending = ring.new()}, GreenPile)
end

--- spawn(fn, ...): run fn(...) in the pile's pool (waiting for a slot);
-- its results come out of the pile in spawn order.
function GreenPile:spawn(fn, ...)
  check_callable(fn, "GreenPile:spawn")
  local gt = self.pool:spawn(protected, fn, ...)
  self.pending:push(gt)
  return gt
end

--- next() -> ok, results... of the oldest job not yet taken (waiting for
-- it): true and its results, or false and its error; nil when none left.
function GreenPile:next()
  local gt = self.pending:shift()
  if gt == nil then return nil end
  return gt:wait()
end

--- Number of jobs whose results were not taken yet.
function GreenPile:count()
  return self.pending.n
end

--- Iterate the results: `for ok, value in pile do ... end`.
function GreenPile:__call()
  return self:next()
end

return _M
