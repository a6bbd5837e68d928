--- eventlet.httpc.transport: open a connection to an origin — directly,
-- through a plain HTTP proxy, or through a CONNECT tunnel — with TLS
-- (verified by default) for https.
local eventlet = require "eventlet"
local url = require "eventlet.httpc.url"
local headers = require "eventlet.httpc.headers"
local wire = require "eventlet.httpc.wire"
local eventlet_tls = require "eventlet.tls"

local setmetatable = setmetatable
local tostring = tostring
local concat = table.concat

local _M = {}

--- The pool key of a request: the origin, the proxy it goes through and
-- the TLS settings (a connection verified against one CA must not serve
-- a request that asked for another).
function _M.key(u, proxy, tls)
  if not proxy and u.scheme == "http" then return url.origin(u) end
  local parts = {url.origin(u)}
  if proxy then parts[#parts + 1] = "via " .. url.origin(proxy) end
  if u.scheme == "https" and tls then
    local opts, names = _M.tls_options(tls), {}
    for k in pairs(opts) do names[#names + 1] = k end
    table.sort(names)
    for i, k in ipairs(names) do
      local v = opts[k]
      names[i] = k .. "=" .. (type(v) == "table" and concat(v, ",") or tostring(v))
    end
    parts[#parts + 1] = "verify=" .. tostring(tls.verify ~= false) .. "|" .. concat(names, "|")
  end
  return concat(parts, " ")
end

-- httpc's own names for TLS options, and eventlet.tls's (which win).
local TLS_NAMES = {certfile = "cert", keyfile = "key", server_name = "hostname",
                   server_hostname = "hostname", ca_certs = "cafile"}

--- The TLS options in eventlet.tls's names (cert, key, cafile, capath,
-- ca_pem, cert_pem, key_pem, hostname, alpn, min_version, ...), accepting
-- httpc's older names (certfile, keyfile, server_name) as well.
function _M.tls_options(tls)
  local out = {}
  for k, v in pairs(tls or {}) do
    if k ~= "verify" then out[TLS_NAMES[k] or k] = v end
  end
  return out
end

-- A connection: the socket plus what requests on it need to know.
local Conn = {}
Conn.__index = Conn

--- Close the socket.
function Conn:close()
  self.sock:close()
end

-- The Proxy-Authorization value for a proxy URL with credentials.
local function proxy_auth(proxy)
  if proxy.user then return headers.basic(proxy.user, proxy.password) end
  return nil
end

-- Ask the proxy for a tunnel to u's host:port; nil, err unless it says 2xx.
local function tunnel(sock, u, proxy, timeouts)
  local authority = url.host_header({scheme = "", host = u.host, port = u.port})
  local h = headers.new({Host = authority})
  h["Proxy-Authorization"] = proxy_auth(proxy)
  sock:settimeout(timeouts.send)
  local ok, err = wire.send(sock, "CONNECT", authority, wire.block(h), nil, true)
  if not ok then return nil, "proxy: " .. tostring(err) end
  local resp, rerr = wire.read_head(sock, wire.parser(), timeouts.read)
  if not resp then return nil, "proxy: " .. tostring(rerr) end
  if resp.status < 200 or resp.status > 299 then
    return nil, "proxy refused CONNECT: " .. resp.status .. " " .. (resp.reason or "")
  end
  return true
end

-- The TLS client context for these options, built once per client and
-- settings (loading a CA file per connection would be slow).
local function context(tls, cache, key)
  local ctx = cache[key]
  if ctx then return ctx end
  local err
  local opts = _M.tls_options(tls)
  opts.hostname, opts.verify = nil, tls.verify ~= false
  ctx, err = eventlet_tls.context(opts)
  if not ctx then return nil, err end
  cache[key] = ctx
  return ctx
end

-- Wrap sock in TLS for host u.host (SNI and the name verified), verified
-- unless tls.verify == false.  On failure the socket is closed.
local function start_tls(sock, u, tls, cache, timeout)
  tls = tls or {}
  local ctx, err = context(tls, cache, _M.key(u, nil, tls))
  if not ctx then sock:close() return nil, err end
  local name = _M.tls_options(tls).hostname or u.host
  return eventlet_tls.wrap_ssl(sock, {context = ctx, hostname = name, timeout = timeout})
end

--- Open a connection for URL table u.  `proxy` is a parsed proxy URL or
-- nil; `timeouts` = {connect, send, read}; `tls` the TLS options;
-- `cache` the client's table of TLS contexts.
-- @return a connection {sock, absolute (send absolute-URI targets),
--   proxy_auth}, or nil, err
function _M.open(u, proxy, timeouts, tls, cache)
  local host = proxy or u
  local sock, err = eventlet.connect({host = host.host, port = host.port},
                                     {timeout = timeouts.connect})
  if not sock then return nil, err end
  local conn = setmetatable({sock = sock, reused = false}, Conn)
  if proxy and u.scheme == "http" then
    conn.absolute = true
    conn.proxy_auth = proxy_auth(proxy)
    return conn
  end
  if proxy then
    local ok, terr = tunnel(sock, u, proxy, timeouts)
    if not ok then sock:close(); return nil, terr end
  end
  if u.scheme == "https" then
    local wrapped, terr = start_tls(sock, u, tls, cache, timeouts.connect)
    if not wrapped then return nil, terr end
    conn.sock = wrapped
  end
  return conn
end

return _M
