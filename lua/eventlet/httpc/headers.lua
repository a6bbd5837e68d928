--- eventlet.httpc.headers: a case-insensitive header table that remembers
-- the spelling it was given, plus Basic credentials.
local setmetatable = setmetatable
local rawget = rawget
local rawset = rawset
local type = type
local pairs = pairs
local next = next
local tostring = tostring
local string_lower = string.lower
local string_byte = string.byte
local table_concat = table.concat

local _M = {}

local mt = {}

-- Lookups lower-case the name; absent names give nil.
function mt.__index(t, name)
  if type(name) ~= "string" then return nil end
  return rawget(t, string_lower(name))
end

-- Assignments store under the lower-case name and keep the spelling for
-- the wire (nil removes the header).
function mt.__newindex(t, name, value)
  local key = string_lower(name)
  local names = _M.names(t)
  if value == nil then names[key] = nil else names[key] = name end
  rawset(t, key, value)
end

-- Iterate with the remembered spelling: pairs(h) -> name, value.
function mt.__pairs(t)
  local names = _M.names(t)
  local key
  return function()
    local value
    key, value = next(t, key)
    if key == nil then return nil end
    return names[key] or key, value
  end, t, nil
end

mt.__name = "eventlet.httpc.headers"

local spellings = setmetatable({}, {__mode = "k"})

--- The table lower-case name -> spelling of a header table.
function _M.names(t)
  local names = spellings[t]
  if not names then names = {}; spellings[t] = names end
  return names
end

--- A new header table, copied from `from` (any table of name -> value).
function _M.new(from)
  local h = setmetatable({}, mt)
  if from then
    for name, value in pairs(from) do h[name] = value end
  end
  return h
end

--- True when a comma-separated header holds `token` (case-insensitive),
-- e.g. has_token(h.connection, "close").
function _M.has_token(value, token)
  if value == nil then return false end
  token = string_lower(token)
  for item in string_lower(tostring(value)):gmatch("[^,%s]+") do
    if item == token then return true end
  end
  return false
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- Base64 of a string (RFC 4648, padded).
function _M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = string_byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for j = 1, 4 do
      local idx = (n >> (6 * (4 - j))) & 63
      chars[j] = B64:sub(idx + 1, idx + 1)
    end
    if not b then chars[3] = "=" end
    if not c then chars[4] = "=" end
    out[#out + 1] = table_concat(chars)
  end
  return table_concat(out)
end

--- "Basic <base64(user:password)>" for Authorization headers.
function _M.basic(user, password)
  return "Basic " .. _M.base64((user or "") .. ":" .. (password or ""))
end

return _M
