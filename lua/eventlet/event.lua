--- eventlet.event: Event, a one-shot result for any number of waiters.
-- send(...) stores values and wakes every waiter without yielding;
-- send_exception(e) makes every wait, early or late, raise e; wait()
-- returns the values (at once, forever, once sent) or nil after its
-- timeout; reset() re-arms a sent event.
local waiters = require "eventlet.waiters"

local setmetatable = setmetatable
local select = select
local error = error
local table_pack = table.pack
local table_unpack = table.unpack

local _M = {}

local Event = {}
Event.__index = Event
Event.__name = "eventlet.Event"

-- Marks an exception handed to waiters (never a user value).
local RAISE = setmetatable({}, {__tostring = function() return "RAISE" end})

--- Event() -> a fresh, unsent Event.
function _M.Event()
  return setmetatable({sent = false, waiters = waiters.new()}, Event)
end

-- Keep the values of a send: one value without a table (the common case).
local function store(self, n, ...)
  self.n = n
  if n <= 1 then self.value = ...; self.values = nil
  else self.values = table_pack(...) end
end

--- Send the values to every waiter, now and later.  Never yields.  A
-- second send (without reset) is an error.
function Event:send(...)
  if self.sent then error("Event:send: already sent (reset() first)", 2) end
  self.sent, self.exception = true, nil
  local n = select("#", ...)
  store(self, n, ...)
  self.waiters:wake_all(true, ...)
end

--- Make every waiter, now and later, raise e (which must not be nil).
function Event:send_exception(e)
  if self.sent then error("Event:send_exception: already sent (reset() first)", 2) end
  if e == nil then error("Event:send_exception: the error must not be nil", 2) end
  self.sent, self.exception = true, e
  store(self, 0)
  self.waiters:wake_all(RAISE, e)
end

-- The sent values, or the exception raised.
local function result(self)
  if self.exception ~= nil then error(self.exception, 0) end
  if self.n <= 1 then return self.value end
  return table_unpack(self.values, 1, self.values.n)
end

-- What a woken waiter returns: the values handed over with the wake-up
-- (so a reset() before it ran cannot take them away).
local function woken(ok, kind, ...)
  if not ok then return nil end
  if kind == RAISE then error((...), 0) end
  return ...
end

--- Wait for the send: its values (raises a sent exception), or nil when
-- timeout seconds pass first.  Returns at once once sent.
function Event:wait(timeout)
  if self.sent then return result(self) end
  if timeout ~= nil and timeout <= 0 then return nil end
  return woken(self.waiters:wait(timeout, "Event:wait"))
end

--- True once sent (wait would not block).
function Event:ready()
  return self.sent
end

--- True when the event was sent an exception.
function Event:has_exception()
  return self.sent and self.exception ~= nil
end

--- True when the event was sent values (not an exception).
function Event:has_result()
  return self.sent and self.exception == nil
end

--- The values if sent (raising a sent exception), else notready.
function Event:poll(notready)
  if not self.sent then return notready end
  return result(self)
end

--- Re-arm a sent event, forgetting its values.  Only after a send.
function Event:reset()
  if not self.sent then error("Event:reset: the event was never sent", 2) end
  self.sent, self.exception, self.value, self.values, self.n = false, nil, nil, nil, nil
end

--- How many threads wait for the send.
function Event:waiting()
  return self.waiters:count()
end

--- Wake one waiting thread with error e raised in it, leaving the event
-- unsent for the others (the 2007 coros.event cancel).  Returns true if
-- gt was waiting.
function Event:cancel(gt, e)
  return self.waiters:wake_thread(gt, RAISE, e == nil and "cancelled" or e)
end

--- __tostring: "Event (sent)" / "Event (2 waiting)".
function Event:__tostring()
  if self.sent then return "Event (sent)" end
  return ("Event (%d waiting)"):format(self.waiters:count())
end

_M.Event_class = Event

return _M
