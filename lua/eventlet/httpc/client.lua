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
local body_mod = require "eventlet.httpc.body"
local transport = require "eventlet.httpc.transport"

local setmetatable = setmetatable
local type = type
local pairs = pairs
local pcall = pcall
local error = error
local string_upper = string.upper
local table_concat = table.concat

local _M = {}
_M.__index = _M

_M.USER_AGENT = "eventlet-lua/" .. core.version

local DEFAULT_TIMEOUTS = {connect = 10, send = 60, read = 60, total = nil}

-- Options a client holds as defaults for its requests.
local INHERITED = {"timeout", "follow_redirects", "max_redirects", "proxy", "tls",
                   "gzip", "max_head", "max_body", "pool_timeout"}

--- A new client.  opts: base_url, headers (defaults), pool_size,
-- idle_timeout, and any request option as a default.
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    base_url = opts.base_url,
    headers = headers.new(opts.headers),
    pool = pool_mod.new({size = opts.pool_size, idle_timeout = opts.idle_timeout}),
    defaults = {},
    tls_contexts = {},
  }, _M)
  for _, name in pairs(INHERITED) do self.defaults[name] = opts[name] end
  return self
end

-- Per-kind timeouts from opts.timeout: a number sets connect, send and
-- read; a table may set each and `total`.
local function timeouts(t)
  if t == nil then return DEFAULT_TIMEOUTS end
  if type(t) == "number" then return {connect = t, send = t, read = t} end
  return {connect = t.connect or DEFAULT_TIMEOUTS.connect, send = t.send or DEFAULT_TIMEOUTS.send,
          read = t.read or DEFAULT_TIMEOUTS.read, total = t.total}
end

-- The request options: the call's, falling back to the client's.
function _M:merge_options(opts)
  local merged = {}
  for k, v in pairs(self.defaults) do merged[k] = v end
  if opts then for k, v in pairs(opts) do merged[k] = v end end
  merged.timeouts = timeouts(merged.timeout)
  return merged
end

-- The absolute URL for a call: base_url joined, query appended.
function _M:resolve_url(target, query)
  if self.base_url and not target:match("^%a[%w+.-]*://") then
    local base = assert(url.parse(self.base_url))
    if target:sub(1, 1) ~= "/" and not base.path:match("/$") then base.path = base.path .. "/" end
    target = url.resolve(base, target)
  end
  return url.with_query(target, query)
end

-- The header table for the first request of a call.
function _M:request_headers(u, opts)
  local h = headers.new(self.headers)
  if opts.headers then for name, value in pairs(opts.headers) do h[name] = value end end
  if h["user-agent"] == nil then h["User-Agent"] = _M.USER_AGENT end
  if opts.gzip and h["accept-encoding"] == nil then h["Accept-Encoding"] = "gzip, deflate" end
  if u.user and h.authorization == nil then h.Authorization = headers.basic(u.user, u.password) end
  return h
end

-- Write the request on conn and read the response head.
-- @return resp, or nil, err, got_response_bytes
local function roundtrip(conn, req, opts)
  local sock = conn.sock
  local h = req.headers
  if h.host == nil then
    h = headers.new(h)
    h.Host = url.host_header(req.u)
  end
  local target = url.target(req.u)
  if conn.absolute then
    target = url.build(req.u)
    if conn.proxy_auth and h["proxy-authorization"] == nil then
      h = headers.new(h)
      h["Proxy-Authorization"] = conn.proxy_auth
    end
  end
  sock:settimeout(opts.timeouts.send)
  local ok, err = wire.send(sock, req.method, target, h, req.body)
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

--- Send one request on one connection (taken from the pool or opened),
-- and read the response head.  Retries once on a fresh connection when
-- a pooled one turns out to be dead before any response byte.
-- @return resp (with resp.conn, resp.key), or nil, err
function _M:exchange(req, opts)
  local px, perr = proxy_mod.select(req.u, opts.proxy)
  if perr then return nil, perr end
  local key = transport.key(req.u, px, opts.tls)
  local held = opts.held
  for _ = 1, 2 do
    local conn, err = self.pool:acquire(key, opts.pool_timeout or opts.timeouts.connect)
    if conn == nil then return nil, err end
    held.key, held.conn = key, conn or nil
    if conn == false then
      conn, err = transport.open(req.u, px, opts.timeouts, opts.tls, self.tls_contexts)
      if not conn then self:release_held(held); return nil, err end
      held.conn = conn
    end
    local resp, rerr, got = roundtrip(conn, req, opts)
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

-- Attach the body reader and the read/lines/close methods to a response.
local Response = {}
Response.__index = Response

-- The next piece of the body: held-back line bytes first, then the
-- reader's (nil at the end, nil, err on failure).
local function next_piece(self, n)
  local pending = self.linebuf
  if pending then
    self.linebuf = #pending > n and pending:sub(n + 1) or nil
    return pending:sub(1, n)
  end
  if not self.reader then return nil end
  local data, err = self.reader:read(n)
  if data then return data end
  self:finish(err == nil)
  return nil, err
end

--- Read a streamed body like file:read(n): n bytes (fewer only at the
-- end), or with no n the next piece as it arrives; nil at the end, nil,
-- err on failure.  The connection goes back to the pool once the body
-- is consumed.
function Response:read(n)
  if n == nil then return next_piece(self, 65536) end
  local parts, got = {}, 0
  while got < n do
    local data, err = next_piece(self, n - got)
    if not data then
      if err then return nil, err end
      break
    end
    parts[#parts + 1] = data
    got = got + #data
  end
  if got == 0 and n > 0 then return nil end
  return table_concat(parts)
end

--- An iterator over the lines of a streamed body (without line ends).
-- Bytes read past a line wait in the response for the next read/line.
function Response:lines()
  return function()
    local buffer = self.linebuf or ""
    while true do
      local line, rest = buffer:match("^(.-)\r?\n(.*)$")
      if line then self.linebuf = rest ~= "" and rest or nil; return line end
      self.linebuf = nil
      local data = self:read()
      if not data then
        if buffer == "" then return nil end
        return buffer
      end
      buffer = buffer .. data
    end
  end
end

-- Give the connection back (body fully read, reusable) or close it.
function Response:finish(complete)
  local reader, conn = self.reader, self.conn
  self.reader, self.conn = nil, nil
  if reader then reader:close() end
  if not conn then return end
  if complete and reader and reader:finished() and self.keep_alive then
    self.client.pool:release(self.key, conn)
  else
    self.client.pool:discard(self.key, conn)
  end
end

--- Stop reading: the unread rest of the body is dropped with the connection.
function Response:close()
  self:finish(self.reader ~= nil and self.reader:finished())
end

-- Make resp a Response with a body reader.
local function attach_body(client, resp, opts)
  local encoding = resp.headers["content-encoding"]
  local gunzip = opts.gzip and encoding and (headers.has_token(encoding, "gzip")
                                             or headers.has_token(encoding, "deflate"))
  resp.client = client
  resp.reader = body_mod.new(resp.conn.sock, resp.parser,
                             {gunzip = gunzip, max_body = opts.max_body})
  resp.parser = nil
  if gunzip then resp.headers["content-encoding"] = nil; resp.headers["content-length"] = nil end
  return setmetatable(resp, Response)
end

-- Read the whole body into resp.body and give back the connection.
local function slurp(resp)
  local data, err = resp.reader:all()
  if not data then resp:finish(false); return nil, err end
  resp.body = data
  resp:finish(true)
  return resp
end

--- One logical request: redirects followed per policy.
-- @return response, or nil, err
function _M:perform(method, target, opts)
  local u, err = url.parse(self:resolve_url(target, opts.query))
  if not u then return nil, err end
  local req = {method = method, url = url.build(u), u = u, body = opts.body}
  req.headers = self:request_headers(u, opts)
  local follow = redirect.enabled(method, opts.follow_redirects)
  local state = redirect.state(opts.max_redirects)
  redirect.visit(state, method, req.url)
  while true do
    local resp, rerr = self:exchange(req, opts)
    if not resp then return nil, rerr end
    attach_body(self, resp, opts)
    opts.held.resp = resp
    resp.url, resp.method = req.url, req.method
    local nxt, why
    if follow and redirect.is_redirect(resp.status) then
      nxt, why = redirect.next(state, req, resp.status, resp.headers.location)
      if not nxt and (why == "too many redirects" or why == "redirect loop"
                      or why:match("^bad redirect")) then
        resp:close()
        return nil, why
      end
    end
    if not nxt then
      if opts.stream then opts.held.resp = nil; return resp end
      local done, serr = slurp(resp)
      opts.held.resp = nil
      return done, serr
    end
    local ok, serr = slurp(resp)
    opts.held.resp = nil
    if not ok then return nil, serr end
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
  opts = self:merge_options(opts)
  opts.held = {}
  method = string_upper(method)
  local deadline <close> = opts.timeouts.total and core.Timeout(opts.timeouts.total)
  local ok, resp, err = pcall(self.perform, self, method, target, opts)
  if ok then return resp, err end
  self:release_held(opts.held)
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
