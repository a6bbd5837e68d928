--- eventlet.waiters: a FIFO list of parked green threads.
-- Every blocking primitive (Event, Semaphore, Queue, channel, pools) keeps
-- its waiters here.  A waiter is a record (thread, park number, item) in
-- the list's integer keys, from `first` to `last`; waking one is
-- core.unpark(thread, park number, values...), which fails harmlessly for
-- a waiter that timed out or was killed meanwhile, so such a record is
-- skipped and nothing handed over is ever lost: values given to a
-- successful unpark are returned by that waiter's park.  A waiter that
-- gives up removes its own record.  Free slots hold false, never nil, so
-- the keys stay in the table's array part: waiting and waking allocate
-- nothing.  The hot paths are plain functions (_M.wait, _M.wake) as well
-- as methods.  Internal module.
local core = require "eventlet.core"
local ring = require "eventlet.ring"

local setmetatable = setmetatable
local pcall = pcall
local error = error
local waiter = core.waiter
local park = core.park
local unpark = core.unpark

local Waiters = {}
Waiters.__index = Waiters
Waiters.__name = "eventlet.waiters"

local _M = {}

-- Records drift this far up before sliding back down to slot 1.
local SLIDE = 3 * 64

--- A new empty waiter list.
function _M.new()
  -- live: parked and not yet woken (records of waiters that gave up
  -- are not counted); n: records, live or stale.
  return setmetatable({first = 1, last = 1, n = 0, live = 0}, Waiters)
end

local slide = ring.slide

-- Remove and return the oldest record.
local function shift(self)
  local first = self.first
  local gt, seq, item = self[first], self[first + 1], self[first + 2]
  self[first], self[first + 1], self[first + 2] = false, false, false
  local n = self.n - 1
  self.n = n
  if n == 0 then
    self.first, self.last = 1, 1
  else
    self.first = first + 3
    if first > SLIDE and first > 6 * n then slide(self) end
  end
  return gt, seq, item
end

-- Remove the record at slot s, closing the gap (rare paths only).
local function remove_at(self, s)
  if s == self.first then shift(self) return end
  local last = self.last
  for i = s, last - 4 do self[i] = self[i + 3] end
  self[last - 3], self[last - 2], self[last - 1] = false, false, false
  self.last = last - 3
  self.n = self.n - 1
end

--- Drop the record of (gt, seq) if it is still queued.  Searched from
-- the oldest, where waiters that time out in arrival order are found at
-- once.
function Waiters:forget(gt, seq)
  for s = self.first, self.last - 1, 3 do
    if self[s] == gt and self[s + 1] == seq then return remove_at(self, s) end
  end
end

-- A wait that did not end in a wake-up: the waiter leaves the list and
-- reports "timeout", or re-raises the kill/Timeout it received (which
-- may have struck before the park began, when the park number was not
-- yet used: the record must go before any later park can match it).
local function gave_up(self, gt, seq, ok, err)
  self.live = self.live - 1
  self:forget(gt, seq)
  if ok then return nil, "timeout" end
  error(err, 0)
end

-- The end of a wait: the values handed over when woken.
local function settle(self, gt, seq, ok, woke, ...)
  if ok and woke then return true, ... end
  return gave_up(self, gt, seq, ok, woke)
end

-- Append the running thread's record; returns its thread and park number.
local function enlist(self, item)
  local gt, seq = waiter()
  local last = self.last
  self[last], self[last + 1], self[last + 2] = gt, seq, item == nil and false or item
  self.last = last + 3
  self.n = self.n + 1
  self.live = self.live + 1
  return gt, seq
end

--- Park the running thread at the end of the list until woken (true,
-- values...) or until timeout seconds (nil = none) pass (nil, "timeout").
-- `item` rides along in the record for the waker (a blocked putter's
-- value); `what` names the wait in deadlock reports.  Raises a kill or
-- Timeout.
local function wait(self, timeout, what, item)
  local gt, seq = enlist(self, item)
  return settle(self, gt, seq, pcall(park, timeout, what))
end
Waiters.wait, _M.wait = wait, wait

--- As wait, for wake-ups carrying at most one value (the fast path of
-- queues, semaphores and pools): true, value or nil, "timeout".
local function wait1(self, timeout, what, item)
  local gt, seq = enlist(self, item)
  local ok, woke, value = pcall(park, timeout, what)
  if ok and woke then return true, value end
  return gave_up(self, gt, seq, ok, woke)
end
Waiters.wait1, _M.wait1 = wait1, wait1

--- Wake the oldest waiter still parked, handing it the values.  Returns
-- true and the item of its record, or false when nobody waits.
local function wake(self, ...)
  while self.n > 0 do
    local gt, seq, item
    if self.n == 1 then  -- the common case, inline: one waiter
      local f = self.first
      gt, seq, item = self[f], self[f + 1], self[f + 2]
      self[f], self[f + 1], self[f + 2] = false, false, false
      self.n, self.first, self.last = 0, 1, 1
    else
      gt, seq, item = shift(self)
    end
    if unpark(gt, seq, ...) then
      self.live = self.live - 1
      return true, item
    end
  end
  return false
end
Waiters.wake, _M.wake = wake, wake

--- Wake every waiter with the values; returns how many were woken.
function Waiters:wake_all(...)
  local woken = 0
  while wake(self, ...) do woken = woken + 1 end
  return woken
end

--- Wake one particular waiting thread with the values (coros.event's
-- cancel).  Returns true if gt was waiting here.
function Waiters:wake_thread(gt, ...)
  for s = self.first, self.last - 1, 3 do
    if self[s] == gt then
      local seq = self[s + 1]
      remove_at(self, s)
      if unpark(gt, seq, ...) then
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
