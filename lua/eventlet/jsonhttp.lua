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

--- Decode a JSON body; an empty body is nil.
function _M.safe_load(body)
  if body == nil or body:match("^%s*$") then return nil end
  return cjson.decode(body)
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
