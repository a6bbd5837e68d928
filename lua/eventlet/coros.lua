--- eventlet.coros: the 2007 coordination names, over the modern
-- primitives: event, semaphore, metaphore, queue, execute,
-- CoroutinePool, Actor and pipe.  See docs/coordination.md.
local core = require "eventlet.core"
local event = require "eventlet.event"
local semaphore = require "eventlet.semaphore"
local queue = require "eventlet.queue"
local greenpool = require "eventlet.greenpool"
local waiters = require "eventlet.waiters"

local setmetatable = setmetatable
local pcall = pcall
local error = error
local type = type
local tostring = tostring
local pairs = pairs
local table_unpack = table.unpack
local string_sub = string.sub

local _M = {}

--- The error a waiter receives from event:cancel(waiter).
_M.Cancelled = setmetatable({}, {__tostring = function() return "Cancelled" end})

local Event = event.Event_class

--- event() -> a one-shot event with the 2007 send(result, exc).
function _M.event()
  return setmetatable(event.Event(), _M.event_class)
end

_M.event_class = setmetatable({}, {__index = Event})
_M.event_class.__index = _M.event_class
_M.event_class.__name = "eventlet.coros.event"
_M.event_class.__tostring = Event.__tostring

--- send([result[, exc]]): wake every waiter with result, or, when exc is
-- given, make every wait raise exc.  Never yields; a second send is an
-- error.
function _M.event_class:send(result, exc)
  if exc ~= nil then return Event.send_exception(self, exc) end
  return Event.send(self, result)
end

--- cancel(waiter): raise coros.Cancelled in that waiting thread only;
-- the event stays unsent for the others.  Returns whether it waited.
function _M.event_class:cancel(gt)
  return Event.cancel(self, gt, _M.Cancelled)
end

--- semaphore([count[, limit]]) -> Semaphore(count) (count defaults to 0),
-- or a CappedSemaphore whose release blocks at limit.
function _M.semaphore(count, limit)
  if limit ~= nil then return semaphore.CappedSemaphore(count or 0, limit) end
  return semaphore.Semaphore(count or 0)
end
_M.Semaphore = semaphore.Semaphore
-- coros.BoundedSemaphore(count, limit) was the one whose release blocks
-- at limit: today's CappedSemaphore.
_M.BoundedSemaphore = semaphore.CappedSemaphore

local Metaphore = {}
Metaphore.__index = Metaphore
Metaphore.__name = "eventlet.coros.metaphore"

--- metaphore() -> an inverse semaphore: inc/dec a counter, and wait()
-- blocks until it is zero ("wait for all of them").
function _M.metaphore()
  return setmetatable({counter = 0, waiters = waiters.new()}, Metaphore)
end

-- Check an increment (default 1).
local function check_by(by, who)
  if by == nil then return 1 end
  if type(by) ~= "number" or by < 0 then error(who .. ": by must be a non-negative number", 3) end
  return by
end

--- inc([by]): raise the counter (default by 1).
function Metaphore:inc(by)
  self.counter = self.counter + check_by(by, "metaphore:inc")
end

--- dec([by]): lower the counter (not below 0); at 0 wake every waiter.
function Metaphore:dec(by)
  local c = self.counter - check_by(by, "metaphore:dec")
  self.counter = c > 0 and c or 0
  if self.counter == 0 then self.waiters:wake_all() end
end

--- wait([timeout]) -> true once the counter is 0; nil, "timeout".
function Metaphore:wait(timeout)
  if self.counter == 0 then return true end
  if timeout == 0 then return nil, "timeout" end
  if self.waiters:wait(timeout, "metaphore:wait") then return true end
  return nil, "timeout"
end

local Queue = {}
Queue.__index = Queue
Queue.__name = "eventlet.coros.queue"

--- queue([max]) -> the 2007 queue of results and exceptions: send blocks
-- while max are queued; wait takes them in FIFO order.
function _M.queue(max)
  return setmetatable({items = queue.Queue(max)}, Queue)
end

--- send([result[, exc]][, timeout]): queue a result, or an exception
-- that the receiving wait raises.  nil, "timeout" when still full.
function Queue:send(result, exc, timeout)
  if self.items:put({result, exc}, timeout) then return true end
  return nil, "timeout"
end

--- send_exception(e): queue an exception.
function Queue:send_exception(e)
  if e == nil then error("queue:send_exception: the error must not be nil", 2) end
  return self:send(nil, e)
end

--- wait([timeout]) -> the oldest result (raising a queued exception);
-- nil, "timeout" when nothing came within timeout seconds.
function Queue:wait(timeout)
  local entry, err = self.items:get(timeout)
  if entry == nil then return nil, err == "empty" and "timeout" or err end
  if entry[2] ~= nil then error(entry[2], 0) end
  return entry[1]
end

--- True when wait would not block.
function Queue:ready()
  return self.items:qsize() > 0 or self.items:putting() > 0
end

--- Number of entries queued (and of senders blocked).
function Queue:__len()
  return self.items:qsize() + self.items:putting()
end

-- Run fn(...) and send its outcome to evt: values, or the error (a kill
-- arrives as a value, as eventlet sent GreenletExit).
local function run_into(evt, fn, ...)
  local function finish(ok, ...)
    if ok or (...) == core.GreenletExit then return evt:send(...) end
    return evt:send(nil, (...))
  end
  return finish(pcall(fn, ...))
end

--- execute(fn, ...) -> event: run fn(...) in a new green thread; its
-- result (or error) is sent to the event.
function _M.execute(fn, ...)
  local evt = _M.event()
  core.spawn(run_into, evt, fn, ...)
  return evt
end

local CoroutinePool = {}
CoroutinePool.__index = CoroutinePool
CoroutinePool.__name = "eventlet.coros.CoroutinePool"

--- CoroutinePool{min_size = 0, max_size = 4} -> a GreenPool of max_size
-- with the 2007 interface.  min_size is accepted for compatibility (green
-- threads are cheap to start; none are kept waiting).
function _M.CoroutinePool(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("CoroutinePool: expected a table of options", 2) end
  return setmetatable({pool = greenpool.GreenPool(opts.max_size or 4)}, CoroutinePool)
end

--- execute(fn, ...) -> event receiving fn's result or error.  Blocks
-- while the pool is full (a pool member runs it without waiting).
function CoroutinePool:execute(fn, ...)
  local evt = _M.event()
  self.pool:spawn(run_into, evt, fn, ...)
  return evt
end

--- execute_async(fn, ...): as execute, with nothing to wait on.
function CoroutinePool:execute_async(fn, ...)
  self.pool:spawn_n(fn, ...)
end

--- wait_all([timeout]): block until no job runs.
function CoroutinePool:wait_all(timeout)
  return self.pool:waitall(timeout)
end

--- launch_all(fn, arglists): execute_async(fn, table.unpack(args)) for
-- each argument list.
function CoroutinePool:launch_all(fn, arglists)
  for i = 1, #arglists do
    local args = arglists[i]
    self:execute_async(fn, table_unpack(args, 1, args.n or #args))
  end
end

--- process_all(fn, arglists): launch_all, then wait_all.
function CoroutinePool:process_all(fn, arglists)
  self:launch_all(fn, arglists)
  return self:wait_all()
end

--- generate_results(fn, arglists[, qsize]) -> iterator giving `ok,
-- result` for each job in completion order (false and the error for a job
-- that failed); at most qsize finished results wait to be taken.
function CoroutinePool:generate_results(fn, arglists, qsize)
  local results = queue.Queue(qsize)
  local n = #arglists
  local function job(args)
    local ok, value = pcall(fn, table_unpack(args, 1, args.n or #args))
    results:put({ok, value})
  end
  local feeder = core.spawn(function()
    for i = 1, n do self.pool:spawn(job, arglists[i]) end
  end)
  local taken = 0
  return function()
    if taken == n then feeder:wait(); return nil end
    taken = taken + 1
    local r = results:get()
    return r[1], r[2]
  end
end

-- Kill every member of a GreenPool (listed first: each kill yields, and
-- the membership changes meanwhile).
local function kill_members(pool)
  local victims = {}
  for gt in pairs(pool.members) do victims[#victims + 1] = gt end
  for i = 1, #victims do core.kill(victims[i]) end
end

--- killall(): kill every running job.
function CoroutinePool:killall()
  kill_members(self.pool)
end

--- Number of jobs that could start without waiting.
function CoroutinePool:free()
  return self.pool:free()
end

--- Number of jobs running.
function CoroutinePool:running()
  return self.pool:running()
end

--- Number of callers blocked in execute.
function CoroutinePool:waiting()
  return self.pool:waiting()
end

--- resize(max_size): change the limit.
function CoroutinePool:resize(n)
  return self.pool:resize(n)
end

local Actor = {}
Actor.__index = Actor
Actor.__name = "eventlet.coros.Actor"

-- The actor's loop: take each message in order and start its handler in
-- the pool (at most `concurrency` at once); a failing handler is reported
-- and the actor goes on.
local function actor_loop(self)
  local mailbox, pool = self.mailbox, self.pool
  while true do
    local msg = mailbox:get()
    pool:spawn(function()
      local ok, err = pcall(self.received, self, msg)
      mailbox:task_done()
      if not ok then error(err, 0) end
    end)
  end
end

--- Actor{received = fn(actor, msg), concurrency = 1} -> an actor: a
-- green thread processing its mailbox in order.  Define received in the
-- options or as a method of the returned object.
function _M.Actor(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("Actor: expected a table of options", 2) end
  local self = setmetatable({
    mailbox = queue.Queue(),
    pool = greenpool.GreenPool(opts.concurrency or 1),
    received = opts.received,
  }, Actor)
  self.thread = core.spawn(actor_loop, self)
  return self
end

--- The handler of each message; replace it (opts.received or a method).
function Actor.received(_, msg)
  error("Actor: no received() for message " .. tostring(msg), 0)
end

--- cast(message): add a message to the mailbox; never blocks.
function Actor:cast(msg)
  if msg == nil then error("Actor:cast: nil message", 2) end
  self.mailbox:put(msg)
end

--- join([timeout]) -> true once every message cast so far was handled.
function Actor:join(timeout)
  return self.mailbox:join(timeout)
end

--- kill(): stop the actor and the handlers still running.
function Actor:kill()
  core.kill(self.thread)
  kill_members(self.pool)
end

local Pipe = {}
Pipe.__index = Pipe
Pipe.__name = "eventlet.coros.pipe"

--- pipe() -> a byte pipe between green threads: send(text), recv([n]).
function _M.pipe()
  return setmetatable({buffer = "", readers = waiters.new()}, Pipe)
end

--- send(text): append bytes; wakes a waiting reader.  Never blocks.
function Pipe:send(text)
  if type(text) ~= "string" then error("pipe:send: expected a string", 2) end
  self.buffer = self.buffer .. text
  if #self.buffer > 0 then self.readers:wake() end
end

--- recv([n[, timeout]]) -> up to n (default 16384) bytes, waiting for some;
-- nil, "timeout" when none came within timeout seconds.
function Pipe:recv(n, timeout)
  n = n or 16384
  while #self.buffer == 0 do
    if timeout == 0 or not self.readers:wait(timeout, "pipe:recv") then return nil, "timeout" end
  end
  local out = string_sub(self.buffer, 1, n)
  self.buffer = string_sub(self.buffer, n + 1)
  if #self.buffer > 0 then self.readers:wake() end
  return out
end


return _M
