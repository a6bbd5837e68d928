--- eventlet.repl_output: where the output of REPL code goes.
--
-- Each session gets an environment whose print, io.write, io.stdout and
-- io.stderr write to the session; functions typed at the prompt capture
-- that environment, so they keep writing to their session from any green
-- thread that later runs them.  Code of the program called from a session
-- uses the real globals: while at least one session exists, the global
-- print and io.write look up the running green thread in a weak table of
-- bindings (the evaluation's thread, and the threads it spawns through the
-- session's `eventlet`) and fall back to the originals.
local core = require "eventlet.core"

local getcurrent = core.getcurrent
local next = next
local pairs = pairs
local rawget = rawget
local rawset = rawset
local select = select
local setmetatable = setmetatable
local table_concat = table.concat
local tostring = tostring
local type = type

local _M = {}

local bound = setmetatable({}, {__mode = "k"})   -- GreenThread -> session
local sessions = setmetatable({}, {__mode = "k"}) -- live sessions
local original = {print = print, write = io.write}
local dispatching = false

-- The session the running green thread writes to, if any.
local function current_session()
  local s = bound[getcurrent(true)]
  if s and not s.closed then return s end
  return nil
end
_M.current_session = current_session

-- print that follows the running thread's binding.
local function global_print(...)
  local s = current_session()
  if s then return s:print(...) end
  return original.print(...)
end

-- Write values the way io.write does, to a session.
local function session_write(s, ...)
  local n = select("#", ...)
  local parts = {...}
  for i = 1, n do
    local v = parts[i]
    if type(v) == "number" then v = tostring(v)
    elseif type(v) ~= "string" then
      error("bad argument #" .. i .. " to 'write' (string expected, got " .. type(v) .. ")", 3)
    end
    parts[i] = v
  end
  s:out(table_concat(parts, "", 1, n))
end

-- A file-like object writing to a session (io.stdout/io.stderr there).
local function session_file(s, name)
  local f = {}
  function f.write(self, ...)
    session_write(s, ...)
    return self
  end
  function f.flush(self) return self end
  function f.setvbuf() return true end
  function f.close() return nil, "cannot close the session's " .. name end
  function f.lines() error("the session's " .. name .. " is not readable", 2) end
  function f.read() return nil, "the session's " .. name .. " is not readable" end
  function f.seek() return nil, "cannot seek the session's " .. name end
  return setmetatable(f, {__name = "eventlet.repl.file", __tostring = function()
    return "file (session " .. name .. ")"
  end})
end

-- io.write that follows the running thread's binding.
local function global_write(...)
  local s = current_session()
  if s then
    session_write(s, ...)
    return s.stdout
  end
  return original.write(...)
end

-- Route the global print/io.write through the bindings (once).
local function dispatch()
  if dispatching then return end
  dispatching = true
  original.print, original.write = print, io.write
  rawset(_G, "print", global_print)
  rawset(io, "write", global_write)
end

-- Undo dispatch() once no session is left, unless the program replaced
-- the globals itself in the meantime.
local function undispatch()
  if not dispatching or next(sessions) ~= nil then return end
  dispatching = false
  if rawget(_G, "print") == global_print then rawset(_G, "print", original.print) end
  if io.write == global_write then rawset(io, "write", original.write) end
end

--- Bind a green thread's output to a session.
function _M.bind(gt, session)
  bound[gt] = session
end

--- Forget a session: its threads' output goes back to the program.
function _M.unbind_session(session)
  for gt, s in pairs(bound) do
    if s == session then bound[gt] = nil end
  end
  sessions[session] = nil
  undispatch()
end

-- The `eventlet` module as seen from a session: spawns bind the child.
local function session_eventlet(session)
  local eventlet = require "eventlet"
  local proxy = {}
  local function binding(spawner)
    return function(...)
      local gt = spawner(...)
      bound[gt] = session
      return gt
    end
  end
  proxy.spawn = binding(eventlet.spawn)
  proxy.spawn_n = binding(eventlet.spawn_n)
  proxy.spawn_after = binding(eventlet.spawn_after)
  return setmetatable(proxy, {__index = eventlet})
end

--- Build a session's environment: reads fall through to `base`,
-- assignments stay in the session; print/io/eventlet/require are the
-- session's own.
function _M.environment(session, base)
  sessions[session] = true
  dispatch()
  session.stdout = session_file(session, "stdout")
  local env = {}
  env.print = function(...) return session:print(...) end
  env.io = setmetatable({
    write = function(...) session_write(session, ...) return session.stdout end,
    stdout = session.stdout,
    stderr = session_file(session, "stderr"),
    output = function(f) if f == nil then return session.stdout end return io.output(f) end,
  }, {__index = io})
  env.eventlet = session_eventlet(session)
  env.require = function(name)
    if name == "eventlet" then return env.eventlet end
    return require(name)
  end
  return setmetatable(env, {__index = base})
end

return _M
