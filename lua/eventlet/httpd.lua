--- eventlet.httpd: the HTTP/1.1 server.
--
--   local httpd = require "eventlet.httpd"
--   local srv = httpd.server("127.0.0.1:8080", function(req, res)
--     return 200, {["Content-Type"] = "text/plain"}, "Hello, World!\n"
--   end)
--   srv:serve()                       -- or srv:start() and later srv:stop{grace = 5}
--
-- Heads are parsed and responses written in C (eventlet.core.http_*);
-- this module owns policy: accepting, limits and timeouts, keep-alive,
-- graceful stop, logging.  Pieces: httpd/connection.lua (one client),
-- httpd/request.lua (req), httpd/response.lua (res), httpd/log.lua,
-- httpd/workers.lua (workers = N).  See docs/httpd.md.
local core = require "eventlet.core"
local net = require "eventlet.net"
local connection = require "eventlet.httpd.connection"
local log = require "eventlet.httpd.log"

local core_spawn = core.spawn
local core_waiter = core.waiter
local core_park = core.park
local core_unpark = core.unpark
local core_sleep = core.sleep
local core_now = core.now
local type = type
local pairs = pairs
local error = error
local setmetatable = setmetatable
local tostring = tostring
local pcall = pcall
local getmetatable = getmetatable

local _M = {}

local Server = {}
Server.__index = Server
_M.Server = Server

--- Defaults of the options (seconds, bytes, counts).
_M.defaults = {
  max_request_line = 8192,      -- 414 past it
  max_header_line = 8192,       -- 431
  max_header_size = 65536,      -- 431 (the whole head)
  max_headers = 100,            -- 431
  max_body = 10 * 1024 * 1024,  -- 413
  max_connections = 10000,      -- accepting pauses at that many
  header_timeout = 30,          -- a head must arrive within this (slowloris): 408
  idle_timeout = 75,            -- between keep-alive requests
  body_timeout = 60,            -- each wait for body bytes
  write_timeout = 60,           -- each wait to send
  grace = 10,                   -- stop(): time in-flight requests get
  log_x_forwarded_for = true,
  debug = false,                -- tracebacks in 500 bodies
  headers_raw = false,          -- req.headers_raw: the header pairs as sent
  keepalive = true,             -- false: Connection: close on every response
  defer_accept = 1,             -- TCP_DEFER_ACCEPT seconds (Linux; false: off)
}

local EMFILE = {["too many open files"] = true, ["Too many open files"] = true}

--- The pid of this process (for the startup line).
local function getpid()
  local f = io.open("/proc/self/stat")
  if not f then return "?" end
  local pid = f:read("n")
  f:close()
  return pid
end

--- Open (or take) the listening socket for sock_or_addr.
local function listener(sock_or_addr, opts)
  if type(sock_or_addr) == "userdata" then return sock_or_addr end
  local sock, err = net.listen(sock_or_addr, {reuseport = opts.reuseport, backlog = opts.backlog or 1024})
  if not sock then return nil, err end
  if opts.tls then
    return require("eventlet.tls").wrap_ssl(sock, opts.tls)
  end
  return sock
end

--- Let the kernel hand the listener a TCP connection only once its
-- first bytes have come (or `seconds` have passed): a new connection is
-- then read at once, instead of read in vain, watched and read again --
-- three system calls and a park a connection (docs/httpd.md).  Where the
-- system or the socket (a Unix one) has no such option, nothing changes;
-- a socket the caller made keeps a deferral of its own (keep_own).
local function defer_accept(sock, seconds, keep_own)
  if keep_own and (sock:getoption("tcp-defer-accept") or 0) > 0 then return end
  sock:setoption("tcp-defer-accept", seconds or 0)
end

--- The shortest wait a connection may spend without a request (nil:
-- none): the queue checks a quiet connection no later than that.
local function shortest_wait(self)
  local h, i = self.header_timeout, self.idle_timeout
  local t = h and i and (h < i and h or i) or h or i
  return t and (t > 0 and t or 0.001)
end

--- Whether a handler can never see a second argument -- function(req),
-- function(), a site -- so that, with no access log, connection.lua
-- makes no response object for it unless it asks through req
-- (server.lean).
local function takes_no_res(fn)
  if type(fn) ~= "function" then return false end
  local info = debug.getinfo(fn, "u")
  return info.nparams < 2 and not info.isvararg
end

--- server(sock_or_addr, handler[, opts]) -> server | nil, err.  handler is
-- function(req, res) or a site object with handle_request(req).  opts:
-- see _M.defaults, plus log (false, a file, or function(line, req, res);
-- default stderr), error_log, tls (wrap_ssl options, with an address),
-- reuseport, backlog, scheme, server_name, workers (see serve()).
function _M.server(sock_or_addr, handler, opts)
  opts = opts or {}
  -- Every field a request reads is set here (stopping, the defaults), so
  -- those reads never miss into Server.
  local self = setmetatable({stopping = false}, Server)
  for k, v in pairs(_M.defaults) do self[k] = v end
  for k, v in pairs(opts) do self[k] = v end
  if type(handler) == "table" and handler.handle_request then
    self.site = handler
  elseif type(handler) ~= "function" and not (type(handler) == "table" and getmetatable(handler)
                                              and getmetatable(handler).__call) then
    error("httpd.server: handler must be a function or a site with handle_request", 2)
  end
  self.handler = handler
  if self.site then          -- connection.lua calls server.call(req, res)
    local site = self.site
    self.call = function(req) return site:handle_request(req) end
  else
    self.call = handler
  end
  if opts.log == nil then self.log = log.default end
  self.lean = not self.log and takes_no_res(self.call)   -- the log wants a response object
  self.limits = core.http_limits{max_request_line = self.max_request_line,   -- parsed once
    max_header_line = self.max_header_line, max_header_size = self.max_header_size,
    max_headers = self.max_headers, max_body = self.max_body,
    raw_headers = self.headers_raw and true or false}
  if opts.server_name ~= nil then core.http_server_name(opts.server_name) end
  if (opts.workers or 0) > 0 and type(sock_or_addr) ~= "userdata" then opts.reuseport = true end
  local sock, err = listener(sock_or_addr, opts)
  if not sock then return nil, err end
  defer_accept(sock, self.defer_accept, type(sock_or_addr) == "userdata" and opts.defer_accept == nil)
  self.sock = sock
  self.scheme = opts.scheme or (core.http_is_tls(sock) and "https" or "http")
  self.conns, self.nconns = {}, 0
  self.busy = {}             -- worker -> {conn = the connection it serves, or false}
  return self
end

--- address() -> host, port the server listens on.
function Server:address()
  return self.sock:getsockname()
end

--- url() -> "http://host:port" of the listener.
function Server:url()
  local host, port = self:address()
  if port == nil then return self.scheme .. "+unix://" .. tostring(host) end
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  return ("%s://%s:%d"):format(self.scheme, host, port)
end

--- Book-keeping called by connection.lua: a connection, false while it
-- dozes (no parser, response object or read buffer), else true.
function Server:_track(conn, member)
  self.conns[conn] = member
end

--- A connection ended: free its slot, wake the accept loop or stop().
function Server:_untrack(conn)
  self.conns[conn] = nil
  self.nconns = self.nconns - 1
  local w = self._slot_waiter
  if w then
    self._slot_waiter = nil
    core_unpark(w, self._slot_seq)
  end
  w = self._drain_waiter
  if w and self.nconns == 0 then
    self._drain_waiter = nil
    core_unpark(w, self._drain_seq)
  end
end

--- Wait until fewer than max_connections are open.
local function wait_for_slot(self)
  while self.nconns >= self.max_connections and not self.stopping do
    self._slot_waiter, self._slot_seq = core_waiter()
    core_park(1, "httpd: connection limit")
  end
end

--- The accept loop: each connection goes to the queue, whose workers
-- serve it.
local function accept_loop(self)
  local sock, backoff = self.sock, 0.01
  while not self.stopping do
    wait_for_slot(self)
    if self.stopping then break end
    local client, addr, host, port = sock:accept()
    if client then
      backoff = 0.01
      self.nconns = self.nconns + 1
      connection.serve(self, client, port and host or addr, port)
    elseif addr == "closed" or self.stopping then
      break
    elseif EMFILE[addr] then
      core_sleep(backoff)
      backoff = backoff < 1 and backoff * 2 or 1
    elseif addr ~= "timeout" then
      log.write(self, "httpd: accept: " .. tostring(addr))
      core_sleep(0.01)
    end
  end
end

--- serve(): accept and serve until stop() (SIGTERM/SIGINT under the
-- host trigger it); returns once stopped and drained.  With workers = N
-- the process forks N workers sharing the port and supervises them.
function Server:serve()
  if self.stopping then return end   -- stopped before it began: nothing to serve
  if (self.workers or 0) > 0 and not self._worker then
    return require("eventlet.httpd.workers").supervise(self)
  end
  local eventlet = require "eventlet"
  if self.log and not self._worker then
    log.write(self, ("(%s) httpd starting up on %s"):format(getpid(), self:url()))
  end
  local hook = eventlet.on_exit(function() self:stop() end)
  -- made here, not with the server: the queue stays registered (its
  -- workers' function) until stop() closes it
  self.queue = core.http_queue(shortest_wait(self), connection.work, self)
  self._accepting = core.getcurrent()
  local ok, err = pcall(accept_loop, self)
  self._accepting = nil
  eventlet.cancel_on_exit(hook)
  if not ok then
    self:stop({grace = 0})
    error(err, 0)
  end
  -- The listener was closed under us (eventlet.wsgi style): drain as
  -- stop() does, so idle keep-alive connections do not outlive it.
  if not self.stopping then self:stop() end
  if self.stopping and not self.stopped then
    self._serve_waiter, self._serve_seq = core_waiter()
    core_park(nil, "httpd: stopping")
  end
end

--- start() -> self: serve() in a new green thread.
function Server:start()
  self._thread = core_spawn(self.serve, self)
  return self
end

--- Close the connections no worker is serving: those waiting in the
-- queue for a request, or dozing there.
local function close_waiting(self)
  local served = {}
  for _, slot in pairs(self.busy) do
    if slot.conn then served[slot.conn] = true end
  end
  for conn in pairs(self.conns) do
    if not served[conn] then
      conn.sock:close()
      self:_untrack(conn)
    end
  end
end

--- stop([{grace = s}]): stop accepting, close idle keep-alive
-- connections now, let in-flight requests finish (their responses say
-- Connection: close) for up to grace seconds, then kill what remains.
-- Returns when every connection is gone.
function Server:stop(opts)
  if self.stopped then return end
  if self.supervisor then return require("eventlet.httpd.workers").stop(self) end
  if self.stopping then          -- another stop() is draining: wait for it
    while not self.stopped do core_sleep(0.01) end
    return
  end
  local grace = opts and opts.grace or self.grace
  self.stopping = true
  self.sock:close()
  close_waiting(self)
  if self.queue then self.queue:close() end
  local w = self._slot_waiter
  if w then self._slot_waiter = nil core_unpark(w, self._slot_seq) end
  local me = core.getcurrent(true) -- a handler may stop its own server
  local mine = self.busy[me] and self.busy[me].conn and 1 or 0
  local deadline = core_now() + grace
  while self.nconns > mine and core_now() < deadline do
    self._drain_waiter, self._drain_seq = core_waiter()
    core_park(deadline - core_now(), "httpd: draining")
  end
  self._drain_waiter = nil
  local victims = {}   -- listed first: a kill yields, and workers come and go meanwhile
  for thread, slot in pairs(self.busy) do
    if slot.conn and thread ~= me then victims[thread] = slot.conn end
  end
  for thread, conn in pairs(victims) do
    conn.killed = true
    core.kill(thread)
  end
  while self.nconns > mine do core_sleep(0.001) end
  self.stopped = true
  if self.log and not self._worker then log.write(self, "httpd exiting") end
  w = self._serve_waiter
  if w then self._serve_waiter = nil core_unpark(w, self._serve_seq) end
end

--- serve(sock_or_addr, handler[, opts]): server(...):serve() in one call
-- (eventlet.wsgi.server style: blocks until stopped).
function _M.serve(sock_or_addr, handler, opts)
  local srv, err = _M.server(sock_or_addr, handler, opts)
  if not srv then error("httpd.serve: " .. tostring(err), 2) end
  return srv:serve()
end

return _M
