--- eventlet.debug: seeing what a green-thread program does.
--
--   local debug = require "eventlet.debug"
--   debug.spew{trace_names = {"myapp"}, show_values = true}   -- line tracer
--   debug.unspew()
--   print(debug.format_hub_listeners())   -- threads waiting on descriptors
--   print(debug.format_hub_timers())      -- threads waiting on a deadline
--   debug.hub_exceptions(false)           -- stop reporting thread errors
--   debug.switch("hub_listener_stacks", true)   -- any registered switch
--
-- Switches are named settings that other modules register here with
-- define_switch (the watchdog, error printing, ...), so one place lists and
-- sets them: switches(), switch(name[, value]) and EVENTLET_DEBUG="a=1,b=0"
-- in the environment, applied when this module loads.
local core = require "eventlet.core"

local io_open = io.open
local io_stderr = io.stderr
local os_getenv = os.getenv
local debug_getinfo = debug.getinfo
local debug_getlocal = debug.getlocal
local string_format = string.format
local table_concat = table.concat
local table_sort = table.sort
local tostring = tostring
local type = type
local ipairs = ipairs
local pairs = pairs
local error = error
local tonumber = tonumber

local _M = {}

--------------------------------------------------------------------------
-- Switches

local switches = {}   -- name -> {get_set = fn(value?) -> value, doc = string}

--- define_switch(name, fn, doc): register a switch; fn(value) sets it when
-- value is not nil and returns the current value either way.
function _M.define_switch(name, fn, doc)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("define_switch(name, fn[, doc]) expected", 2)
  end
  switches[name] = {get_set = fn, doc = doc or ""}
end

--- switch(name[, value]) -> the switch's value, after setting it if given.
function _M.switch(name, value)
  local s = switches[name]
  if not s then error("eventlet.debug: unknown switch '" .. tostring(name) .. "'", 2) end
  return s.get_set(value)
end

--- switches() -> array of {name, value, doc}, sorted by name.
function _M.switches()
  local list = {}
  for name, s in pairs(switches) do
    list[#list + 1] = {name = name, value = s.get_set(nil), doc = s.doc}
  end
  table_sort(list, function(a, b) return a.name < b.name end)
  return list
end

--- hub_exceptions([bool]) -> bool: report errors that end green threads
-- (to stderr, or through eventlet.logutil once it is configured).
function _M.hub_exceptions(on)
  if on == nil then return core.print_errors() end
  return core.print_errors(on and true or false)
end
_M.define_switch("hub_exceptions", _M.hub_exceptions,
  "report errors that end green threads (default on)")

local stacks = {listeners = false, timers = false}

--- hub_listener_stacks([bool]) -> bool: show where each listener was
-- armed (its thread's traceback) in format_hub_listeners().
function _M.hub_listener_stacks(on)
  if on ~= nil then stacks.listeners = on and true or false end
  return stacks.listeners
end
_M.define_switch("hub_listener_stacks", _M.hub_listener_stacks,
  "tracebacks in format_hub_listeners()")

--- hub_timer_stacks([bool]) -> bool: the same for format_hub_timers().
function _M.hub_timer_stacks(on)
  if on ~= nil then stacks.timers = on and true or false end
  return stacks.timers
end
_M.define_switch("hub_timer_stacks", _M.hub_timer_stacks,
  "tracebacks in format_hub_timers()")

-- The blocking watchdog (core.watchdog, when the core has it): the switch's
-- value is its threshold in seconds, false when off; true means 1 second.
if core.watchdog then
  _M.define_switch("watchdog", function(seconds)
    if seconds == true then seconds = 1 end
    if seconds ~= nil then core.watchdog(seconds) end
    local state = core.watchdog()
    return state and state.threshold or false
  end, "report green threads that run this many seconds without yielding (false: off)")
end

--- hub_blocking_detection([on[, resolution]]) -> bool: the seed's name for
-- the watchdog in its raising mode: a green thread that runs `resolution`
-- seconds (default 1) without yielding gets an error raised inside it.
-- For debugging, not production.  Needs core.watchdog.
function _M.hub_blocking_detection(on, resolution)
  if not core.watchdog then error("hub_blocking_detection: the core has no watchdog", 2) end
  if on ~= nil then
    if on then core.watchdog(resolution or 1, {raise = true}) else core.watchdog(false) end
  end
  return core.watchdog() ~= false
end

-- [backdoor, issue 8] Loop lag (core.lag_monitor / core.lag_stats, see
-- docs/backdoor.md): the switch's value is the sampling interval in
-- seconds, false when off; loop_lag() returns the figures hub() shows.
if core.lag_monitor then
  _M.define_switch("loop_lag", function(seconds)
    if seconds == true then seconds = 0.5 end
    if seconds ~= nil then core.lag_monitor(seconds) end
    local stats = core.lag_stats()
    return stats.on and stats.interval or false
  end, "sample loop lag every this many seconds (false: off); debug.loop_lag() reads it")

  --- loop_lag() -> {on, interval, samples, last, mean, max, switches_per_s}.
  function _M.loop_lag() return core.lag_stats() end
end

-- The value of a switch written in EVENTLET_DEBUG: 1/0, true/false, on/off,
-- a number, or the string itself.
local function parse_value(text)
  if text == "1" or text == "true" or text == "on" or text == "" then return true end
  if text == "0" or text == "false" or text == "off" then return false end
  return tonumber(text) or text
end

--- apply_env([text]): set switches from "name=value,name" (default: the
-- EVENTLET_DEBUG variable); unknown names are reported, not fatal.
function _M.apply_env(text)
  text = text or os_getenv("EVENTLET_DEBUG")
  if not text then return end
  for item in text:gmatch("[^,%s]+") do
    local name, value = item:match("^([^=]+)=?(.*)$")
    if switches[name] then
      switches[name].get_set(parse_value(value))
    else
      io_stderr:write("eventlet.debug: EVENTLET_DEBUG names no switch '", name, "'\n")
    end
  end
end

--------------------------------------------------------------------------
-- What the hub watches

-- The label of a thread info from core.threads().
local function label(info)
  return info.name and ("#" .. info.id .. " " .. info.name) or ("#" .. info.id)
end

-- Indent a traceback under its entry.
local function indent(text)
  return "      " .. text:gsub("\n", "\n      ")
end

-- Lines for the threads `keep` selects, each by `describe`, sorted by `order`.
local function format_threads(title, keep, describe, order, with_stacks)
  local infos = {}
  for _, info in ipairs(core.threads()) do
    if keep(info) then infos[#infos + 1] = info end
  end
  table_sort(infos, order)
  local lines = {string_format("%s (%d, backend %s):", title, #infos, core.backend())}
  for _, info in ipairs(infos) do
    lines[#lines + 1] = "  " .. describe(info)
    if with_stacks then
      lines[#lines + 1] = indent(core.traceback(info.thread, "armed at:"))
    end
  end
  return table_concat(lines, "\n")
end

--- format_hub_listeners() -> text: every green thread waiting on a file
-- descriptor -- fd, thread, what it waits on and the time left on its
-- timeout -- with tracebacks when hub_listener_stacks(true).
function _M.format_hub_listeners()
  return format_threads("Hub listeners",
    function(info) return info.fd ~= nil end,
    function(info)
      return string_format("fd %d  %s  waiting on %s%s", info.fd, label(info), info.waiting,
        info.timer and string_format("  timeout in %.3fs", info.timer) or "")
    end,
    function(a, b) return a.fd < b.fd or (a.fd == b.fd and a.id < b.id) end,
    stacks.listeners)
end

--- format_hub_timers() -> text: every green thread waiting on a deadline
-- (sleep, a wait with a timeout, spawn_after), soonest first, with
-- tracebacks when hub_timer_stacks(true).
function _M.format_hub_timers()
  return format_threads("Hub timers",
    function(info) return info.timer ~= nil end,
    function(info)
      return string_format("in %.3fs  %s  %s", info.timer, label(info),
        info.state == "new" and "spawn_after" or ("waiting on " .. tostring(info.waiting)))
    end,
    function(a, b) return a.timer < b.timer or (a.timer == b.timer and a.id < b.id) end,
    stacks.timers)
end

--------------------------------------------------------------------------
-- spew: a line tracer over every green thread

local source_cache = {}   -- file name -> array of lines (false: unreadable)

-- The text of a source line, when the file can be read.
local function source_line(src, line)
  local lines = source_cache[src]
  if lines == nil then
    lines = false
    local f = src:sub(1, 1) == "@" and io_open(src:sub(2), "r")
    if f then
      lines = {}
      for l in f:lines() do lines[#lines + 1] = l end
      f:close()
    end
    source_cache[src] = lines
  end
  return lines and lines[line] or ""
end

-- Whether a chunk source matches the filter: each entry is a Lua pattern
-- over the source, or a dotted module name ("myapp.db" = myapp/db.lua).
local function matcher(names)
  if names == nil then return function() return true end end
  if type(names) == "string" then names = {names} end
  local paths = {}
  for i, n in ipairs(names) do paths[i] = "/" .. n:gsub("%.", "/") end
  return function(src)
    for i, n in ipairs(names) do
      if src:find(n) or src:find(paths[i] .. ".lua", 1, true) or
         src:find(paths[i] .. "/init.lua", 1, true) then
        return true
      end
    end
    return false
  end
end

-- Render the locals of the traced function (level 3 from the printer).
local function locals_text(level)
  local parts = {}
  for i = 1, 200 do
    local name, value = debug_getlocal(level, i)
    if not name then break end
    if name:sub(1, 1) ~= "(" then
      local v = type(value) == "string" and string_format("%q", value) or tostring(value)
      if #v > 60 then v = v:sub(1, 57) .. "..." end
      parts[#parts + 1] = name .. "=" .. v
    end
  end
  return table_concat(parts, " ")
end

--- spew([opts]): print every line executed by every green thread as
-- "file:line: source" -- opts.trace_names (a pattern, module name or list
-- of them) limits it to matching sources, opts.show_values adds the
-- function's locals, opts.out is where to write (default io.stderr).
-- unspew() stops it.  Slow: for debugging only.
function _M.spew(opts)
  opts = opts or {}
  local wanted = matcher(opts.trace_names)
  local out = opts.out or io_stderr
  local show_values = opts.show_values
  local verdict = {}   -- source -> bool
  core.trace(function(_, line)
    local info = debug_getinfo(2, "S")
    local src = info.source
    local ok = verdict[src]
    if ok == nil then ok = wanted(src); verdict[src] = ok end
    if not ok then return end
    out:write(info.short_src, ":", line, ": ", source_line(src, line), "\n")
    if show_values then
      local vals = locals_text(3)
      if vals ~= "" then out:write("\t", vals, "\n") end
    end
  end)
end

--- unspew(): stop the tracer.
function _M.unspew()
  core.trace(nil)
end

_M.apply_env()

return _M
