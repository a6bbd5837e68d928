--- bench/coordination/floor.lua: what the core's park/unpark allows, to
-- tell the core's share of a coordination benchmark from the module's
-- (used by eventlet_lua.lua's floor_* modes).  handoff(n): n messages
-- passed by bare core.waiter/park/unpark between two green threads.
-- fifo(): the smallest FIFO queue that can be written on those calls
-- (unbounded, lazy removal of stale waiters as in docs/internals.md, no
-- timeouts, no task counting) -- a measuring device, not a queue to use.
local eventlet = require "eventlet"
local core = eventlet.core

local spawn = eventlet.spawn
local waiter, park, unpark = core.waiter, core.park, core.unpark
local setmetatable = setmetatable

local _M = {}

--- n messages: each thread wakes the other with a value, then parks.
function _M.handoff(n)
  local rounds = n // 2
  local a, a_seq, b, b_seq
  local pong = spawn(function()
    for i = 1, rounds do
      b, b_seq = waiter()
      if a then unpark(a, a_seq, i) end
      park()
    end
    unpark(a, a_seq, 0)
  end)
  eventlet.sleep(0)
  for i = 1, rounds do
    a, a_seq = waiter()
    unpark(b, b_seq, i)
    park()
  end
  pong:wait()
end

local Fifo = {}
Fifo.__index = Fifo

--- An empty minimal queue: items and waiters (thread, park number) in
-- arrays that restart at 1 whenever they empty.
function _M.fifo()
  return setmetatable({items = {}, first = 1, last = 0, waiters = {}, wfirst = 1, wlast = 0}, Fifo)
end

-- Hand the item to the oldest waiter still parked, else buffer it.
function Fifo:put(item)
  local w = self.waiters
  for i = self.wfirst, self.wlast, 2 do
    local gt, seq = w[i], w[i + 1]
    w[i], w[i + 1] = nil, nil
    self.wfirst = i + 2
    if unpark(gt, seq, item) then return end
  end
  self.wfirst, self.wlast = 1, 0
  local last = self.last + 1
  self.items[last] = item
  self.last = last
end

-- The oldest buffered item, else park until a put hands one over.
function Fifo:get()
  local first = self.first
  if first <= self.last then
    local item = self.items[first]
    self.items[first] = nil
    if first == self.last then self.first, self.last = 1, 0 else self.first = first + 1 end
    return item
  end
  local gt, seq = waiter()
  local w, last = self.waiters, self.wlast
  w[last + 1], w[last + 2] = gt, seq
  self.wlast = last + 2
  local _, item = park()
  return item
end

return _M
