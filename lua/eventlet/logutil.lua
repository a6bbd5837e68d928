--- eventlet.logutil: leveled logging for green-thread programs.
--
--   local logutil = require "eventlet.logutil"
--   logutil.configure{sink = "file:/var/log/app.log", format = "json", level = "info"}
--   local log = logutil.get("app")
--   log:info("listening on %s", addr)
--   log:event("warn", "slow request", {path = "/x", seconds = 2.5})
--
-- Every line carries the time, level, pid and green-thread name.  Named
-- loggers write through the root configuration unless given their own, so
-- one configure() redirects everything: the program's loggers, the access
-- log (access_logger) and the errors that end green threads (core.on_error).
-- Sinks are in eventlet.logsinks, formats in eventlet.logformat.
local core = require "eventlet.core"
local sinks = require "eventlet.logsinks"
local formats = require "eventlet.logformat"

local setmetatable = setmetatable
local select = select
local tostring = tostring
local type = type
local error = error
local pairs = pairs
local string_format = string.format
local core_time = core.time
local core_getpid = core.getpid
local core_getcurrent = core.getcurrent

local _M = {}

--- Level names and their order; "warning" is accepted for "warn".
local levels = {debug = 10, info = 20, warn = 30, error = 40}
_M.levels = levels
local aliases = {warning = "warn", err = "error"}

-- The level name for a name or alias; raises for unknown ones.
local function check_level(name, level)
  name = aliases[name] or name
  if not levels[name] then
    error("logutil: unknown level '" .. tostring(name) .. "' (debug, info, warn, error)", level or 3)
  end
  return name
end

-- The root configuration every logger falls back to.
local root = {}

-- Reset the root to its defaults: info and up, as text, to stderr.
local function defaults()
  root.level = "info"
  root.format_name = "text"
  root.format = formats.text
  root.sink = sinks.stderr()
  root.owned = false
end
defaults()

--- The label of a green thread: "main", "#3" or "#3 worker".
function _M.thread_label(gt)
  gt = gt or core_getcurrent(true)   -- a look: keeps no hold (a server worker stays pooled)
  local id = gt:id()
  if id == 0 then return "main" end
  local name = gt:name()
  return name and ("#" .. id .. " " .. name) or ("#" .. id)
end

--------------------------------------------------------------------------
-- Loggers

local Logger = {__name = "eventlet.logutil.Logger"}
Logger.__index = Logger
Logger.__tostring = function(self)
  return "Logger (" .. (self.name or (self == _M.root and "root") or "unnamed") .. ")"
end

local loggers = {}   -- name -> Logger

--- get([name]) -> the logger of that name (created on first use); without
-- a name, the root logger.
function _M.get(name)
  if name == nil then return _M.root end
  local log = loggers[name]
  if not log then
    log = setmetatable({name = name}, Logger)
    loggers[name] = log
  end
  return log
end

--- The level this logger writes from (its own, else the root's).
function Logger:level()
  return self.own_level or root.level
end

--- Whether a message at `level` would be written.
function Logger:enabled(level)
  return levels[check_level(level)] >= levels[self.own_level or root.level]
end

--- Give this logger settings of its own: {level=, format=, sink=}; nil
-- values fall back to the root's (a named logger only).
function Logger:configure(opts)
  if self == _M.root then return _M.configure(opts) end
  local sink = opts.sink and sinks.resolve(opts.sink)
  if self.own_owned and self.own_sink ~= sink then self.own_sink:close() end
  self.own_level = opts.level and check_level(opts.level)
  self.own_format = opts.format and formats.get(opts.format)
  self.own_sink, self.own_owned = sink, sink ~= nil and sink ~= opts.sink
  return self
end

-- The format function in force for this logger.
function Logger:formatter()
  if self.own_format then return self.own_format end
  if root.format_name == "text" and self.text_format then return self.text_format end
  return root.format
end

--- event(level, msg[, fields]): write one record with extra fields (keys
-- in JSON, k=v in text).
function Logger:event(level, msg, fields)
  level = check_level(level)
  if levels[level] < levels[self.own_level or root.level] then return end
  local record = {time = core_time(), level = level, pid = core_getpid(),
                  thread = _M.thread_label(), logger = self.name,
                  msg = tostring(msg), fields = fields}
  local sink = self.own_sink or root.sink
  sink:write(self:formatter()(record), record)
end

--- log(level, fmt, ...): string.format(fmt, ...) at that level (fmt is
-- written as is when there are no arguments).
function Logger:log(level, fmt, ...)
  level = check_level(level)
  if levels[level] < levels[self.own_level or root.level] then return end
  local msg = select("#", ...) > 0 and string_format(fmt, ...) or fmt
  return self:event(level, msg)
end

for name in pairs(levels) do
  Logger[name] = function(self, fmt, ...) return self:log(name, fmt, ...) end
end
Logger.warning = Logger.warn

_M.root = setmetatable({}, Logger)

--------------------------------------------------------------------------
-- The root configuration and the core's error reports

-- core.on_error reporter: errors that end green threads go to the
-- "eventlet" logger (unless eventlet.debug.hub_exceptions(false)).
local function report_thread_error(gt, _err, traceback)
  if not core.print_errors() then return end
  _M.get("eventlet"):event("error", "green thread " .. _M.thread_label(gt) ..
    " died: " .. tostring(traceback))
end

--- configure{level=, format=, sink=, errors=} -> the root logger.
-- level: "debug"|"info"|"warn"|"error"; format: "text"|"json"|fn(record);
-- sink: see eventlet.logsinks.resolve ("stderr", "syslog", "file:/path",
-- a sink, a function, an array for a tee); errors (default true): report
-- errors that end green threads through the "eventlet" logger.
function _M.configure(opts)
  opts = opts or {}
  if opts.level then root.level = check_level(opts.level) end
  if opts.format then
    root.format = formats.get(opts.format)
    root.format_name = type(opts.format) == "string" and opts.format or "custom"
  end
  if opts.sink then
    local sink = sinks.resolve(opts.sink)
    if root.owned and root.sink ~= sink then root.sink:close() end
    root.sink = sink
    root.owned = sink ~= opts.sink   -- opened here from a spec, not given
  end
  core.on_error(opts.errors ~= false and report_thread_error or nil)
  return _M.root
end

--- reset(): back to the defaults (info, text, stderr; the core prints its
-- own errors); closes the sinks logutil opened itself.
function _M.reset()
  if root.owned then root.sink:close() end
  for _, log in pairs(loggers) do
    if log.own_owned then log.own_sink:close() end
    log.own_sink, log.own_owned, log.own_level, log.own_format = nil, nil, nil, nil
  end
  defaults()
  core.on_error(nil)
end

--- file_logger(path) -> logger, sink: the seed's name; a logger of its own
-- (not the root's settings) appending to path.  Raises if path cannot open.
function _M.file_logger(path)
  local sink = sinks.resolve("file:" .. path)
  return setmetatable({own_sink = sink}, Logger), sink
end

--- stream_logger(stream) -> logger, sink: the seed's name; a logger of its
-- own writing lines to a file-like stream (anything with :write).
function _M.stream_logger(stream)
  local sink = sinks.resolve(function(line) stream:write(line, "\n") end)
  return setmetatable({own_sink = sink}, Logger), sink
end

--- reopen() -> failures, last_err: reopen every file sink (what SIGHUP does).
_M.reopen = sinks.reopen_files

for name in pairs(levels) do
  _M[name] = function(fmt, ...) return _M.root:log(name, fmt, ...) end
end

--------------------------------------------------------------------------
-- Access log

--- access_logger([opts]) -> the logger "access" (or opts.name) set up for
-- request lines: Combined Log Format in text mode, a JSON object per
-- request in JSON mode; it writes where the root writes unless opts give
-- it a sink/format/level of its own.  Call log:access{remote=, user=,
-- method=, target=, version=, status=, bytes=, referer=, agent=, duration=}.
function _M.access_logger(opts)
  opts = opts or {}
  local log = _M.get(opts.name or "access")
  log.text_format = formats.access
  if opts.sink or opts.format or opts.level then log:configure(opts) end
  return log
end

--- access(fields): one request at level info (see access_logger).
function Logger:access(fields)
  local msg = fields.method and
    string_format("%s %s %s", fields.method, tostring(fields.target), tostring(fields.status))
    or tostring(fields.status)
  return self:event("info", msg, fields)
end

--------------------------------------------------------------------------
-- LineLogger: a file-like object whose writes become log lines.

local LineLogger = {__name = "eventlet.logutil.LineLogger"}
LineLogger.__index = LineLogger
LineLogger.__tostring = function(self) return "LineLogger (" .. tostring(self.logger) .. ")" end

-- A logger-shaped wrapper of the seed's emit(line) function.
local function emitter(emit)
  return {event = function(_, _, line) emit(line) end}
end

--- LineLogger([logger[, level]]) -> an object with :write(...), :flush()
-- and :close() that logs every complete line written to it (a partial
-- line waits for its newline or flush).  For output of code that expects
-- a file (io.write-style callers, child process output).  As in the seed,
-- LineLogger(emit) calls emit(line) for each line instead.
function _M.LineLogger(logger, level)
  if type(logger) == "function" then logger = emitter(logger) end
  return setmetatable({logger = logger or _M.root, level = check_level(level or "info"),
                       buf = ""}, LineLogger)
end

--- Buffer the arguments and log each complete line.  Returns self.
function LineLogger:write(...)
  local buf = self.buf
  for i = 1, select("#", ...) do buf = buf .. tostring((select(i, ...))) end
  for line in buf:gmatch("([^\n]*)\n") do self.logger:event(self.level, (line:gsub("\r$", ""))) end
  self.buf = buf:match("[^\n]*$")
  return self
end

--- Log the partial line left, if any.
function LineLogger:flush()
  if self.buf ~= "" then
    self.logger:event(self.level, self.buf)
    self.buf = ""
  end
  return true
end

LineLogger.close = LineLogger.flush
LineLogger.__close = LineLogger.flush

return _M
