--- eventlet.waiters: a FIFO list of parked green threads.
-- Every blocking primitive (Event, Semaphore, Queue, channel, pools) keeps
-- its waiters here.  A waiter is a record (thread, park number, item) in a
-- ring; waking one is core.unpark(thread, park number, values...), which
-- fails harmlessly for a waiter that timed out or was killed, so such a
-- record can be skipped lazily and nothing handed over is ever lost: a
-- value given to a successful unpark is returned by that waiter's park.
-- Internal module.
local core = require "eventlet.core"
local ring = require "eventlet.ring"

local pairs = pairs
local pcall = pcall
local error = error
local waiter = core.waiter
local park = core.park
local unpark = core.unpark
local Ring = ring.Ring
local push = Ring.push
local shift = Ring.shift

-- Waiters are rings with the methods below; Ring's are copied in so a
-- method is found in one lookup.
local Waiters = {}
for name, fn in pairs(Ring) do Waiters[name] = fn end
Waiters.__index = Waiters

local _M = {}

--- A new empty waiter list.
function _M.new()
  local self = ring.new(3, Waiters)
  self.live = 0  -- parked and not yet woken (stale records excluded)
  return self
end

--- Drop the record of (gt, seq) if it is still queued: a waiter that gave
-- up removes itself, so records never pile up.  Searched from the oldest,
-- where waiters that time out in arrival order are found at once.
function Waiters:forget(gt, seq)
  for i = 0, self.n - 1 do
    local g, s = self:at(i)
    if g == gt and s == seq then
      if i == 0 then self:shift() else self:remove(i) end
      return
    end
  end
end

-- The end of a wait: values when woken; otherwise the waiter leaves the
-- list and reports "timeout" or re-raises the kill/Timeout it received
-- (which may have struck before the park began, when the park number was
-- not yet used: the record must go before any later park can take it).
local function settle(self, gt, seq, ok, woke, ...)
  if ok and woke then return true, ... end
  self.live = self.live - 1
  self:forget(gt, seq)
  if ok then return nil, "timeout" end
  error(woke, 0)
end

--- Park the running thread at the end of the list until woken (true,
-- values...) or until timeout seconds (nil = none) pass (nil, "timeout").
-- `item` rides along in the record for the waker (a blocked putter's
-- value).  Raises a kill or Timeout.
function Waiters:wait(timeout, what, item)
  local gt, seq = waiter()
  push(self, gt, seq, item)
  self.live = self.live + 1
  return settle(self, gt, seq, pcall(park, timeout, what))
end

--- Wake the oldest waiter still parked, handing it the values.  Returns
-- true and the item of its record, or false when nobody waits.
function Waiters:wake(...)
  while self.n > 0 do
    local gt, seq, item = shift(self)
    if unpark(gt, seq, ...) then
      self.live = self.live - 1
      return true, item
    end
  end
  return false
end

--- Wake every waiter with the values; returns how many were woken.
function Waiters:wake_all(...)
  local woken = 0
  while self:wake(...) do woken = woken + 1 end
  return woken
end

--- Wake one particular waiting thread with the values (coros.event's
-- cancel).  Returns true if gt was waiting here.
function Waiters:wake_thread(gt, ...)
  for i = 0, self.n - 1 do
    local g, seq = self:at(i)
    if g == gt then
      self:remove(i)
      if unpark(g, seq, ...) then
        self.live = self.live - 1
        return true
      end
      return false
    end
  end
  return false
end

--- How many threads are parked here and not yet woken.
function Waiters:count()
  return self.live
end

return _M
