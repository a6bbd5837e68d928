--- eventlet.backdoor: a live Lua REPL into the running program, over TCP
-- (loopback unless allow_remote) or a Unix socket (mode 0600).
--
--   local backdoor = require "eventlet.backdoor"
--   local server = backdoor.listen("127.0.0.1:9000", {token = "s3cret"})
--   ...                      -- nc 127.0.0.1 9000, or eventlet-lua --attach
--   server:close()
--
-- Every connection is a green thread running an eventlet.repl session:
-- its output (results, errors, print/io.write of the code it runs) goes to
-- that client only, and the program keeps running while sessions sit idle.
local core = require "eventlet.core"
local repl = require "eventlet.repl"
local conn_mod = require "eventlet.backdoor_conn"

local error = error
local os_remove = os.remove
local pairs = pairs
local pcall = pcall
local setmetatable = setmetatable
local tostring = tostring
local type = type

local _M = {}

local Server = {}
Server.__index = Server

local DEFAULTS = {
  max_line = 65536,        -- longest input line; longer ones are dropped
  output_limit = 262144,   -- buffered output before writers wait
  output_timeout = 10,     -- seconds a client may take no output
  token_timeout = 10,      -- seconds to send the token
  max_sessions = 16,
}

-- Split an address into family, host, port (or "unix", path).
local function parse_addr(addr)
  if type(addr) == "number" then return "inet", "127.0.0.1", addr end
  if type(addr) == "table" then
    local host = addr.host or "127.0.0.1"
    return host:find(":", 1, true) and "inet6" or "inet", host, addr.port
  end
  if type(addr) ~= "string" then error("backdoor.listen: bad address " .. tostring(addr), 3) end
  if addr:sub(1, 5) == "unix:" then return "unix", addr:sub(6) end
  local host, port = addr:match("^%[(.-)%]:(%d+)$")
  if host then return "inet6", host, tonumber(port) end
  host, port = addr:match("^(.*):(%d+)$")
  if not host and addr:match("^%d+$") then host, port = "", addr end
  if not host then error("backdoor.listen: bad address " .. addr, 3) end
  if host == "" or host == "localhost" then host = "127.0.0.1" end
  return host:find(":", 1, true) and "inet6" or "inet", host, tonumber(port)
end
_M.parse_addr = parse_addr

-- Whether a numeric host is a loopback address.
local function is_loopback(host)
  return host:match("^127%.") ~= nil or host == "::1" or host:match("^::ffff:127%.") ~= nil
end

-- Bind a Unix socket private from birth; replace a stale socket file.
local function bind_unix(sock, path)
  local old = core.umask(tonumber("177", 8))
  local ok, err = sock:bind(path)
  core.umask(old)
  if ok or err ~= "address already in use" then return ok, err end
  local probe = core.socket("unix")
  local live = probe:connect(path)
  probe:close()
  if live then return nil, err end
  os_remove(path)
  return bind_unix(sock, path)
end

-- Create the listening socket.  Returns sock, address string | nil, err.
local function bind_listen(addr, opts)
  local family, host, port = parse_addr(addr)
  if family ~= "unix" and not is_loopback(host) and not opts.allow_remote then
    return nil, "refusing to bind the backdoor to non-loopback " .. host
                .. " (pass allow_remote = true)"
  end
  local sock, err = core.socket(family, "stream")
  if not sock then return nil, err end
  local ok
  if family == "unix" then
    ok, err = bind_unix(sock, host)
  else
    sock:setoption("reuseaddr", true)
    ok, err = sock:bind(host, port)
  end
  if ok then ok, err = sock:listen(16) end
  if not ok then
    sock:close()
    return nil, err
  end
  if family == "unix" then return sock, "unix:" .. host end
  local h, p = sock:getsockname()
  return sock, (family == "inet6" and ("[" .. h .. "]:" .. p) or (h .. ":" .. p))
end

-- The banner a client sees first.
local function banner(opts)
  local program = (type(arg) == "table" and arg[0]) or "lua"
  local text = ("eventlet-lua %s backdoor: %s (pid %d), %s\n"
                .. "help() lists the commands; exit() or Ctrl-D ends the session.\n")
    :format(core.version, tostring(program), core.getpid(), _VERSION)
  if opts.banner then text = text .. tostring(opts.banner) .. "\n" end
  return text
end

-- Compare two strings in time independent of where they differ.
local function same_secret(a, b)
  if type(a) ~= "string" or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = diff | (a:byte(i) ~ b:byte(i)) end
  return diff == 0
end

-- Read the token line; false (and a message) when it is wrong or late.
local function check_token(conn, token, timeout)
  local line = conn:take(timeout)
  if same_secret(line, token) then return true end
  conn:write("backdoor: wrong token\n")
  return false
end

-- The line source of a session: prompt, take a line, recognise the
-- attach client's hello (a Lua comment to anyone else) and the reader's
-- markers.
local function line_source(conn, session, text)
  return function(prompt)
    conn:prompt(prompt)
    local line = conn:take()
    if line == conn_mod.HELLO and not conn.framed then
      conn:attach_mode()
      conn:write(text)
      conn:prompt(prompt)
      line = conn:take()
    end
    if line == conn_mod.EOF or line == nil then return nil end
    if line == conn_mod.TOOLONG then
      session:out(("backdoor: line longer than %d bytes dropped\n"):format(conn.max_line))
      return false
    end
    return line
  end
end

-- Run a REPL session on a connection until it ends.
local function run_session(self, conn, peer)
  local opts = self.opts
  local session = repl.session({
    write = function(s) conn:write(s) end, env = opts.env,
    chunkname = "=backdoor", name = "backdoor " .. peer, eval_name = "backdoor eval " .. peer,
  })
  conn.on_interrupt = function()
    if session.running then session:interrupt() else conn:push(false) end
  end
  conn.on_abort = function() session:close() end
  local text = banner(opts)
  session:out(text)
  local ok, err = pcall(session.run, session, line_source(conn, session, text))
  session:close()
  if not ok then error(err, 0) end
end

-- Body of a connection's green thread: token, session, and the socket
-- closed and helpers gone however it ends (even killed).
local function serve_client(self, sock, peer)
  local opts = self.opts
  local conn = conn_mod.new(sock, {
    name = peer, max_line = opts.max_line,
    output_limit = opts.output_limit, output_timeout = opts.output_timeout,
  })
  self.conns[conn] = true
  conn:start()
  local ok, err = true, nil
  if self.nsessions >= opts.max_sessions then
    conn:write("backdoor: too many sessions\n")
  elseif not opts.token or check_token(conn, opts.token, opts.token_timeout) then
    self.nsessions = self.nsessions + 1
    ok, err = pcall(run_session, self, conn, peer)
    self.nsessions = self.nsessions - 1
  end
  if not ok then conn:abort("session failed") end
  conn:finish()
  self.conns[conn] = nil
  if not ok then error(err, 0) end
end

-- Whether the program has nothing left but this server (daemon mode).
local function alone(self)
  local s = core.stats()
  return s.live <= 1 and next(self.conns) == nil and s.watchers <= 1
end

-- Body of the accept thread.
local function accept_loop(self)
  while not self.closed do
    local sock, peer = self.sock:accept()
    if sock then
      local gt = core.spawn(serve_client, self, sock, peer)
      gt:name("backdoor session " .. peer)
    elseif peer == "timeout" then
      if self.opts.daemon and alone(self) then break end
    elseif peer == "closed" then
      break
    else
      core.sleep(0.1)  -- EMFILE and friends: back off, do not spin
    end
  end
  self:close()
end

--- Start a backdoor server.
-- @param addr "host:port", "[v6]:port", a port number, {host=, port=} or
--   "unix:/path"
-- @param opts optional: token (first line must be it), env (table the
--   sessions read globals from, default _G), banner (extra text),
--   allow_remote (bind non-loopback), daemon (the server alone does not
--   keep the program running), max_line, output_limit, output_timeout,
--   token_timeout, max_sessions
-- @return server, or nil, err
-- The options with their defaults filled in.
local function options(opts)
  local o = {}
  for k, v in pairs(DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- A server record around a listening socket (nil for a lone connection).
local function new_server(sock, where, o)
  return setmetatable({sock = sock, addr = where, opts = o, conns = {},
                       nsessions = 0, closed = false}, Server)
end

function _M.listen(addr, opts)
  local o = options(opts)
  local sock, where = bind_listen(addr, o)
  if not sock then return nil, where end
  local self = new_server(sock, where, o)
  if o.daemon then sock:settimeout(1) end
  self.thread = core.spawn(accept_loop, self)
  self.thread:name("backdoor listener " .. where)
  core.lag_monitor()
  return self
end

--- eventlet's backdoor_server(sock[, locals]): serve sessions on a socket
-- that is already listening, in the calling thread, until it is closed.
-- (No loopback check: the caller chose the socket.)
function _M.backdoor_server(sock, env)
  local host, port = sock:getsockname()
  local self = new_server(sock, port and (host .. ":" .. port) or tostring(host), options({env = env}))
  self.thread = core.getcurrent()
  accept_loop(self)
end

--- eventlet's backdoor(conn[, addr[, locals]]) (also the 2007 form
-- backdoor({conn, addr}, locals)): run one session on a connected socket,
-- in the calling thread -- a handler for eventlet.serve.
function _M.backdoor(conn, addr, env)
  if type(conn) == "table" then
    conn, addr, env = conn[1], conn[2], addr
  end
  if type(addr) == "table" then addr, env = nil, addr end
  local self = new_server(nil, "connection", options({env = env}))
  serve_client(self, conn, tostring(addr or "client"))
end

--- Stop listening and end every open session.
function Server:close()
  if self.closed then return end
  self.closed = true
  self.sock:close()
  if self.addr:sub(1, 5) == "unix:" then os_remove(self.addr:sub(6)) end
  for conn in pairs(self.conns) do conn:abort("server closed") end
end

--- The address it listens on ("127.0.0.1:9000", "unix:/path").
function Server:getaddress()
  return self.addr
end

--- Start the backdoor of `eventlet-lua --backdoor ADDR`: a daemon
-- server (it does not keep the program alive by itself, only its open
-- sessions do), token from EVENTLET_BACKDOOR_TOKEN, address on stderr.
-- Returns the server, or nil and a message for the host to print.
function _M.host_start(addr)
  local token = os.getenv("EVENTLET_BACKDOOR_TOKEN")
  if token then core.unsetenv("EVENTLET_BACKDOOR_TOKEN") end  -- children must not inherit it
  local ok, server, err = pcall(_M.listen, addr, {daemon = true, token = token ~= "" and token or nil})
  if not ok then return nil, "backdoor: " .. tostring(server):gsub("^.-backdoor%.listen: ", "") end
  if not server then return nil, "backdoor: " .. err .. " (" .. tostring(addr) .. ")" end
  io.stderr:write("eventlet-lua: backdoor listening on ", server.addr, "\n")
  return server
end

Server.__tostring = function(self) return "backdoor server (" .. self.addr .. ")" end
Server.__close = Server.close
Server.__name = "eventlet.backdoor.Server"

return _M
