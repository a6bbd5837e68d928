--- eventlet.channel: the 2007 rendezvous channel.
-- send(v) blocks until a receiver takes v; receive() blocks until a
-- sender comes; send_exception(e) makes the receiver raise e.  Senders
-- and receivers are matched in FIFO order.  `balance` is positive while
-- senders wait and negative while receivers wait.  Any value may be
-- sent, nil included.
local queue = require "eventlet.queue"

local setmetatable = setmetatable
local error = error
local getmetatable = getmetatable

local _M = {}

local Channel = {}
Channel.__name = "eventlet.channel"

-- `.balance`: waiting senders minus waiting receivers (computed).
function Channel.__index(self, key)
  if key == "balance" then return self.queue:putting() - self.queue:getting() end
  return Channel[key]
end

-- Stand-ins for values a queue cannot carry: nil, and a raised error.
local NIL = setmetatable({}, {__tostring = function() return "nil" end})
local Raise = {}
Raise.__index = Raise

--- channel() -> a new channel (also _M.new and _M.channel).
function _M.new()
  return setmetatable({queue = queue.Queue(0)}, Channel)
end
_M.channel = _M.new

--- send(value[, timeout]) -> true once a receiver took the value, or
-- nil, "timeout" (the value was not delivered).
function Channel:send(value, timeout)
  if value == nil then value = NIL end
  if self.queue:put(value, timeout) then return true end
  return nil, "timeout"
end

--- send_exception(e[, timeout]): like send, but the receiver raises e.
function Channel:send_exception(e, timeout)
  if e == nil then error("channel:send_exception: the error must not be nil", 2) end
  return self:send(setmetatable({e}, Raise), timeout)
end

--- receive([timeout]) -> the value sent (raising a sent exception), or
-- nil, "timeout" when no sender came within timeout seconds.
function Channel:receive(timeout)
  local value, err = self.queue:get(timeout)
  if value == nil then return nil, err == "empty" and "timeout" or err end
  if value == NIL then return nil end
  if getmetatable(value) == Raise then error(value[1], 0) end
  return value
end

--- __tostring: "channel (balance 1)".
function Channel:__tostring()
  return ("channel (balance %d)"):format(self.balance)
end

return setmetatable(_M, {__call = function() return _M.new() end})
