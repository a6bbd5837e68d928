--- eventlet.queue: Queue, LightQueue, LifoQueue, PriorityQueue.
-- A buffer of items between green threads.  Getters and putters wait in
-- FIFO order; put hands an item straight to the oldest waiting getter, so
-- a ping-pong allocates nothing.  Queue(0) is a rendezvous channel: put
-- returns only once a getter has the item.  A getter that times out or is
-- killed never consumes an item, and no item is lost or delivered twice:
-- an item handed to a woken getter is returned by its get.
local ring = require "eventlet.ring"
local waiters = require "eventlet.waiters"
local support = require "eventlet.support"

local setmetatable = setmetatable
local error = error
local type = type
local tostring = tostring
local math_huge = math.huge
local wait = waiters.wait1
local wake = waiters.wake

local _M = {}

local Queue = {}
Queue.__index = Queue
Queue.__name = "eventlet.Queue"

local check_timeout = support.timeout

-- Check a maxsize argument: nil or negative means unbounded.
local function check_maxsize(maxsize, who)
  if maxsize == nil then return math_huge end
  if type(maxsize) ~= "number" or maxsize ~= maxsize then
    error(("%s: maxsize must be a number or nil, got %s"):format(who, tostring(maxsize)), 3)
  end
  return maxsize < 0 and math_huge or maxsize
end

-- A queue of class cls whose buffer is made by init(self).
local function new(cls, maxsize, who)
  local self = setmetatable({
    maxsize = check_maxsize(maxsize, who),
    getters = waiters.new(), putters = waiters.new(), joiners = waiters.new(),
    unfinished = 0,
  }, cls)
  self:init()
  return self
end

--- Make the FIFO buffer.
function Queue:init()
  self.items = ring.new()
end

--- Number of items buffered (every buffer keeps its count in .n).
function Queue:qsize()
  return self.items.n
end

--- Add an item to the buffer (FIFO: at the end).
function Queue:push_item(item)
  self.items:push(item)
end

--- Take the next item from the buffer (FIFO: the oldest).
function Queue:pop_item()
  return (self.items:shift())
end

-- Move the item of the oldest waiting putter into the buffer.
local function admit_putter(self)
  local putters = self.putters
  if putters.live == 0 then return false end
  local woke, item = wake(putters)
  if woke then
    self:push_item(item)
    self.unfinished = self.unfinished + 1
  end
  return woke
end

--- put(item[, timeout]) -> true, or nil, "full" when the queue stayed
-- full for timeout seconds (0: don't wait; nil: wait forever).
function Queue:put(item, timeout)
  if item == nil then error("Queue:put: nil items are not allowed", 2) end
  local getters = self.getters
  if getters.live > 0 and wake(getters, item) then  -- straight to a getter
    self.unfinished = self.unfinished + 1
    return true
  end
  local putters = self.putters
  if self.items.n < self.maxsize and putters.live == 0 then
    self:push_item(item)
    self.unfinished = self.unfinished + 1
    return true
  end
  if timeout ~= nil and check_timeout(timeout, "Queue:put", 2) == 0 then return nil, "full" end
  if wait(putters, timeout, "Queue:put", item) then return true end
  return nil, "full"
end

--- get([timeout]) -> the next item, or nil, "empty" when none came within
-- timeout seconds (0: don't wait; nil: wait forever).
function Queue:get(timeout)
  if self.items.n > 0 then
    local item = self:pop_item()
    if self.putters.live > 0 then admit_putter(self) end
    return item
  end
  local putters = self.putters
  if putters.live > 0 then  -- rendezvous: take a blocked putter's item
    local woke, item = wake(putters)
    if woke then
      self.unfinished = self.unfinished + 1
      return item
    end
  end
  if timeout ~= nil and check_timeout(timeout, "Queue:get", 2) == 0 then return nil, "empty" end
  local woke, item = wait(self.getters, timeout, "Queue:get")
  if woke then return item end
  return nil, "empty"
end

--- put_nowait(item) -> true, or nil, "full".
function Queue:put_nowait(item)
  if item == nil then error("Queue:put_nowait: nil items are not allowed", 2) end
  return self:put(item, 0)
end

--- get_nowait() -> the next item, or nil, "empty".
function Queue:get_nowait()
  return self:get(0)
end

--- True when no item is buffered (always true for Queue(0)).
function Queue:empty()
  return self:qsize() == 0
end

--- True when put would block (always true for Queue(0)).
function Queue:full()
  return self:qsize() >= self.maxsize
end

--- Number of threads blocked in get.
function Queue:getting()
  return self.getters.live
end

--- Number of threads blocked in put.
function Queue:putting()
  return self.putters.live
end

--- Mark one accepted item as processed; join() returns when all are.
function Queue:task_done()
  if self.unfinished <= 0 then error("Queue:task_done: called too many times", 2) end
  self.unfinished = self.unfinished - 1
  if self.unfinished == 0 then self.joiners:wake_all() end
end

--- join([timeout]) -> true once every accepted item was task_done();
-- nil, "timeout" when timeout seconds pass first.
function Queue:join(timeout)
  if self.unfinished == 0 then return true end
  timeout = check_timeout(timeout, "Queue:join", 2)
  if timeout == 0 then return nil, "timeout" end
  if self.joiners:wait(timeout, "Queue:join") then return true end
  return nil, "timeout"
end

--- resize(maxsize): change the bound (nil or negative: unbounded).
-- Growing admits blocked putters; shrinking keeps the items buffered.
function Queue:resize(maxsize)
  self.maxsize = check_maxsize(maxsize, "Queue:resize")
  while self:qsize() < self.maxsize and admit_putter(self) do end
end

--- __tostring: "Queue (2 items, maxsize 10)".
function Queue:__tostring()
  return ("%s (%d items, maxsize %s, %d getting, %d putting)"):format(
    self.__name:match("[^.]+$"), self:qsize(),
    self.maxsize == math_huge and "none" or tostring(self.maxsize),
    self.getters.live, self.putters.live)
end

--- Queue([maxsize]) -> a FIFO queue; nil/negative maxsize: unbounded.
function _M.Queue(maxsize)
  return new(Queue, maxsize, "Queue")
end

-- A subclass of Queue with its own buffer discipline.
local function subclass(name)
  return support.subclass(Queue, name)
end

local LightQueue = subclass("eventlet.LightQueue")

--- LightQueue([maxsize]): eventlet's name for the queue without join;
-- here the same FIFO queue (task_done/join work too).
function _M.LightQueue(maxsize)
  return new(LightQueue, maxsize, "LightQueue")
end

local LifoQueue = subclass("eventlet.LifoQueue")

--- Take the newest item (LIFO).
function LifoQueue:pop_item()
  return (self.items:pop())
end

--- LifoQueue([maxsize]) -> a queue handing out the newest item first.
function _M.LifoQueue(maxsize)
  return new(LifoQueue, maxsize, "LifoQueue")
end

local PriorityQueue = subclass("eventlet.PriorityQueue")

-- Default order: tables by their first element (eventlet's (priority,
-- value) tuples), anything else by itself, with <.
local function default_less(a, b)
  if type(a) == "table" then a = a[1] end
  if type(b) == "table" then b = b[1] end
  return a < b
end

--- Make the heap (self.items, counted in .n) and the arrival number of
-- each slot (ties keep put order).
function PriorityQueue:init()
  self.items, self.arrival, self.arrivals = {n = 0}, {}, 0
end

-- True when heap slot i must come before slot j.
local function before(self, i, j)
  local a, b = self.items[i], self.items[j]
  if self.less(a, b) then return true end
  if self.less(b, a) then return false end
  return self.arrival[i] < self.arrival[j]
end

-- Exchange heap slots i and j.
local function swap(self, i, j)
  local heap, arrival = self.items, self.arrival
  heap[i], heap[j] = heap[j], heap[i]
  arrival[i], arrival[j] = arrival[j], arrival[i]
end

--- Add an item to the heap.
function PriorityQueue:push_item(item)
  local heap = self.items
  local i = heap.n + 1
  heap.n, self.arrivals = i, self.arrivals + 1
  heap[i], self.arrival[i] = item, self.arrivals
  while i > 1 do
    local parent = i // 2
    if not before(self, i, parent) then break end
    swap(self, i, parent)
    i = parent
  end
end

--- Take the item that comes first.
function PriorityQueue:pop_item()
  local heap = self.items
  local n = heap.n
  local top = heap[1]
  swap(self, 1, n)
  heap[n], self.arrival[n] = nil, nil
  n = n - 1
  heap.n = n
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
-- come out in put order.
function _M.PriorityQueue(maxsize, less)
  if less ~= nil and type(less) ~= "function" then
    error("PriorityQueue: less must be a function", 2)
  end
  local self = new(PriorityQueue, maxsize, "PriorityQueue")
  self.less = less or default_less
  return self
end

return _M
