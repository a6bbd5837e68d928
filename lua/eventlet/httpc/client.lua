--- eventlet.httpc.client: a configured HTTP client — base URL, default
-- headers and options, and its own connection pool.  client:request()
-- sends one logical request (following redirects, retrying a dead pooled
-- connection once) and returns a response or nil, err.
local core = require "eventlet.core"
local url = require "eventlet.httpc.url"
local headers = require "eventlet.httpc.headers"
local redirect = require "eventlet.httpc.redirect"
local proxy_mod = require "eventlet.httpc.proxy"
local pool_mod = require "eventlet.httpc.pool"
local wire = require "eventlet.httpc.wire"
local transport = require "eventlet.httpc.transport"
local Response = require "eventlet.httpc.response"

local setmetatable = setmetatable
local type = type
local pairs = pairs
local pcall = pcall
local error = error
local string_upper = string.upper

local _M = {}
_M.__index = _M

_M.USER_AGENT = "eventlet-lua/" .. core.version

local DEFAULT_TIMEOUTS = {connect = 10, send = 60, read = 60, total = nil}

-- Options a client holds as defaults for its requests.
local INHERITED = {"timeout", "follow_redirects", "max_redirects", "proxy", "tls",
                   "gzip", "max_head", "max_body", "pool_timeout"}

-- Per-kind timeouts from opts.timeout: a number sets connect, send and
-- read; a table may set each and `total`.
local function timeouts(t)
  if t == nil then return DEFAULT_TIMEOUTS end
  if type(t) == "number" then return {connect = t, send = t, read = t} end
  return {connect = t.connect or DEFAULT_TIMEOUTS.connect, send = t.send or DEFAULT_TIMEOUTS.send,
          read = t.read or DEFAULT_TIMEOUTS.read, total = t.total}
end

--- A new client.  opts: base_url, headers (defaults), pool_size,
-- idle_timeout, and any request option as a default.
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    base_url = opts.base_url and assert(url.parse(opts.base_url)),
    pool = pool_mod.new({size = opts.pool_size, idle_timeout = opts.idle_timeout}),
    defaults = {},
    tls_contexts = {},
    proxy_env = proxy_mod.from_env(),  -- read once: a client's proxy is stable
  }, _M)
  for _, name in pairs(INHERITED) do self.defaults[name] = opts[name] end
  self.defaults.timeouts = timeouts(opts.timeout)
  -- The default headers, and their wire form, shared by every request
  -- that adds none of its own (never modified once built).
  local h = headers.new(opts.headers)
  if h["user-agent"] == nil then h["User-Agent"] = _M.USER_AGENT end
  self.headers, self.block, self.framed = h, wire.block(h), wire.framed(h)
  return self
end

-- The request options: the call's, falling back to the client's.
function _M:merge_options(opts)
  if opts == nil then return self.defaults end
  local merged = {}
  for k, v in pairs(self.defaults) do merged[k] = v end
  for k, v in pairs(opts) do merged[k] = v end
  if opts.timeout ~= nil then merged.timeouts = timeouts(opts.timeout) end
  return merged
end

-- The parsed URL of a call: base_url joined, query appended.
function _M:target_url(target, query)
  local base = self.base_url
  if base and not target:match("^%a[%w+.-]*://") then
    if target:sub(1, 1) ~= "/" and not base.path:match("/$") then
      target = url.resolve(base, base.path .. "/" .. target)
    else
      target = url.resolve(base, target)
    end
  end
  if query ~= nil then target = url.with_query(target, query) end
  return url.parse_cached(target)
end

-- The header table of the first request of a call, or nil when the
-- client's defaults go out unchanged.
function _M:request_headers(u, opts)
  if not (opts.headers or opts.gzip or u.user) then return nil end
  local h = headers.new(self.headers)
  if opts.headers then for name, value in pairs(opts.headers) do h[name] = value end end
  if opts.gzip and h["accept-encoding"] == nil then h["Accept-Encoding"] = "gzip, deflate" end
  if u.user and h.authorization == nil then h.Authorization = headers.basic(u.user, u.password) end
  return h
end

-- Write the request on conn and read the response head.
-- @return resp, or nil, err, got_response_bytes
function _M:roundtrip(conn, req, opts)
  local sock, u, h = conn.sock, req.u, req.headers
  local extra, target = "", url.target(u)
  if not (h and h.host) then extra = "Host: " .. url.host_header(u) .. "\r\n" end
  if conn.absolute then
    target = url.build(u)
    if conn.proxy_auth and not (h and h["proxy-authorization"]) then
      extra = extra .. "Proxy-Authorization: " .. conn.proxy_auth .. "\r\n"
    end
  end
  sock:settimeout(opts.timeouts.send)
  local block, framed = self.block, self.framed
  if h then block, framed = wire.block(h), wire.framed(h) end
  local ok, err = wire.send(sock, req.method, target, extra .. block, req.body, framed)
  if not ok then return nil, err, false end
  sock:settimeout(opts.timeouts.read)
  local parser = conn.parser
  if req.method == "HEAD" then
    parser = wire.parser(opts.max_head)  -- it would expect the announced body
  elseif not parser then
    parser = wire.parser(opts.max_head)
    conn.parser = parser
  end
  local resp, rerr, got = wire.read_head(sock, parser, opts.timeouts.read)
  if not resp then return nil, rerr, got end
  if req.method ~= "HEAD" then resp.parser = parser end
  return resp
end

-- Whether an idle pooled connection still looks usable: nothing has
-- arrived on it since its last response (neither the server's close nor
-- stray bytes).  One non-blocking read; races are left to the retry.
local function alive(conn)
  local sock = conn.sock
  if sock:dirty() then return false end
  sock:settimeout(0)
  local data, err = sock:recv(1)
  return data == nil and err == "timeout"
end

-- A connection for key from the pool (idle ones checked, the dead
-- closed) or false: open one in the slot reserved.  nil, err on timeout.
function _M:checkout(key, opts, held)
  while true do
    local conn, err = self.pool:acquire(key, opts.pool_timeout or opts.timeouts.connect)
    if conn == nil then return nil, err end
    held.key, held.conn = key, conn or nil
    if not conn or alive(conn) then return conn end
    self:release_held(held)
  end
end

--- Send one request on one connection (taken from the pool or opened),
-- and read the response head.  Retries once on a fresh connection when
-- a pooled one turns out to be dead before any response byte.
-- @return resp (with resp.conn, resp.key), or nil, err
function _M:exchange(req, opts, held)
  local setting = opts.proxy
  if setting == nil then setting = self.proxy_env end
  local px, perr = proxy_mod.select(req.u, setting)
  if perr then return nil, perr end
  local key = transport.key(req.u, px, opts.tls)
  for _ = 1, 2 do
    local conn, err = self:checkout(key, opts, held)
    if conn == nil then return nil, err end
    if conn == false then
      conn, err = transport.open(req.u, px, opts.timeouts, opts.tls, self.tls_contexts)
      if not conn then self:release_held(held); return nil, err end
      held.conn = conn
    end
    local resp, rerr, got = self:roundtrip(conn, req, opts)
    if resp then
      resp.conn, resp.key = conn, key
      held.key, held.conn = nil, nil
      return resp
    end
    self:release_held(held)
    if rerr == "timeout" or not pool_mod.retryable(req.method, req.body, conn.reused, got) then
      return nil, rerr
    end
  end
  return nil, "closed"
end

-- Give up what a call holds: its response's connection, or a connection
-- (or reserved pool slot) it was still exchanging on.
function _M:release_held(held)
  local resp, key, conn = held.resp, held.key, held.conn
  held.resp, held.key, held.conn = nil, nil, nil
  if resp then resp:finish(false) end
  if key then self.pool:discard(key, conn) end
end

-- The request after a redirect response, nil to stop at this response,
-- or false, err for a redirect that is an error (loop, too many).
-- `chain` carries the redirect state across the hops of one call.
function _M:follow(req, resp, opts, chain)
  if not redirect.is_redirect(resp.status) then return nil end
  if not redirect.enabled(req.method, opts.follow_redirects) then return nil end
  if not chain.state then
    chain.state = redirect.state(opts.max_redirects)
    redirect.visit(chain.state, req.method, req.url)
  end
  if req.headers == nil then req.headers = headers.new(self.headers) end
  local nxt, why = redirect.next(chain.state, req, resp.status, resp.headers.location)
  if nxt then return nxt end
  if why == "too many redirects" or why == "redirect loop" or why:match("^bad redirect") then
    return false, why
  end
  return nil
end

--- One logical request: redirects followed per policy.
-- @return response, or nil, err
function _M:perform(method, target, opts, held)
  local u, err = self:target_url(target, opts.query)
  if not u then return nil, err end
  local req = {method = method, url = url.build(u), u = u, body = opts.body,
               headers = self:request_headers(u, opts)}
  local chain = {}
  while true do
    local resp, rerr = self:exchange(req, opts, held)
    if not resp then return nil, rerr end
    Response.attach(self, resp, opts)
    held.resp = resp
    resp.url, resp.method = req.url, req.method
    local nxt, why = self:follow(req, resp, opts, chain)
    if nxt == false then return nil, why end   -- held.resp is dropped by the caller
    if not nxt and opts.stream then held.resp = nil; return resp end
    local done, serr = resp:slurp()
    held.resp = nil
    if not nxt or not done then return done, serr end
    req = nxt
  end
end

--- Send a request: method, URL (relative to base_url if set), options
-- (headers, body, query, timeout, follow_redirects, max_redirects, proxy,
-- tls, gzip, stream, max_head, max_body, pool_timeout).
-- @return response {status, reason, headers, body | read/lines/close,
--   url, version}, or nil, err
function _M:request(method, target, opts)
  if type(method) ~= "string" then error("request: method must be a string", 2) end
  if type(target) ~= "string" then error("request: url must be a string", 2) end
  if not method:find(wire.TOKEN) then
    error("request: invalid method " .. method:gsub("%c", "?"), 2)
  end
  opts = self:merge_options(opts)
  method = string_upper(method)
  local held = {}
  local deadline <close> = opts.timeouts.total and core.Timeout(opts.timeouts.total)
  local ok, resp, err = pcall(self.perform, self, method, target, opts, held)
  if ok then
    if resp == nil then self:release_held(held) end
    return resp, err
  end
  self:release_held(held)
  if deadline and resp == deadline then return nil, "timeout" end
  error(resp, 0)
end

-- Shortcuts: client:get(url, opts), client:post(url, opts), ...
for _, m in pairs({"get", "head", "post", "put", "delete", "patch", "options"}) do
  local method = string_upper(m)
  _M[m] = function(self, target, opts) return self:request(method, target, opts) end
end

--- Close the idle pooled connections (also __close: a client held in a
-- to-be-closed variable closes them when it goes out of scope).
function _M:close()
  self.pool:close()
end
_M.__close = _M.close

return _M
