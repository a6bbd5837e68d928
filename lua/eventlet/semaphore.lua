--- eventlet.semaphore: Semaphore, BoundedSemaphore, CappedSemaphore, Lock.
-- A counter of free units with a FIFO list of waiters.  release() hands
-- its unit straight to the oldest waiter, so a newcomer never barges past
-- a queued thread and contenders take turns: no one starves.
local waiters = require "eventlet.waiters"
local support = require "eventlet.support"

local setmetatable = setmetatable
local pcall = pcall
local error = error

local _M = {}

local Semaphore = {}
Semaphore.__name = "eventlet.Semaphore"

-- Instances find methods in their class; `.balance` is computed (free
-- units minus waiting threads, as eventlet's property).
local function index_of(cls)
  return function(self, key)
    local method = cls[key]
    if method ~= nil or key ~= "balance" then return method end
    return self:get_balance()
  end
end
Semaphore.__index = index_of(Semaphore)

local check_count = support.count
local wake = waiters.wake

-- Check the blocking/timeout pair of acquire; returns the timeout.
local function check_wait(blocking, timeout, who)
  if timeout == nil or timeout == -1 then return nil end
  support.timeout(timeout, who, 3)
  if blocking == false then error(who .. ": a timeout makes no sense when not blocking", 3) end
  return timeout
end

-- A semaphore object of class cls with `count` free units.  Its hot
-- methods are copied into it: the class's __index is a function (for
-- .balance), which a method found in the object never reaches.
-- contended: a thread may wait (set before any wait, cleared by a release
-- that finds nobody), so an uncontended release makes no C call.
local function new(cls, count, who)
  count = check_count(count == nil and 1 or count, who, "count", 3)
  return setmetatable({counter = count, initial = count, waiters = waiters.new(),
                       contended = false, acquire = cls.acquire, release = cls.release}, cls)
end

--- Semaphore([count]) -> a semaphore with count (default 1) free units.
function _M.Semaphore(count)
  return new(Semaphore, count, "Semaphore")
end

--- Take a unit: true at once if one is free and nobody queues before us;
-- else false when blocking is false; else wait (FIFO) up to timeout
-- seconds (nil: forever) and return true, or false when the time runs out.
function Semaphore:acquire(blocking, timeout)
  if timeout ~= nil then timeout = check_wait(blocking, timeout, "Semaphore:acquire") end
  if self.counter > 0 then  -- free units never coexist with waiters
    self.counter = self.counter - 1
    return true
  end
  if blocking == false then return false end
  self.contended = true
  return self.waiters:wait(timeout, "Semaphore:acquire") == true
end

--- Give a unit back: to the oldest waiter if any, else to the counter.
function Semaphore:release()
  if self.contended then
    if wake(self.waiters) then return true end
    self.contended = false
  end
  self.counter = self.counter + 1
  return true
end

--- True when acquire would block.
function Semaphore:locked()
  return self.counter <= 0 or #self.waiters > 0
end

--- False: release never fails or blocks on a plain Semaphore.
function Semaphore.bounded()
  return false
end

--- Free units minus waiting threads (negative: threads wait).
function Semaphore:get_balance()
  return self.counter - #self.waiters
end

-- Release unless the function ran out of units; re-raise its error.
local function finish(self, ok, ...)
  self:release()
  if not ok then error((...), 0) end
  return ...
end

--- Run fn(...) holding one unit; the unit is released however fn ends.
function Semaphore:with(fn, ...)
  self:acquire()
  return finish(self, pcall(fn, ...))
end

-- The guard returned by hold(): closing it releases its semaphore.
local Guard = {}
Guard.__index = Guard
Guard.__name = "eventlet.Semaphore.guard"

--- Release the semaphore held through this guard.
function Guard:__close()
  self.semaphore:release()
end

--- hold([timeout]) -> a guard for a to-be-closed variable, which releases
-- the unit at the end of the scope: `local _ <close> = sem:hold()`.
-- nil, "timeout" when the time runs out first.
function Semaphore:hold(timeout)
  if not self:acquire(true, timeout) then return nil, "timeout" end
  local guard = self.guard
  if guard == nil then
    guard = setmetatable({semaphore = self}, Guard)
    self.guard = guard
  end
  return guard
end

--- __tostring: "Semaphore (counter 1, 0 waiting)".
function Semaphore:__tostring()
  return ("%s (counter %d, %d waiting)"):format(self.__name:match("[^.]+$"),
    self.counter, #self.waiters)
end

-- A subclass of Semaphore (or of parent), whose instances compute .balance.
local function subclass(name, parent)
  local cls = support.subclass(parent or Semaphore, name)
  cls.__index = index_of(cls)
  cls.__tostring = Semaphore.__tostring
  return cls
end

local BoundedSemaphore = subclass("eventlet.BoundedSemaphore")

--- BoundedSemaphore([count]): releasing past the initial count is an error.
function _M.BoundedSemaphore(count)
  return new(BoundedSemaphore, count, "BoundedSemaphore")
end

--- Give a unit back; more releases than acquires is an error.
function BoundedSemaphore:release()
  if self.counter >= self.initial then
    error("BoundedSemaphore:release: released too many times", 2)
  end
  return Semaphore.release(self)
end

--- True: release checks the initial count.
function BoundedSemaphore.bounded()
  return true
end

local Lock = subclass("eventlet.Lock", BoundedSemaphore)

--- Lock(): a semaphore of one unit; releasing an unlocked lock is an error.
function _M.Lock()
  return new(Lock, 1, "Lock")
end

--- Unlock; an error when not locked.
function Lock:release()
  if self.counter >= 1 then error("Lock:release: release unlocked lock", 2) end
  return Semaphore.release(self)
end

local CappedSemaphore = subclass("eventlet.CappedSemaphore")

--- CappedSemaphore(count, limit): release blocks while the counter is at
-- limit, until an acquire takes a unit.
function _M.CappedSemaphore(count, limit)
  local self = new(CappedSemaphore, count, "CappedSemaphore")
  self.limit = check_count(limit, "CappedSemaphore", "limit")
  if self.counter > self.limit then
    error("CappedSemaphore: count must not exceed limit", 2)
  end
  self.releasers = waiters.new()
  return self
end

--- Take a unit, as Semaphore:acquire; a release blocked at the limit is
-- then let through (or hands its unit over directly at limit 0).
function CappedSemaphore:acquire(blocking, timeout)
  timeout = check_wait(blocking, timeout, "CappedSemaphore:acquire")
  if #self.waiters == 0 then
    if self.counter > 0 then
      self.counter = self.counter - 1
      if self.releasers:wake() then self.counter = self.counter + 1 end
      return true
    end
    if self.releasers:wake() then return true end
  end
  if blocking == false then return false end
  return self.waiters:wait(timeout, "CappedSemaphore:acquire") == true
end

--- release([blocking[, timeout]]) -> bool: give a unit back; waits (FIFO)
-- while the counter is at its limit.  false when not blocking or timed out.
function CappedSemaphore:release(blocking, timeout)
  timeout = check_wait(blocking, timeout, "CappedSemaphore:release")
  if self.waiters:wake() then return true end
  if self.counter < self.limit and #self.releasers == 0 then
    self.counter = self.counter + 1
    return true
  end
  if blocking == false then return false end
  return self.releasers:wait(timeout, "CappedSemaphore:release") == true
end

--- Free units minus waiting acquirers plus waiting releasers.
function CappedSemaphore:get_balance()
  return self.counter - #self.waiters + #self.releasers
end

--- True: release blocks at the limit.
function CappedSemaphore.bounded()
  return true
end

return _M
