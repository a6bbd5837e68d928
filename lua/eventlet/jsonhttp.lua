--- eventlet.jsonhttp: the httpc suite that speaks JSON (lua-cjson).
-- get/head/delete(url[, opts]), post/put/patch(url, value[, opts]) send
-- Lua values as JSON and return the decoded answer (nil for an empty
-- body); the get_/post_/... forms return status, headers, value.  A
-- malformed answer raises UnparseableResponse with the raw body in e.body.
local ok, cjson = pcall(require, "cjson")
if not ok then
  error("eventlet.jsonhttp needs lua-cjson: apt-get install lua-cjson", 0)
end
local httpc = require "eventlet.httpc"

local _M = {}

local math_type, math_tointeger = math.type, math.tointeger
local pairs, type = pairs, type

-- lua-cjson reads every number as a float; give integral ones back as Lua
-- integers (1, not 1.0), as a Lua program expects of an id or a count.
-- Beyond 2^53 the float has already lost digits: JSON numbers that large
-- need a string field.
local function integers(v)
  if type(v) == "table" then
    for k, x in pairs(v) do
      if math_type(x) == "float" then
        local i = math_tointeger(x)
        if i then v[k] = i end
      elseif type(x) == "table" then
        integers(x)
      end
    end
  elseif math_type(v) == "float" then
    return math_tointeger(v) or v
  end
  return v
end

--- Decode a JSON body; an empty body is nil; integral numbers are integers.
function _M.safe_load(body)
  if body == nil or body:match("^%s*$") then return nil end
  return integers(cjson.decode(body))
end

--- Encode a Lua value as JSON.
_M.dump = cjson.encode

--- JSON's null, as lua-cjson decodes it.
_M.null = cjson.null

--- A JSON suite sending through `client` (default: httpc's shared one).
function _M.suite(client)
  return httpc.make_suite(cjson.encode, _M.safe_load, "application/json", client)
end

for name, fn in pairs(_M.suite()) do
  if type(fn) == "function" then _M[name] = fn end
end

return _M
