--- eventlet.pools: Pool, TokenPool, ConnectionPool, and fan.
-- A Pool lends out up to max_size items, made on demand by create():
-- get() takes a free item, else creates one while fewer than max_size
-- exist, else waits (FIFO) for a put().  A slot is reserved before create
-- runs, so however many getters race, no more than max_size items exist,
-- and a create that fails gives its slot back.
local core = require "eventlet.core"
local ring = require "eventlet.ring"
local waiters = require "eventlet.waiters"
local support = require "eventlet.support"

local setmetatable = setmetatable
local getmetatable = getmetatable
local pcall = pcall
local error = error
local type = type
local tostring = tostring
local ipairs = ipairs
local now = core.now

local _M = {}

local Pool = {}
Pool.__index = Pool
Pool.__name = "eventlet.pools.Pool"
_M.Pool_class = Pool

-- Handed to a waiting getter instead of an item: a slot is free, create.
local CREATE = setmetatable({}, {__tostring = function() return "CREATE" end})

-- Check a size option (nil: the default).
local function check_size(value, default, who, what)
  if value == nil then return default end
  return support.count(value, who, what, 4)
end

-- Fill a pool object from its options.
local function init(self, opts, who)
  if opts ~= nil and type(opts) ~= "table" then error(who .. ": expected a table of options", 3) end
  opts = opts or {}
  self.min_size = check_size(opts.min_size, 0, who, "min_size")
  self.max_size = check_size(opts.max_size, 4, who, "max_size")
  if opts.create ~= nil then
    if type(opts.create) ~= "function" then error(who .. ": create must be a function", 3) end
    self.create = opts.create
  end
  self.order_as_stack = opts.order_as_stack and true or false
  self.free_items = ring.new()
  self.current_size = 0
  self.getters = waiters.new()
  for _ = 1, self.min_size do
    self.current_size = self.current_size + 1
    self.free_items:push(self:create())
  end
  return self
end

--- Pool{min_size = 0, max_size = 4, create = fn, order_as_stack = false}
-- min_size items are created at once; create() makes an item (or
-- override Pool:create in a subclass); order_as_stack hands out the most
-- recently returned item first (keeps few items warm).
function _M.Pool(opts)
  return init(setmetatable({}, Pool), opts, "Pool")
end

--- Make a new item: the create option, or this method overridden.
function Pool.create()
  error("Pool: no create function (pass create= or override Pool:create)", 2)
end

-- Make an item in a slot already counted; on failure give the slot back
-- (to a waiting getter, which then creates) and re-raise.
local function create_in_slot(self, ok, item)
  if ok then return item end
  self.current_size = self.current_size - 1
  if self.getters:wake(CREATE) then
    self.current_size = self.current_size + 1
  end
  error(item, 0)
end

--- Take the next free item (FIFO, or LIFO with order_as_stack); nil
-- when none is usable (subclasses may drop stale ones).
function Pool:take_free()
  if self.order_as_stack then return self.free_items:pop() end
  return self.free_items:shift()
end

--- get([timeout]) -> an item: a free one, a new one while fewer than
-- max_size exist, or one put back within timeout seconds (nil: wait
-- forever); nil, "timeout" otherwise.  Errors of create are raised.
function Pool:get(timeout)
  if self.free_items.n > 0 then
    local item = self:take_free()
    if item ~= nil then return item end
  end
  if self.current_size < self.max_size then
    self.current_size = self.current_size + 1
    return create_in_slot(self, pcall(self.create, self))
  end
  if timeout == 0 then return nil, "timeout" end
  local woke, item = self.getters:wait(timeout, "Pool:get")
  if not woke then return nil, "timeout" end
  if item == CREATE then return create_in_slot(self, pcall(self.create, self)) end
  return item
end

-- Give a slot back after an item left the pool for good: a waiting
-- getter gets to create a replacement.
local function slot_freed(self)
  if self.current_size <= self.max_size and self.getters:wake(CREATE) then
    return
  end
  self.current_size = self.current_size - 1
end

--- put(item): return an item: to the oldest waiting getter, else to the
-- free list; discarded when the pool is over max_size (after a resize).
function Pool:put(item)
  if item == nil then error("Pool:put: nil item", 2) end
  if self.current_size > self.max_size then
    self:drop(item)
    self.current_size = self.current_size - 1
    return
  end
  if self.getters:wake(item) then return end
  self.free_items:push(item)
end

--- discard(item): the item is broken and leaves the pool; its slot is
-- free for a new one.
function Pool:discard(item)
  if item == nil then error("Pool:discard: nil item", 2) end
  self:drop(item)
  slot_freed(self)
end

-- Put the item back, then return fn's results or re-raise its error.
local function lent_back(self, item, ok, ...)
  self:put(item)
  if not ok then error((...), 0) end
  return ...
end

--- item(fn[, timeout]) -> fn(item)'s results: runs fn with an item of
-- the pool and returns the item afterwards, even when fn raises.
function Pool:item(fn, timeout)
  local item, err = self:get(timeout)
  if item == nil then return nil, err end
  return lent_back(self, item, pcall(fn, item))
end

--- Number of items get() can hand out without waiting.
function Pool:free()
  return self.free_items.n + self.max_size - self.current_size
end

--- Number of callers blocked in get().
function Pool:waiting()
  return #self.getters
end

--- resize(max_size): change the limit.  Shrinking drops free items over
-- it (items lent out are dropped as they come back); growing lets
-- waiting getters create.
function Pool:resize(max_size)
  self.max_size = support.count(max_size, "Pool:resize", "max_size")
  while self.current_size > self.max_size and self.free_items.n > 0 do
    self:drop(self:take_free())
    self.current_size = self.current_size - 1
  end
  while self.current_size < self.max_size and self.getters:wake(CREATE) do
    self.current_size = self.current_size + 1
  end
end

--- Called with a free item the pool drops (ConnectionPool closes it).
function Pool.drop() end

--- __tostring: "Pool (2 free, 3/4 made, 0 waiting)".
function Pool:__tostring()
  return ("%s (%d free, %d/%d made, %d waiting)"):format(self.__name:match("[^.]+$"),
    self.free_items.n, self.current_size, self.max_size, #self.getters)
end

-- The error raised by fan: `kind` "AllFailed" or "SomeFailed", with the
-- results (errors in place of failed inputs) and which ones failed.
local FanFailed = {}
FanFailed.__index = FanFailed
FanFailed.__name = "eventlet.pools.FanFailed"

--- __tostring: "SomeFailed: 2 of 5 failed (first: ...)".
function FanFailed:__tostring()
  local first
  for i = 1, self.n do if self.failed[i] then first = self.results[i]; break end end
  return ("%s: %d of %d failed (first: %s)"):format(self.kind, self.nfailed, self.n, tostring(first))
end

--- True when e is an error raised by fan (kind: nil, "AllFailed" or
-- "SomeFailed").
function _M.is_fan_failure(e, kind)
  return getmetatable(e) == FanFailed and (kind == nil or e.kind == kind)
end

--- fan(block, inputs) -> results: block(item, input) for each input of
-- the array, each in its own green thread with an item of the pool;
-- results in input order.  Raises a FanFailed error (kind "AllFailed" or
-- "SomeFailed") carrying .results (errors in place), .failed[i] and
-- .nfailed when calls raised.
function Pool:fan(block, inputs)
  if type(block) ~= "function" then error("Pool:fan: block must be a function", 2) end
  if type(inputs) ~= "table" then error("Pool:fan: inputs must be an array", 2) end
  local threads, n = {}, #inputs
  for i = 1, n do
    threads[i] = core.spawn(pcall, function(input)
      return self:item(function(item) return block(item, input) end)
    end, inputs[i])
  end
  local results, failed, nfailed = {}, {}, 0
  for i = 1, n do
    local ok, value = threads[i]:wait()
    results[i] = value
    if not ok then failed[i], nfailed = true, nfailed + 1 end
  end
  if nfailed == 0 then return results end
  error(setmetatable({kind = nfailed == n and "AllFailed" or "SomeFailed",
    results = results, failed = failed, nfailed = nfailed, n = n}, FanFailed), 2)
end

-- A subclass of Pool.
local function subclass(name)
  return support.subclass(Pool, name)
end

local Token = {}
Token.__name = "eventlet.pools.Token"
Token.__tostring = function() return "Token" end

local TokenPool = subclass("eventlet.pools.TokenPool")

--- A new token: a unique object with no behaviour.
function TokenPool.create()
  return setmetatable({}, Token)
end

--- TokenPool{max_size = n} -> a pool of bare tokens: a concurrency limit
-- (get a token to proceed, put it back when done).
function _M.TokenPool(opts)
  return init(setmetatable({}, TokenPool), opts, "TokenPool")
end

local ConnectionPool = subclass("eventlet.pools.ConnectionPool")

--- ConnectionPool{create = fn, close = fn, max_size = 4, min_size = 0,
-- max_idle = s, max_age = s, order_as_stack = true} -> a pool of
-- connections (eventlet.httpc keeps one per host).  create() opens one;
-- close(conn) (default conn:close()) ends one.  A free connection idle
-- longer than max_idle seconds, or opened more than max_age seconds ago,
-- is closed instead of being handed out or taken back.  Connections are
-- reused most recent first, so the rest can age out.
function _M.ConnectionPool(opts)
  if type(opts) ~= "table" or type(opts.create) ~= "function" then
    error("ConnectionPool: expected {create = function, ...}", 2)
  end
  local self = setmetatable({
    max_idle = opts.max_idle, max_age = opts.max_age, close = opts.close,
    born = setmetatable({}, {__mode = "k"}), idle_since = setmetatable({}, {__mode = "k"}),
  }, ConnectionPool)
  for _, k in ipairs({"max_idle", "max_age"}) do
    if opts[k] ~= nil and (type(opts[k]) ~= "number" or opts[k] < 0) then
      error(("ConnectionPool: %s must be a non-negative number of seconds"):format(k), 2)
    end
  end
  if opts.close ~= nil and type(opts.close) ~= "function" then
    error("ConnectionPool: close must be a function", 2)
  end
  local user_create = opts.create
  local stack = opts.order_as_stack
  opts = setmetatable({
    order_as_stack = stack == nil or stack,
    create = function(pool)  -- stamp each connection with its birth
      local conn = user_create()
      if conn == nil then error("ConnectionPool: create returned nil", 0) end
      pool.born[conn] = now()
      return conn
    end,
  }, {__index = opts})
  return init(self, opts, "ConnectionPool")
end

--- True when the connection must not be used any more.
function ConnectionPool:expired(conn)
  local t = now()
  local born, idle = self.born[conn], self.idle_since[conn]
  return (self.max_age ~= nil and born ~= nil and t - born > self.max_age)
      or (self.max_idle ~= nil and idle ~= nil and t - idle > self.max_idle)
end

--- Close a connection that leaves the pool.
function ConnectionPool:drop(conn)
  self.born[conn], self.idle_since[conn] = nil, nil
  if self.close then self.close(conn)
  elseif type(conn) == "table" or type(conn) == "userdata" then
    local ok, close = pcall(function() return conn.close end)
    if ok and close then pcall(close, conn) end
  end
end

--- Take a free connection that has not expired, closing expired ones.
function ConnectionPool:take_free()
  while self.free_items.n > 0 do
    local conn = Pool.take_free(self)
    if not self:expired(conn) then
      self.idle_since[conn] = nil
      return conn
    end
    self:drop(conn)
    self.current_size = self.current_size - 1
  end
  return nil
end

--- put(conn): take a connection back (closed instead when expired).
function ConnectionPool:put(conn)
  if conn == nil then error("ConnectionPool:put: nil connection", 2) end
  if self:expired(conn) then return self:discard(conn) end
  self.idle_since[conn] = now()
  return Pool.put(self, conn)
end

--- expire() -> n: close the free connections that expired (call it from
-- time to time; get and put also check).
function ConnectionPool:expire()
  local keep, closed = {}, 0
  while self.free_items.n > 0 do
    local conn = self.free_items:shift()
    if self:expired(conn) then
      self:drop(conn)
      closed = closed + 1
      slot_freed(self)
    else
      keep[#keep + 1] = conn
    end
  end
  for i = 1, #keep do self.free_items:push(keep[i]) end
  return closed
end

--- close_all(): close every free connection (lent ones are still put
-- back as usual); the pool stays usable.
function ConnectionPool:close_all()
  while self.free_items.n > 0 do
    self:drop(self.free_items:shift())
    self.current_size = self.current_size - 1
  end
end

return _M
