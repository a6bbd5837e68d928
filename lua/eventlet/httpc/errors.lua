--- eventlet.httpc.errors: the 2007 httpc exceptions.  A response whose
-- status is outside the caller's `ok` list becomes an error object of the
-- class named for its status (NotFound, InternalServerError, ...); the
-- retriable ones (301, 302, 303, 307, 308, 503, 504) carry retry().
local setmetatable = setmetatable
local tostring = tostring
local string_format = string.format
local error = error
local pairs = pairs
local getmetatable = getmetatable

local _M = {}

local NAMES = {
  [202] = "Accepted", [301] = "MovedPermanently", [302] = "Found", [303] = "SeeOther",
  [304] = "NotModified", [307] = "TemporaryRedirect", [308] = "PermanentRedirect",
  [400] = "BadRequest", [401] = "Unauthorized", [402] = "PaymentRequired",
  [403] = "Forbidden", [404] = "NotFound", [405] = "MethodNotAllowed",
  [408] = "RequestTimeout", [409] = "Conflict", [410] = "Gone", [411] = "LengthRequired",
  [413] = "RequestEntityTooLarge", [414] = "RequestURITooLong",
  [415] = "UnsupportedMediaType", [416] = "RequestedRangeNotSatisfiable",
  [417] = "ExpectationFailed", [429] = "TooManyRequests", [500] = "InternalServerError",
  [501] = "NotImplemented", [502] = "BadGateway", [503] = "ServiceUnavailable",
  [504] = "GatewayTimeout", [505] = "HTTPVersionNotSupported",
}

local RETRIABLE = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true,
                   [503] = true, [504] = true}

-- Shared methods of every error object.
local methods = {}
local mt = {__index = methods, __name = "eventlet.httpc.error"}

-- "NotFound: GET http://h/x -> 404 Not Found" plus the start of the body.
function mt.__tostring(e)
  if not e.status or e.type == "UnparseableResponse" then
    return string_format("%s: %s %s: %s", e.type, e.method or "?", e.url or "?", e.message or "")
  end
  local body = e.body or ""
  if #body > 200 then body = body:sub(1, 200) .. "..." end
  return string_format("%s: %s %s -> %d %s%s", e.type, e.method, e.url, e.status,
    e.reason or "", body ~= "" and ("\n" .. body) or "")
end

--- The Location header of the response (redirects).
function methods:location()
  return self.headers and self.headers.location
end

--- Re-issue the request: to Location for redirects (303 -> GET), to the
-- same URL for 503/504.  Returns what the original call would have.
function methods:retry()
  if not self.retriable then error(self.type .. " is not retriable", 2) end
  return self.reissue(self)
end

-- A class object: its name and an `is` test.
local function class(name)
  local c = {type = name}
  function c.is(e) return _M.is(e, name) end
  return c
end

--- The class tables by name (also exported as httpc.NotFound, ...).
_M.classes = {ConnectionError = class("ConnectionError"),
              UnparseableResponse = class("UnparseableResponse")}
for _, name in pairs(NAMES) do _M.classes[name] = class(name) end

--- True when e is an httpc error (of class `name` when given; every
-- status error is also a "ConnectionError", as in 2007).
function _M.is(e, name)
  if getmetatable(e) ~= mt then return false end
  return name == nil or e.type == name or name == "ConnectionError"
end

--- The error for a response outside `ok`.  `params` = {method, url,
-- status, reason, headers, body, response}; `reissue(e)` implements retry.
function _M.for_status(params, reissue)
  local e = setmetatable(params, mt)
  e.type = NAMES[params.status] or "ConnectionError"
  e.retriable = RETRIABLE[params.status] == true
  e.reissue = reissue
  e.message = params.reason
  return e
end

--- A transport failure (no response) as a ConnectionError.
function _M.connection(method, url, message)
  return setmetatable({type = "ConnectionError", method = method, url = url,
                       message = tostring(message)}, mt)
end

--- A body the suite's loader could not parse; keeps the raw body.
function _M.unparseable(params, message)
  local e = setmetatable(params, mt)
  e.type = "UnparseableResponse"
  e.message = tostring(message)
  return e
end

return _M
