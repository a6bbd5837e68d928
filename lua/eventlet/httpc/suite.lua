--- eventlet.httpc.suite: the 2007 API — make_suite(dumper, loader,
-- content_type) builds get/head/post/put/delete/patch that send values
-- serialised by `dumper`, return bodies parsed by `loader` and raise a
-- status-specific error (NotFound, ...) outside the accepted statuses;
-- the get_/post_/... forms return status, headers, body instead.
local errors = require "eventlet.httpc.errors"
local url = require "eventlet.httpc.url"

local pcall = pcall
local error = error
local pairs = pairs
local ipairs = ipairs
local tostring = tostring

local _M = {}

local DEFAULT_OK = {200, 201, 204}

-- Methods that send `data` as a body.
local SENDS_BODY = {POST = true, PUT = true, PATCH = true}

-- Whether status is in the list of accepted statuses.
local function accepted(ok, status)
  for _, s in ipairs(ok) do if s == status then return true end end
  return false
end

-- The request options for one call of a suite method.
local function request_options(suite, method, data, opts)
  local ropts = {}
  for k, v in pairs(opts) do ropts[k] = v end
  local h = {}
  if opts.headers then for k, v in pairs(opts.headers) do h[k] = v end end
  local ct = opts.content_type or suite.content_type
  if SENDS_BODY[method] then
    if data ~= nil then ropts.body = suite.dumper(data) end
    if ct and ropts.body ~= nil then h["Content-Type"] = ct end
  end
  if suite.content_type then h.Accept = suite.content_type end
  ropts.headers = h
  local retries = opts.max_retries or 8
  ropts.follow_redirects = method == "GET" and retries > 0
  ropts.max_redirects = retries
  ropts.ok, ropts.max_retries, ropts.content_type = nil, nil, nil
  return ropts
end

-- Parse a body with the suite's loader; raises UnparseableResponse.
local function load(suite, resp, params)
  if not suite.loader then return resp.body end
  local ok, value = pcall(suite.loader, resp.body)
  if ok then return value end
  error(errors.unparseable(params, value), 0)
end

-- Send one request and turn the response into status, headers, value
-- (just the value when `plain`), raising for statuses outside `ok` and
-- for transport failures.
local function call(suite, plain, method, target, data, opts)
  opts = opts or {}
  local resp, err = suite.client:request(method, target, request_options(suite, method, data, opts))
  if not resp then error(errors.connection(method, target, err), 0) end
  local params = {method = method, url = resp.url or target, status = resp.status,
                  reason = resp.reason, headers = resp.headers, body = resp.body,
                  response = resp}
  if not accepted(opts.ok or DEFAULT_OK, resp.status) then
    error(errors.for_status(params, function(e)
      local next_method, next_url, next_data = method, target, data
      local location = e:location()
      if location and e.status < 500 then
        next_url = url.resolve(url.parse(params.url), location)
        if e.status == 303 or ((e.status == 301 or e.status == 302) and method == "POST") then
          next_method, next_data = "GET", nil
        end
      end
      return call(suite, plain, next_method, next_url, next_data, opts)
    end), 0)
  end
  local value = load(suite, resp, params)
  if plain then return value end
  return resp.status, resp.headers, value
end

--- A suite: functions get, head, delete, options (url[, opts]) and post,
-- put, patch (url, data[, opts]) returning the loaded body, and get_,
-- head_, ... returning status, headers, body.  opts: headers, ok
-- (accepted statuses, default {200, 201, 204}), max_retries (redirects
-- GET follows, default 8), content_type, and any request option.
-- `client` is the httpc client the suite sends through.
function _M.make_suite(dumper, loader, content_type, client)
  local suite = {dumper = dumper or tostring, loader = loader, content_type = content_type,
                 client = client}
  for _, m in ipairs({"get", "head", "delete", "options"}) do
    local method = m:upper()
    suite[m .. "_"] = function(target, opts) return call(suite, false, method, target, nil, opts) end
    suite[m] = function(target, opts) return call(suite, true, method, target, nil, opts) end
  end
  for _, m in ipairs({"post", "put", "patch"}) do
    local method = m:upper()
    suite[m .. "_"] = function(target, data, opts) return call(suite, false, method, target, data, opts) end
    suite[m] = function(target, data, opts) return call(suite, true, method, target, data, opts) end
  end
  return suite
end

return _M
