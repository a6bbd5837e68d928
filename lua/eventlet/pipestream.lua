--- eventlet.pipestream: a luasocket-shaped stream over a non-blocking
-- pipe end, for eventlet.processes when eventlet.net.wrap_fd is not
-- available (it is preferred: one buffered reader, in C).  Reads and
-- writes park only the calling green thread (core.trampoline).
local core = require "eventlet.core"

local fd_read, fd_write, fd_close = core.fd_read, core.fd_write, core.fd_close
local trampoline, getcurrent, kill = core.trampoline, core.getcurrent, core.kill
local setmetatable, pcall, error, type = setmetatable, pcall, error, type
local concat = table.concat
local find, sub = string.find, string.sub

local CHUNK = 65536

-- Raised into a thread parked on a stream that another thread closed.
local CLOSED = setmetatable({}, {__tostring = function() return "closed" end})

local Stream = {}
Stream.__index = Stream
Stream.__name = "eventlet.pipestream"

--- Wrap a non-blocking fd; the stream owns it from now on.
local function new(fd)
  return setmetatable({fd = fd, buf = "", eof = false, timeout = nil}, Stream)
end

-- Park until fd is ready for mode; nil, err on timeout or close.
local function await(self, mode)
  local slot = mode == "r" and "reader" or "writer"
  self[slot] = getcurrent()
  local ok, r, err = pcall(trampoline, self.fd, mode, self.timeout)
  self[slot] = nil
  if not ok then
    if r == CLOSED then return nil, "closed" end
    error(r, 0)
  end
  if r == nil then return nil, err end
  return true
end

-- Read once more into the buffer: true, or nil, "closed" | "timeout" | err.
local function fill(self)
  while true do
    if self.fd == nil then return nil, "closed" end
    if self.eof then return nil, "closed" end
    local data, err = fd_read(self.fd, CHUNK)
    if data == "" then self.eof = true return nil, "closed" end
    if data then self.buf = self.buf .. data return true end
    if err ~= "again" then return nil, err end
    local ok, werr = await(self, "r")
    if not ok then return nil, werr end
  end
end

-- Take n bytes (or all) off the front of the buffer.
local function take(self, n)
  local buf = self.buf
  if n == nil or n >= #buf then self.buf = "" return buf end
  self.buf = sub(buf, n + 1)
  return sub(buf, 1, n)
end

-- Everything until end of file.
local function receive_all(self)
  local parts = {take(self)}
  while true do
    local ok, err = fill(self)
    if not ok then
      if err == "closed" and self.fd then return concat(parts) end
      return nil, err, concat(parts)
    end
    parts[#parts + 1] = take(self)
  end
end

--- receive("*l" | "*a" | n) -> data, or nil, err, partial (luasocket).
function Stream:receive(pattern)
  pattern = pattern or "*l"
  if pattern == "*a" or pattern == "a" then return receive_all(self) end
  if type(pattern) == "number" then
    while #self.buf < pattern do
      local ok, err = fill(self)
      if not ok then return nil, err, take(self) end
    end
    return take(self, pattern)
  end
  local init = 1
  while true do
    local nl = find(self.buf, "\n", init, true)
    if nl then return sub(take(self, nl), 1, -2) end
    init = #self.buf + 1
    local ok, err = fill(self)
    if not ok then return nil, err, take(self) end
  end
end

--- recv(n) -> whatever is available (at least one byte, at most n), or
-- nil, err.
function Stream:recv(n)
  if #self.buf == 0 then
    local ok, err = fill(self)
    if not ok then return nil, err end
  end
  return take(self, n)
end

--- send(data) -> #data once all of it is written, or nil, err, sent.
function Stream:send(data)
  local i, len = 1, #data
  while i <= len do
    if self.fd == nil then return nil, "closed", i - 1 end
    local n, err = fd_write(self.fd, data, i)
    if n then
      i = i + n
    elseif err == "again" then
      local ok, werr = await(self, "w")
      if not ok then return nil, werr, i - 1 end
    else
      return nil, err, i - 1
    end
  end
  return len
end

--- settimeout(seconds|nil): limit each wait (nil or negative: none).
function Stream:settimeout(seconds)
  self.timeout = (seconds and seconds >= 0) and seconds or nil
  return 1
end

--- getfd() -> the descriptor, or -1 once closed.
function Stream:getfd() return self.fd or -1 end

--- close(): close the fd; a thread parked on it returns nil, "closed".
function Stream:close()
  local fd = self.fd
  if fd == nil then return 1 end
  self.fd = nil
  fd_close(fd)
  if self.reader then kill(self.reader, CLOSED) end
  if self.writer then kill(self.writer, CLOSED) end
  return 1
end

Stream.__close = Stream.close
Stream.__gc = Stream.close

function Stream:__tostring()
  return ("pipestream (fd %d)"):format(self.fd or -1)
end

return {new = new}
