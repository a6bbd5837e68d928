--- eventlet.ring: a FIFO buffer of fixed-width records.
-- The storage of every waiter list and queue buffer in eventlet.  Records
-- of `width` slots live in the integer keys of the ring itself, between
-- `first` and `last`.  Free slots hold false, never nil, so the keys stay
-- in the table's array part; the buffer restarts at 1 whenever it empties
-- and slides back down when it has drifted far, so a push or shift
-- allocates nothing once the ring has grown to its working size.
-- Internal module: users want eventlet.queue.
local setmetatable = setmetatable
local error = error

local Ring = {}
Ring.__index = Ring

local _M = {}

-- Records drift this far up before they slide back down to slot 1.
local SLIDE = 256

--- A new empty ring of records `width` slots wide: 1 (values) or 3
-- (waiters: thread, park number, item).  `mt` is a metatable whose
-- __index chains to _M.Ring (eventlet.waiters extends rings that way).
function _M.new(width, mt)
  width = width or 1
  if width ~= 1 and width ~= 3 then error("ring: width must be 1 or 3", 2) end
  return setmetatable({width = width, first = 1, last = 1, n = 0}, mt or Ring)
end

-- Move the records down to slot 1 and free the slots they left.
local function slide(self)
  local first, last = self.first, self.last
  local span = last - first
  for i = 0, span - 1 do self[1 + i] = self[first + i] end
  for i = span + 1, last - 1 do self[i] = false end
  self.first, self.last = 1, span + 1
end

--- Append a record (width 1 keeps a; width 3 keeps a, b, c).
function Ring:push(a, b, c)
  local last = self.last
  self[last] = a
  if self.width == 3 then
    self[last + 1] = b
    self[last + 2] = c
    last = last + 2
  end
  self.last = last + 1
  self.n = self.n + 1
end

--- Remove and return the oldest record (nil when empty).
function Ring:shift()
  local first = self.first
  if first == self.last then return nil end
  local n = self.n - 1
  self.n = n
  local a = self[first]
  self[first] = false
  if self.width == 1 then
    if n == 0 then self.first, self.last = 1, 1
    else
      self.first = first + 1
      if first > SLIDE and first > 2 * n then slide(self) end
    end
    return a
  end
  local b, c = self[first + 1], self[first + 2]
  self[first + 1] = false
  self[first + 2] = false
  if n == 0 then self.first, self.last = 1, 1
  else
    self.first = first + 3
    if first > SLIDE and first > 6 * n then slide(self) end
  end
  return a, b, c
end

--- Remove and return the newest record (nil when empty): for stacks.
function Ring:pop()
  if self.n == 0 then return nil end
  self.n = self.n - 1
  local last = self.last - self.width
  self.last = last
  local a, b, c = self[last], self[last + 1], self[last + 2]
  for i = last, last + self.width - 1 do self[i] = false end
  if self.n == 0 then self.first, self.last = 1, 1 end
  if self.width == 1 then return a end
  return a, b, c
end

--- Record number i (0 = oldest), left in place.
function Ring:at(i)
  local s = self.first + i * self.width
  return self[s], self[s + 1], self[s + 2]
end

--- Remove record number i (0 = oldest), closing the gap: O(n), for rare
-- paths only (a waiter that gave up).
function Ring:remove(i)
  local w, last = self.width, self.last
  for s = self.first + i * w, last - w - 1 do self[s] = self[s + w] end
  for s = last - w, last - 1 do self[s] = false end
  self.last = last - w
  self.n = self.n - 1
  if self.n == 0 then self.first, self.last = 1, 1 end
end

_M.Ring = Ring

return _M
