--- eventlet.tls: TLS contexts and wrap_ssl over eventlet sockets
-- (OpenSSL 3, in C: src/tls.c, src/tlsctx.c).
--
-- Clients verify the peer by default against the system trust store and
-- check the host name; servers present cert/key.  The handshake parks
-- only the thread doing it, with a timeout.  Errors are nil,
-- "<OpenSSL reason>" (e.g. "certificate verify failed: self-signed
-- certificate").
local core = require "eventlet.core"

local type = type
local pairs = pairs
local error = error
local tls_context = core.tls_context
local tls_wrap = core.tls_wrap

local _M = {}

-- Option names that shape a context (anything else is per connection).
local CONTEXT_KEYS = {
  server = true, cert = true, key = true, cert_pem = true, key_pem = true,
  cafile = true, capath = true, ca_pem = true, verify = true, alpn = true,
  min_version = true, max_version = true, ciphers = true, ciphersuites = true,
}

-- The seed's and Python's spellings, mapped to ours.
local ALIASES = {
  server_side = "server", certfile = "cert", keyfile = "key",
  ca_certs = "cafile", server_hostname = "hostname",
}

--- Copy opts with aliases resolved.
local function normalize(opts)
  local out = {}
  for k, v in pairs(opts or {}) do out[ALIASES[k] or k] = v end
  return out
end

--- context(opts) -> context | nil, err.  opts: server, cert, key (files),
-- cert_pem, key_pem (strings), cafile, capath, ca_pem, verify (default:
-- on for clients, off for servers, where on asks for client
-- certificates), alpn {"h2", "http/1.1"}, min_version ("tls1.2"),
-- max_version, ciphers (TLS 1.2), ciphersuites (TLS 1.3).
function _M.context(opts)
  if type(opts) ~= "table" then error("tls.context: options table expected", 2) end
  return tls_context(normalize(opts))
end

local default_client  -- verify against the system store: built once

--- The context for opts: opts.context, the shared default client
-- context, or a new one from the context keys.
local function context_for(o)
  if o.context then return o.context end
  local custom = false
  for k in pairs(o) do if CONTEXT_KEYS[k] and k ~= "server" then custom = true break end end
  if not o.server and not custom then
    if not default_client then
      local ctx, err = tls_context({})
      if not ctx then return nil, err end
      default_client = ctx
    end
    return default_client
  end
  local ctx_opts = {}
  for k, v in pairs(o) do if CONTEXT_KEYS[k] then ctx_opts[k] = v end end
  return tls_context(ctx_opts)
end

--- Complete the handshake with opts.timeout (else the socket's own).
local function handshake(sock, timeout)
  if timeout == nil then return sock:dohandshake() end
  local saved = sock:gettimeout()
  sock:settimeout(timeout)
  local ok, err = sock:dohandshake()
  sock:settimeout(saved)
  return ok, err
end

--- wrap_ssl(sock, opts) -> sock | nil, err: put TLS on a connected or
-- listening socket, in place.  opts: the context options above or
-- context=, hostname (SNI and the name verified; connect() passes it),
-- session (from conn:getsession(), for resumption), timeout (for the
-- handshake), handshake (false: leave it to the first read or write).
-- A listener gives every accepted connection a server stream whose
-- handshake runs in the thread that first uses it.  On failure the
-- socket is closed.
function _M.wrap_ssl(sock, opts)
  local o = normalize(opts)
  local ctx, err = context_for(o)
  if not ctx then sock:close() return nil, err end
  local wrapped, listener = tls_wrap(sock, ctx, {hostname = o.hostname, session = o.session})
  if not wrapped then sock:close() return nil, listener end
  if listener or o.handshake == false then return sock end
  local ok, herr = handshake(sock, o.timeout)
  if not ok then sock:close() return nil, herr end
  return sock
end

return _M
