--- eventlet.support: small helpers shared by the coordination modules:
-- argument checks raising clear errors that name the caller
-- ("Semaphore: count must not be negative, got -1"), and subclassing.
-- Internal module.
local error = error
local setmetatable = setmetatable
local type = type
local tostring = tostring
local getmetatable = getmetatable
local math_tointeger = math.tointeger

local _M = {}

--- count(value, who, what[, level]) -> value as an integer: a whole,
-- non-negative number (1e2 is fine, 1.5 and "x" are not).  level is the
-- error level as seen from the caller of count (default 2: its caller).
function _M.count(value, who, what, level)
  level = (level or 2) + 1
  local n = type(value) == "number" and math_tointeger(value) or nil
  if n == nil then
    error(("%s: %s must be a whole number, got %s"):format(who, what, tostring(value)), level)
  end
  if n < 0 then error(("%s: %s must not be negative, got %d"):format(who, what, n), level) end
  return n
end

--- timeout(value, who[, level]) -> value: nil (no limit) or a
-- non-negative number of seconds.
function _M.timeout(value, who, level)
  if value == nil then return nil end
  if type(value) ~= "number" or value < 0 or value ~= value then
    error(("%s: timeout must be a non-negative number, got %s"):format(who, tostring(value)),
      (level or 2) + 1)
  end
  return value
end

--- callable(fn, who[, level]): fn must be a function or have __call.
function _M.callable(fn, who, level)
  if type(fn) == "function" then return fn end
  local mt = getmetatable(fn)
  if type(mt) == "table" and mt.__call then return fn end
  error(("%s: expected a function, got %s"):format(who, type(fn)), (level or 2) + 1)
end

--- subclass(parent, name) -> a class table inheriting parent's methods,
-- with its own __index, __name and parent's __tostring.
function _M.subclass(parent, name)
  local cls = setmetatable({}, {__index = parent})
  cls.__index = cls
  cls.__name = name
  cls.__tostring = parent.__tostring
  return cls
end

return _M
