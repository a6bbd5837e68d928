--- eventlet.httpc: the HTTP/1.1 client.
--
--   local httpc = require "eventlet.httpc"
--   local resp, err = httpc.request("GET", "https://example.com/", {query = {q = "lua"}})
--   local body = httpc.get("http://127.0.0.1:8080/")      -- 2007 API: raises NotFound, ...
--   local api = httpc.client{base_url = "http://127.0.0.1:8080/api/", pool_size = 4}
--
-- The pieces live in eventlet/httpc/*.lua: url, headers, redirect, proxy,
-- pool, wire, body, transport, response, client, errors, suite.  See
-- docs/httpc.md.
local client_mod = require "eventlet.httpc.client"
local suite_mod = require "eventlet.httpc.suite"
local errors = require "eventlet.httpc.errors"
local url = require "eventlet.httpc.url"

local pairs = pairs

local _M = {
  url = url,
  encode = url.encode,
  decode = url.decode,
  encode_query = url.encode_query,
  is_error = errors.is,
}

--- A configured client: base_url, headers, pool_size, idle_timeout and
-- default request options.  Its methods mirror the module's request.
function _M.client(opts)
  return client_mod.new(opts)
end

--- The shared client behind the module-level functions.
_M.default = client_mod.new()

--- request(method, url[, opts]) -> response, or nil, err (shared client).
function _M.request(method, target, opts)
  return _M.default:request(method, target, opts)
end

--- make_suite(dumper, loader, content_type[, client]): the 2007
-- content-swizzling client factory (see eventlet.httpc.suite).
function _M.make_suite(dumper, loader, content_type, client)
  return suite_mod.make_suite(dumper, loader, content_type, client or _M.default)
end

-- The 2007 module functions: a suite of plain strings.
local plain = _M.make_suite(tostring, nil, nil)
for name, fn in pairs(plain) do
  if type(fn) == "function" then _M[name] = fn end
end

-- The error classes: httpc.NotFound.is(e), e.type == "NotFound", ...
for name, class in pairs(errors.classes) do _M[name] = class end

return _M
