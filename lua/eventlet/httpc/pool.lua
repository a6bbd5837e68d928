--- eventlet.httpc.pool: keep-alive connections per origin.  At most
-- `size` connections per origin exist at once (callers beyond that wait,
-- FIFO); idle ones are reused newest first and closed once idle longer
-- than `idle_timeout`.  A connection is anything with :close().
local core = require "eventlet.core"

local setmetatable = setmetatable
local table_remove = table.remove
local pairs = pairs
local type = type
local now = core.now

local _M = {}
_M.__index = _M

_M.DEFAULT_SIZE = 10
_M.DEFAULT_IDLE_TIMEOUT = 60

-- Methods whose repetition is harmless (RFC 9110 9.2.2).
local IDEMPOTENT = {GET = true, HEAD = true, PUT = true, DELETE = true,
                    OPTIONS = true, TRACE = true}

--- A new pool: opts.size (per origin, default 10), opts.idle_timeout
-- (seconds, default 60).
function _M.new(opts)
  opts = opts or {}
  return setmetatable({
    size = opts.size or _M.DEFAULT_SIZE,
    idle_timeout = opts.idle_timeout or _M.DEFAULT_IDLE_TIMEOUT,
    origins = {},
  }, _M)
end

-- The record of one origin: idle connections, live count, waiters.
function _M:origin(key)
  local o = self.origins[key]
  if not o then
    o = {idle = {}, live = 0, waiters = {}, head = 1}
    self.origins[key] = o
  end
  return o
end

-- Close idle connections older than the idle timeout (oldest are first).
local function expire(self, o)
  local limit = now() - self.idle_timeout
  while o.idle[1] and o.idle[1].idle_since < limit do
    local conn = table_remove(o.idle, 1)
    o.live = o.live - 1
    conn:close()
  end
end

--- Take a connection for `key`: an idle one (conn, with conn.reused = true),
-- or false when the caller may open a new one (its slot is reserved; give
-- it back with release or discard).  Waits up to `timeout` seconds while
-- the origin is at its limit: nil, "timeout" then.
function _M:acquire(key, timeout)
  local o = self:origin(key)
  expire(self, o)
  local conn = table_remove(o.idle)
  if conn then
    conn.reused = true
    return conn
  end
  if o.live < self.size then
    o.live = o.live + 1
    return false
  end
  local gt, seq = core.waiter()
  o.waiters[#o.waiters + 1] = {gt, seq}
  local ok, handed = core.park(timeout, "httpc pool")
  if not ok then return nil, "timeout" end
  if handed then handed.reused = true end
  return handed
end

-- Give a connection (or a free slot, conn = false) to the first waiter
-- still waiting.  @return true if someone took it
local function hand_over(o, conn)
  while o.head <= #o.waiters do
    local w = o.waiters[o.head]
    o.waiters[o.head] = nil
    o.head = o.head + 1
    if core.unpark(w[1], w[2], conn) then return true end
  end
  o.waiters, o.head = {}, 1
  return false
end

--- Return a healthy connection for reuse.
function _M:release(key, conn)
  local o = self:origin(key)
  if hand_over(o, conn) then return end
  conn.idle_since = now()
  o.idle[#o.idle + 1] = conn
end

--- Close a connection (or give up a reserved slot, conn = nil) and free
-- its slot for the next waiter.
function _M:discard(key, conn)
  if conn then conn:close() end
  local o = self:origin(key)
  if hand_over(o, false) then return end
  o.live = o.live - 1
end

--- Idle and live counts for an origin (for stats and specs).
function _M:count(key)
  local o = self.origins[key]
  if not o then return 0, 0 end
  return #o.idle, o.live
end

--- Close every idle connection.
function _M:close()
  for _, o in pairs(self.origins) do
    for i = #o.idle, 1, -1 do
      o.idle[i]:close()
      o.idle[i] = nil
      o.live = o.live - 1
    end
  end
end

--- Whether a failed request may be sent again on a fresh connection: only
-- an idempotent request with a replayable body, that went out on a reused
-- connection which died before any byte of the response arrived.
function _M.retryable(method, body, reused, got_response_bytes)
  return IDEMPOTENT[method] == true and reused and not got_response_bytes
    and (body == nil or type(body) == "string")
end

return _M
