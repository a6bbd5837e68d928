--- eventlet.httpc.redirect: the redirect policy.  Decides whether a 3xx
-- response is followed and what the next request looks like: the method
-- (303 -> GET; 301/302 POST -> GET as browsers and curl do; 307/308 keep
-- method and body), which credentials survive (none across origins), the
-- hop limit and loop detection.  Pure functions, no I/O.
local url = require "eventlet.httpc.url"
local headers = require "eventlet.httpc.headers"

local type = type
local pairs = pairs

local _M = {}

_M.MAX = 8

local REDIRECT = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true}

-- Headers that carry credentials: never sent to another origin.
local CREDENTIALS = {"authorization", "cookie", "proxy-authorization"}

-- Headers that describe the body: dropped when the body is.
local BODY_HEADERS = {"content-type", "content-length", "transfer-encoding", "content-encoding"}

--- Whether redirects are followed for this request: opts.follow_redirects
-- when given, otherwise only for GET and HEAD.
function _M.enabled(method, follow)
  if follow ~= nil then return follow and true or false end
  return method == "GET" or method == "HEAD"
end

--- True for the statuses that carry a Location to follow.
function _M.is_redirect(status)
  return REDIRECT[status] == true
end

-- The method after a redirect with this status.
local function next_method(status, method)
  if status == 303 and method ~= "HEAD" then return "GET" end
  if (status == 301 or status == 302) and method == "POST" then return "GET" end
  return method
end

-- A copy of the header table without the names listed in `drop`.
local function copy_without(h, drop)
  local copy = headers.new(h)
  for _, name in pairs(drop) do copy[name] = nil end
  return copy
end

--- A fresh redirect state for one logical request: hop count and the set
-- of visited (method, url) pairs.
function _M.state(max)
  return {hops = 0, max = max or _M.MAX, seen = {}}
end

--- Record the first request of a chain so a redirect back to it is a loop.
function _M.visit(state, method, url_string)
  state.seen[method .. " " .. url_string] = true
end

--- The next request for a redirect response.
-- req = {method=, url= (string), u= (parsed), headers= (header table), body=}
-- @return the next req table; or nil, reason when the redirect is not
--   followed: "no location" / "body not replayable" (give the caller the
--   3xx response), or "too many redirects" / "redirect loop" (errors)
function _M.next(state, req, status, location)
  if not location or location == "" then return nil, "no location" end
  if state.hops >= state.max then return nil, "too many redirects" end
  local target = url.resolve(req.u, location)
  local u, err = url.parse(target)
  if not u then return nil, "bad redirect location: " .. (err or location) end
  local method = next_method(status, req.method)
  local body, h = req.body, req.headers
  if method ~= req.method or status == 303 then
    body = nil
    h = copy_without(h, BODY_HEADERS)
  elseif body ~= nil and type(body) ~= "string" then
    return nil, "body not replayable"
  end
  if url.origin(u) ~= url.origin(req.u) then
    h = copy_without(h, CREDENTIALS)
    h.host = nil
  end
  local key = method .. " " .. url.build(u)
  if state.seen[key] then return nil, "redirect loop" end
  state.seen[key] = true
  state.hops = state.hops + 1
  return {method = method, url = url.build(u), u = u, headers = h, body = body}
end

return _M
