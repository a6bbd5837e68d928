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
  TimeoutError = "timeout",
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


return _M
