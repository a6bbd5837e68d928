--- eventlet.net: listen, connect, serve, resolve and wrap_fd.
-- Addresses are "host:port", "[v6]:port", "unix:/path", a port number,
-- or {host=, port=} / {path=}.  Names are resolved off the loop
-- (core.resolve runs getaddrinfo on a thread pool).  Expected failures
-- return nil, err; programming errors raise.
local core = require "eventlet.core"

local type = type
local tostring = tostring
local tonumber = tonumber
local error = error
local pcall = pcall
local xpcall = xpcall
local setmetatable = setmetatable
local require = require
local string_find = string.find
local string_match = string.match
local io_stderr = io.stderr
local traceback = debug.traceback
local core_socket = core.socket
local core_resolve = core.resolve
local core_spawn = core.spawn
local core_sleep = core.sleep
local core_park = core.park
local core_unpark = core.unpark
local core_waiter = core.waiter
local core_getcurrent = core.getcurrent
local core_kill = core.kill

local _M = {}

--- Raise error(eventlet.StopServe) in a handler to end its serve().
_M.StopServe = setmetatable({}, {__tostring = function() return "StopServe" end,
                                  __name = "eventlet.StopServe"})
local StopServe = _M.StopServe

local EMFILE = {["too many open files"] = true, ["too many open files in system"] = true}
local BACKOFF_MIN, BACKOFF_MAX = 0.01, 1.0

--- Split an address into a family and its parts: "unix", path or
-- "ip", host, port.  A missing host is default_host.  A malformed address
-- string (from a config file, say) is nil, err; a value of the wrong type
-- is a programming error and raises.
local function parse_address(addr, default_host)
  local t = type(addr)
  if t == "number" then return "ip", default_host, addr end
  if t == "table" then
    if addr.path then return "unix", addr.path end
    local host, port = addr.host or addr[1], tonumber(addr.port or addr[2])
    if host == "" or host == nil then host = default_host end
    if not port then error("address table needs a port", 3) end
    return "ip", host, port
  end
  if t ~= "string" then error("bad address: " .. tostring(addr), 3) end
  local path = string_match(addr, "^unix:(.+)$")
  if path then return "unix", path end
  local host, port = string_match(addr, "^%[(.-)%]:(%d+)$")
  if not host then host, port = string_match(addr, "^([^:]*):(%d+)$") end
  if not host then
    port = string_match(addr, "^(%d+)$")
    if not port then return nil, "bad address (want host:port, [v6]:port or unix:/path): " .. addr end
    host = ""
  end
  if host == "" then host = default_host end
  return "ip", host, tonumber(port)
end
_M.parse_address = parse_address

--- The socket family of a numeric address, or nil for a name.
local function numeric_family(host)
  if string_find(host, ":", 1, true) then return "inet6" end
  if string_match(host, "^%d+%.%d+%.%d+%.%d+$") then return "inet" end
  if host == "*" then return "inet" end
  return nil
end

--- resolve(host[, opts]) -> {address, ...} | nil, err.  opts.timeout
-- (seconds), opts.family ("inet" | "inet6").  Lookups run on the worker
-- pool, so other green threads keep running.
function _M.resolve(host, opts)
  if type(host) ~= "string" then error("resolve: host must be a string", 2) end
  local family = opts and opts.family
  local timeout = opts and opts.timeout
  return core_resolve(host, family, timeout)
end

--- Addresses to try for host: itself when numeric, else its lookup.
local function addresses(host, opts)
  if numeric_family(host) then return {host} end
  return _M.resolve(host, opts)
end

--- Bind a Unix socket, replacing a stale socket file nobody listens on.
local function bind_unix(sock, path)
  local ok, err = sock:bind(path)
  if ok or err ~= "address already in use" then return ok, err end
  local probe = core_socket("unix")
  local alive = probe:connect(path)
  probe:close()
  if alive then return nil, err end
  os.remove(path)
  return sock:bind(path)
end

--- listen(addr[, opts]) -> listening socket | nil, err.  A missing host
-- binds 127.0.0.1 (loopback unless told otherwise; "*" or "0.0.0.0" for
-- all).  opts: backlog (128), reuseaddr (true), reuseport, family, dgram
-- (a bound UDP socket instead).
function _M.listen(addr, opts)
  opts = opts or {}
  local kind, host, port = parse_address(addr, "127.0.0.1")
  if not kind then return nil, host end
  local stype = opts.dgram and "dgram" or "stream"
  local sock, err
  if kind == "unix" then
    sock, err = core_socket("unix", stype)
    if not sock then return nil, err end
    local ok, berr = bind_unix(sock, host)
    if not ok then sock:close() return nil, berr end
  else
    local list, rerr = addresses(host, opts)
    if not list then return nil, rerr end
    host = list[1]
    sock, err = core_socket(opts.family or numeric_family(host), stype)
    if not sock then return nil, err end
    if opts.reuseaddr ~= false then sock:setoption("reuseaddr", true) end
    if opts.reuseport then sock:setoption("reuseport", true) end
    local ok, berr = sock:bind(host == "*" and "*" or host, port)
    if not ok then sock:close() return nil, berr end
  end
  if stype == "stream" then
    local ok, lerr = sock:listen(opts.backlog or 128)
    if not ok then sock:close() return nil, lerr end
  end
  return sock
end

--- Connect a new socket to one numeric address; nil, err on failure.
local function connect_one(kind, host, port, opts)
  local sock, err = core_socket(kind == "unix" and "unix" or numeric_family(host),
                                opts.dgram and "dgram" or "stream")
  if not sock then return nil, err end
  sock:settimeout(opts.timeout)
  if opts["local"] then
    local lkind, lhost, lport = parse_address(opts["local"], "")
    if not lkind then sock:close() return nil, lhost end
    local ok, berr = sock:bind(lhost == "" and "*" or lhost, lport or 0)
    if not ok then sock:close() return nil, berr end
  end
  local ok, cerr
  if kind == "unix" then ok, cerr = sock:connect(host) else ok, cerr = sock:connect(host, port) end
  if not ok then sock:close() return nil, cerr end
  sock:settimeout(nil)
  return sock
end

--- connect(addr[, opts]) -> connected socket | nil, err.  opts: timeout
-- (for resolving and connecting; the socket then has no timeout),
-- local (address to bind first), family, dgram, tls (true or
-- wrap_ssl options: TLS with verification against the host name).
-- Every address of a name is tried in turn.
function _M.connect(addr, opts)
  opts = opts or {}
  local kind, host, port = parse_address(addr, "127.0.0.1")
  if not kind then return nil, host end
  local sock, err
  if kind == "unix" then
    sock, err = connect_one(kind, host, nil, opts)
  else
    local list, rerr = addresses(host, opts)
    if not list then return nil, rerr end
    for i = 1, #list do
      sock, err = connect_one(kind, list[i], port, opts)
      if sock then break end
    end
  end
  if not sock or not opts.tls then return sock, err end
  local tls_opts = type(opts.tls) == "table" and opts.tls or {}
  if tls_opts.hostname == nil then
    local copy = {}
    for k, v in pairs(tls_opts) do copy[k] = v end
    copy.hostname = host
    copy.timeout = copy.timeout or opts.timeout
    tls_opts = copy
  end
  return require("eventlet.tls").wrap_ssl(sock, tls_opts)
end

--- Report a handler's error (opts.on_error, or stderr).
local function report(opts, err, addr)
  if opts.on_error then
    local ok = pcall(opts.on_error, err, addr)
    if ok then return end
  end
  io_stderr:write("eventlet.serve: ", tostring(addr), ": ", tostring(err), "\n")
end

--- Is err the StopServe marker?
local function is_stop(err) return err == StopServe end

--- serve(sock, handler[, opts]): accept forever, calling
-- handler(conn, addr) in a new green thread per connection; conn is
-- closed when the handler returns.  opts: concurrency (1000: accepting
-- pauses at that many live handlers), on_error(err, addr) (default:
-- stderr).  Returns when the listener is closed or a handler raises
-- eventlet.StopServe.  A failing handler is reported and serving goes
-- on; accept failing with EMFILE/ENFILE backs off (10 ms doubling to
-- 1 s) instead of spinning.
function _M.serve(sock, handler, opts)
  opts = opts or {}
  local limit = opts.concurrency or 1000
  local active, waiter, wseq = 0, nil, nil
  local server = core_getcurrent()
  local stopping = false

  local function run(conn, addr)
    local ok, err = xpcall(handler, function(e)
      if is_stop(e) then return e end
      return traceback(tostring(e), 2)
    end, conn, addr)
    conn:close()
    active = active - 1
    if waiter then
      local w, s = waiter, wseq
      waiter = nil
      core_unpark(w, s)
    end
    if not ok then
      if is_stop(err) then
        if not stopping then
          stopping = true
          core_kill(server, StopServe)
        end
      else
        report(opts, err, addr)
      end
    end
  end

  local backoff = BACKOFF_MIN
  local function accept_loop()
    while true do
      while active >= limit do
        waiter, wseq = core_waiter()
        core_park(nil, "serve: concurrency limit")
      end
      local conn, addr = sock:accept()
      if conn then
        backoff = BACKOFF_MIN
        active = active + 1
        core_spawn(run, conn, addr)
      elseif addr == "closed" then
        return
      elseif EMFILE[addr] then
        if backoff == BACKOFF_MIN then report(opts, "accept: " .. addr, nil) end
        core_sleep(backoff)
        backoff = backoff * 2 > BACKOFF_MAX and BACKOFF_MAX or backoff * 2
      elseif addr ~= "timeout" then
        report(opts, "accept: " .. tostring(addr), nil)
        core_sleep(BACKOFF_MIN)
      end
    end
  end

  local ok, err = pcall(accept_loop)
  waiter = nil
  if not ok and not is_stop(err) then error(err, 0) end
end

--- wrap_fd(fd[, kind]) -> socket: a pipe or other descriptor with the
-- socket methods (receive, send, close...).  kind "fd" (default),
-- "stream" or "dgram" for sockets made elsewhere.  The socket owns fd.
function _M.wrap_fd(fd, kind)
  return core.wrap_fd(fd, kind)
end

-- sock:starttls(opts): TLS on an existing connection (eventlet.tls).
core.socket_methods().starttls = function(sock, opts)
  return require("eventlet.tls").wrap_ssl(sock, opts)
end

return _M
