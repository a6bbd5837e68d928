--- eventlet.corolocal: green-thread-local storage (eventlet.local()).
-- new() returns an object whose fields are private to each green thread:
-- a value set by one thread is invisible to the others, and goes away
-- with the thread (it lives in the thread's own locals table).  Outside
-- any green thread, the main thread has its own set.
local core = require "eventlet.core"

local setmetatable = setmetatable
local next = next
local getcurrent = core.getcurrent

local _M = {}

local Local = {}
Local.__name = "eventlet.local"

-- This thread's fields of the local object (nil if none set yet).
local function fields(self)
  return getcurrent():locals()[self]
end

--- A field of the running thread (nil when it never set it).
function Local.__index(self, key)
  local t = fields(self)
  return t and t[key]
end

--- Set a field for the running thread only.
function Local.__newindex(self, key, value)
  local locals = getcurrent():locals()
  local t = locals[self]
  if t == nil then
    if value == nil then return end
    t = {}
    locals[self] = t
  end
  t[key] = value
end

--- Iterate the running thread's fields: `for k, v in pairs(loc)`.
function Local.__pairs(self)
  return next, fields(self) or {}, nil
end

--- __tostring: "eventlet.local".
function Local.__tostring()
  return "eventlet.local"
end

--- new() -> a thread-local object (eventlet.local()).
function _M.new()
  return setmetatable({}, Local)
end

return _M
