--- eventlet.ring: a FIFO (and LIFO) buffer of values.
-- The item buffer of queues and pools.  Values live in the integer keys
-- of the ring itself, between `first` and `last`; `n` counts them.  Free
-- slots hold false, never nil, so the keys stay in the table's array part;
-- the buffer restarts at 1 whenever it empties and slides back down when
-- it has drifted far, so a push or shift allocates nothing once the ring
-- has grown to its working size.  The buffer of pools and GreenPool
-- (eventlet.queue keeps its items in C).  Internal module.
local setmetatable = setmetatable

local Ring = {}
Ring.__index = Ring
Ring.__name = "eventlet.ring"

local _M = {}

-- Values drift this far up before they slide back down to slot 1.
local SLIDE = 64

--- A new empty ring.
function _M.new()
  return setmetatable({first = 1, last = 1, n = 0}, Ring)
end

-- Move the slots first..last-1 of t down to 1 and free (false) the
-- slots they left; t.first and t.last follow.
local function slide(self)
  local first, last = self.first, self.last
  local span = last - first
  for i = 0, span - 1 do self[1 + i] = self[first + i] end
  for i = span + 1, last - 1 do self[i] = false end
  self.first, self.last = 1, span + 1
end

--- Append a value (nil is stored as false: callers reject nil).
function Ring:push(value)
  local last = self.last
  self[last] = value
  self.last = last + 1
  self.n = self.n + 1
end

--- Remove and return the oldest value (nil when empty).
function Ring:shift()
  local n = self.n
  if n == 0 then return nil end
  local first = self.first
  local value = self[first]
  self[first] = false
  n = n - 1
  self.n = n
  if n == 0 then
    self.first, self.last = 1, 1
  else
    self.first = first + 1
    if first > SLIDE and first > 2 * n then slide(self) end
  end
  return value
end

--- Remove and return the newest value (nil when empty): for stacks.
function Ring:pop()
  local n = self.n
  if n == 0 then return nil end
  local last = self.last - 1
  local value = self[last]
  self[last] = false
  self.n = n - 1
  if n == 1 then self.first, self.last = 1, 1 else self.last = last end
  return value
end

return _M
