--- eventlet.api: the seed's 2007 names, as thin aliases over the modern
-- API.  See docs/eventlet-mapping.md for each name's modern equivalent.
local eventlet = require "eventlet"
local core = eventlet.core


local _M = {
  spawn = eventlet.spawn,
  sleep = eventlet.sleep,
  kill = eventlet.kill,
  getcurrent = eventlet.getcurrent,
  with_timeout = eventlet.with_timeout,
  get_hub = eventlet.get_hub,
  trampoline = core.trampoline,
  GreenletExit = core.GreenletExit,
  -- Python's `except api.TimeoutError` becomes `if api.is_timeout(err)`:
  -- TimeoutError is the Timeout constructor, is_timeout recognises both.
  TimeoutError = core.Timeout,
  is_timeout = core.is_timeout,
}

--- A timer object returned by call_after: cancel() stops it.
local Timer = {}
Timer.__index = Timer

--- Cancel the call if it has not happened yet; returns whether it was pending.
function Timer:cancel()
  return self.thread:cancel()
end

--- call_after(seconds, fn, ...) -> timer: run fn(...) in a new green thread
-- after the delay (modern: eventlet.spawn_after).
function _M.call_after(seconds, fn, ...)
  return setmetatable({thread = eventlet.spawn_after(seconds, fn, ...)}, Timer)
end

--- exc_after(seconds, err) -> Timeout: raise err in the calling thread at
-- its first wait after the delay, unless cancelled (modern: Timeout).
function _M.exc_after(seconds, err)
  return core.Timeout(seconds, err)
end

--- named(name) -> the value of a dotted module path ("eventlet.queue.Queue").
function _M.named(name)
  local mod, rest = name, {}
  while true do
    local ok, value = pcall(require, mod)
    if ok then
      for i = #rest, 1, -1 do
        value = value[rest[i]]
        if value == nil then error("named: no " .. name, 2) end
      end
      return value
    end
    local head, tail = mod:match("^(.*)%.([^.]+)$")
    if not head then error("named: cannot import " .. name, 2) end
    rest[#rest + 1] = tail
    mod = head
  end
end

--- spawn a function and return its first result through a timeout (the
-- seed's api.with_timeout accepted timeout_value; use with_timeout_value).
function _M.with_timeout_value(seconds, value, fn, ...)
  return eventlet.with_timeout_value(seconds, value, fn, ...)
end

-- Socket names of the seed (eventlet.net underneath).  An address is
-- {host, port} as in the seed's tuples, or any eventlet.net address.

--- Turn the seed's {host, port} tuple into an eventlet.net address.
local function seed_address(addr)
  if type(addr) == "table" and addr[2] ~= nil and addr.port == nil then
    return {host = addr[1], port = addr[2]}
  end
  return addr
end

--- tcp_listener(addr[, backlog]) -> listening socket | nil, err
-- (modern: eventlet.listen).
function _M.tcp_listener(addr, backlog)
  return eventlet.listen(seed_address(addr), {backlog = backlog or 50})
end

--- connect_tcp(addr[, localaddr]) -> connected socket | nil, err
-- (modern: eventlet.connect).
function _M.connect_tcp(addr, localaddr)
  return eventlet.connect(seed_address(addr), {["local"] = seed_address(localaddr)})
end

--- ssl_listener(addr, certificate, private_key) -> TLS listener | nil,
-- err: connections handshake in their own handler threads (modern:
-- eventlet.wrap_ssl(eventlet.listen(addr), {server = true, ...})).
function _M.ssl_listener(addr, certificate, private_key)
  local sock, err = eventlet.listen(seed_address(addr))
  if not sock then return nil, err end
  return eventlet.wrap_ssl(sock, {server = true, cert = certificate, key = private_key})
end

--- tcp_server(listener, server, ...): accept forever, running
-- server(conn, ...) in a green thread per connection; returns when the
-- listener is closed (modern: eventlet.serve).
function _M.tcp_server(listener, server, ...)
  local args = table.pack(...)
  return eventlet.serve(listener, function(conn)
    return server(conn, table.unpack(args, 1, args.n))
  end)
end

return _M
