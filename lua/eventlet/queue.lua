--- eventlet.queue: Queue, LightQueue, LifoQueue, PriorityQueue.
-- A buffer of items between green threads, run by the core (src/queue.c):
-- getters and putters wait in FIFO order; put hands an item straight to
-- the oldest waiting getter, so a ping-pong allocates nothing.  Queue(0)
-- is a rendezvous channel: put returns only once a getter has the item.
-- A getter that times out or is killed never consumes an item, and no
-- item is lost or delivered twice.  PriorityQueue keeps its items in the
-- binary heap below, which the core calls through push() and pop().
local core = require "eventlet.core"

local setmetatable = setmetatable
local error = error
local type = type
local new_queue = core.queue

local _M = {}

--- Queue([maxsize]) -> a FIFO queue; nil/negative maxsize: unbounded.
function _M.Queue(maxsize)
  return new_queue("Queue", maxsize)
end

--- LightQueue([maxsize]): eventlet's name for the queue without join;
-- here the same FIFO queue (task_done/join work too).
function _M.LightQueue(maxsize)
  return new_queue("LightQueue", maxsize)
end

--- LifoQueue([maxsize]) -> a queue handing out the newest item first.
function _M.LifoQueue(maxsize)
  return new_queue("LifoQueue", maxsize)
end

local Heap = {}
Heap.__index = Heap

-- Default order: tables by their first element (eventlet's (priority,
-- value) tuples), anything else by itself, with <.
local function default_less(a, b)
  if type(a) == "table" then a = a[1] end
  if type(b) == "table" then b = b[1] end
  return a < b
end

-- True when heap slot i must come before slot j (ties: arrival order).
local function before(self, i, j)
  local a, b = self[i], self[j]
  if self.less(a, b) then return true end
  if self.less(b, a) then return false end
  return self.arrival[i] < self.arrival[j]
end

-- Exchange heap slots i and j.
local function swap(self, i, j)
  local arrival = self.arrival
  self[i], self[j] = self[j], self[i]
  arrival[i], arrival[j] = arrival[j], arrival[i]
end

--- Add an item.
function Heap:push(item)
  local i = self.n + 1
  self.n, self.arrivals = i, self.arrivals + 1
  self[i], self.arrival[i] = item, self.arrivals
  while i > 1 do
    local parent = i // 2
    if not before(self, i, parent) then break end
    swap(self, i, parent)
    i = parent
  end
end

--- Take the item that comes first (the heap is not empty).
function Heap:pop()
  local n = self.n
  local top = self[1]
  swap(self, 1, n)
  self[n], self.arrival[n] = nil, nil
  n = n - 1
  self.n = n
  local i = 1
  while true do
    local first, l, r = i, 2 * i, 2 * i + 1
    if l <= n and before(self, l, first) then first = l end
    if r <= n and before(self, r, first) then first = r end
    if first == i then break end
    swap(self, i, first)
    i = first
  end
  return top
end

--- PriorityQueue([maxsize[, less]]) -> a queue handing out the smallest
-- item first: less(a, b), by default comparing tables by their first
-- element ({priority, value}) and other items directly; equal priorities
-- come out in put order.  less runs inside put and get and must not
-- block.
function _M.PriorityQueue(maxsize, less)
  if less ~= nil and type(less) ~= "function" then
    error("PriorityQueue: less must be a function", 2)
  end
  local heap = setmetatable({n = 0, arrivals = 0, arrival = {}, less = less or default_less}, Heap)
  return new_queue("PriorityQueue", maxsize, heap)
end

return _M
