--- eventlet.logsinks: where eventlet.logutil's lines go.
-- A sink has :write(line, record), :reopen() and :close().
--   stderr()                      the process's stderr
--   file(path)                    appended to, line-buffered; reopened on SIGHUP
--   syslog{ident, facility, socket}  syslog(3), or RFC 3164 datagrams to a socket
--   tee(a, b, ...)                every line to each of them
--   fn                            a function(line, record) is a sink too
local core = require "eventlet.core"

local io_open = io.open
local io_stderr = io.stderr
local setmetatable = setmetatable
local tostring = tostring
local type = type
local ipairs = ipairs
local error = error
local getmetatable = getmetatable
local pairs = pairs

local _M = {}

-- A method that does nothing (reopen/close of sinks without a resource).
local function nothing() return true end

--------------------------------------------------------------------------
-- Files, and SIGHUP: one handler reopens every open file sink, so logrotate
-- can rename a log and signal the process (armed while a file sink is open).

local open_files = {}   -- FileSink -> true
local open_count = 0
local hup_handler

-- Reopen every open file sink; returns how many failed and the last error.
function _M.reopen_files()
  local failed, last = 0, nil
  for sink in pairs(open_files) do
    local ok, err = sink:reopen()
    if not ok then failed, last = failed + 1, err end
  end
  return failed, last
end

-- Track an open file sink; arm the SIGHUP handler with the first one.
local function track(sink)
  open_files[sink] = true
  open_count = open_count + 1
  if not hup_handler then
    hup_handler = core.signal("SIGHUP", function() _M.reopen_files() end)
  end
end

-- Forget a closed file sink; disarm the handler with the last one.
local function untrack(sink)
  if not open_files[sink] then return end
  open_files[sink] = nil
  open_count = open_count - 1
  if open_count == 0 and hup_handler then
    hup_handler:cancel()
    hup_handler = nil
  end
end

local FileSink = {__name = "eventlet.logsinks.FileSink"}
FileSink.__index = FileSink

-- Open path for appending, flushed at every line.
local function open_append(path)
  local f, err = io_open(path, "a")
  if not f then return nil, err end
  f:setvbuf("line")
  return f
end

--- file(path) -> sink | nil, err: lines appended to path; reopened (a new
-- file at that path) on SIGHUP or sink:reopen().
function _M.file(path)
  if type(path) ~= "string" then error("logsinks.file: path expected", 2) end
  local f, err = open_append(path)
  if not f then return nil, err end
  local sink = setmetatable({path = path, file = f}, FileSink)
  track(sink)
  return sink
end

--- Append one line.
function FileSink:write(line)
  if self.file then self.file:write(line, "\n") end
end

--- Reopen the path (after a rotation); keeps the old file on failure.
function FileSink:reopen()
  if not self.file then return nil, "closed" end
  local f, err = open_append(self.path)
  if not f then return nil, err end
  self.file:close()
  self.file = f
  return true
end

--- Close the file; later writes are dropped.
function FileSink:close()
  untrack(self)
  if self.file then self.file:close() end
  self.file = nil
  return true
end

FileSink.__close = FileSink.close
FileSink.__tostring = function(self) return "FileSink (" .. self.path .. ")" end

--------------------------------------------------------------------------

local StderrSink = {__name = "eventlet.logsinks.StderrSink", reopen = nothing, close = nothing}
StderrSink.__index = StderrSink
StderrSink.__tostring = function() return "StderrSink" end

--- Write one line to stderr.
function StderrSink.write(_, line) io_stderr:write(line, "\n") end

--- stderr() -> sink: the process's standard error.
function _M.stderr() return setmetatable({}, StderrSink) end

--------------------------------------------------------------------------

local priorities = {debug = "debug", info = "info", warn = "warning", error = "err"}

local SyslogSink = {__name = "eventlet.logsinks.SyslogSink", reopen = nothing}
SyslogSink.__index = SyslogSink
SyslogSink.__tostring = function(self) return tostring(self.handle) end

--- syslog{ident=, facility=, socket=} -> sink | nil, err: through the C
-- core's syslog(3) (ident default "eventlet", facility "user"), or, with
-- socket = "/path", as RFC 3164 datagrams to that Unix socket.
function _M.syslog(opts)
  opts = opts or {}
  local handle, err = core.syslog_open(opts.ident or "eventlet", opts.facility or "user",
                                       opts.socket)
  if not handle then return nil, err end
  return setmetatable({handle = handle}, SyslogSink)
end

--- Send one line at the record's level; a full collector drops it.
function SyslogSink:write(line, record)
  return self.handle:log(priorities[record and record.level] or "info", line)
end

--- Release the socket or the openlog share.
function SyslogSink:close() self.handle:close() return true end

--------------------------------------------------------------------------

local TeeSink = {__name = "eventlet.logsinks.TeeSink"}
TeeSink.__index = TeeSink

--- tee(a, b, ...) -> sink writing every line to each sink given.
function _M.tee(...)
  local sinks = {...}
  for i, s in ipairs(sinks) do sinks[i] = _M.resolve(s) end
  return setmetatable({sinks = sinks}, TeeSink)
end

--- Write to every sink.
function TeeSink:write(line, record)
  for _, s in ipairs(self.sinks) do s:write(line, record) end
end

--- Reopen every sink; the first error is returned.
function TeeSink:reopen()
  local ok, first = true, nil
  for _, s in ipairs(self.sinks) do
    local r, err = s:reopen()
    if not r and ok then ok, first = nil, err end
  end
  return ok, first
end

--- Close every sink.
function TeeSink:close()
  for _, s in ipairs(self.sinks) do s:close() end
  return true
end

TeeSink.__tostring = function(self)
  local names = {}
  for i, s in ipairs(self.sinks) do names[i] = tostring(s) end
  return "TeeSink (" .. table.concat(names, ", ") .. ")"
end

--------------------------------------------------------------------------

local FnSink = {__name = "eventlet.logsinks.FnSink", reopen = nothing, close = nothing}
FnSink.__index = FnSink
FnSink.__tostring = function() return "FnSink" end

--- Call the function with the line and its record.
function FnSink:write(line, record) self.fn(line, record) end

--- resolve(spec) -> sink: a sink object as is; "stderr", "syslog",
-- "file:/path" (or any "/path"); a function(line, record); an array of
-- specs (a tee).  Raises for anything else or a file that cannot open.
function _M.resolve(spec)
  local kind = type(spec)
  if kind == "table" and getmetatable(spec) and spec.write then return spec end
  if kind == "function" then return setmetatable({fn = spec}, FnSink) end
  if kind == "table" then return _M.tee(table.unpack(spec)) end
  if spec == "stderr" then return _M.stderr() end
  local sink, err
  if spec == "syslog" then
    sink, err = _M.syslog()
  elseif kind == "string" and (spec:find("^file:") or spec:find("^/")) then
    sink, err = _M.file((spec:gsub("^file:", "")))
  else
    error("logutil: unknown sink " .. tostring(spec) ..
          " (stderr, syslog, file:/path, a sink or a function)", 3)
  end
  if not sink then error("logutil: cannot open sink " .. tostring(spec) .. ": " .. err, 3) end
  return sink
end

return _M
