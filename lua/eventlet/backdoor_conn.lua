--- eventlet.backdoor_conn: one client connection of the backdoor.
--
-- A reader thread turns the bytes of the socket into lines (telnet IAC
-- sequences removed, IAC IP -- Ctrl-C in telnet and eventlet-lua --attach
-- -- reported as an interrupt, lines longer than the limit dropped and
-- reported) and queues them for the session.  A writer thread drains the
-- session's output to the socket; writers never block on the network,
-- only on the output buffer's bound, and a client that takes no output
-- for `output_timeout` seconds is disconnected.
--
-- In attach mode (eventlet-lua --attach says so in its first line) output
-- and prompts are framed, "o<len>\n<bytes>" and "p<len>\n<prompt>", after
-- the marker "\0eventlet-attach 1\n", so the client knows when to show
-- its line editor.
local core = require "eventlet.core"

local pcall = pcall
local setmetatable = setmetatable
local type = type
local table_concat = table.concat

local _M = {}

local Conn = {}
Conn.__index = Conn

local IAC = "\255"
local EOF = setmetatable({}, {__tostring = function() return "EOF" end})
local TOOLONG = setmetatable({}, {__tostring = function() return "TOOLONG" end})
_M.EOF, _M.TOOLONG = EOF, TOOLONG

--- The first line eventlet-lua --attach sends (a Lua comment elsewhere).
_M.HELLO = "--@eventlet-attach 1"
--- What the server answers to it before framing begins.
_M.MARKER = "\0eventlet-attach 1\n"

local INPUT_LIMIT = 1048576  -- queued, unconsumed input bytes before a cut

-- Wake one parked thread recorded as {gt, seq} in self[field].
local function wake(self, field)
  local w = self[field]
  if w then
    self[field] = nil
    core.unpark(w[1], w[2])
  end
end

-- Park the running thread, recorded in self[field], until woken.
local function wait(self, field, timeout, what)
  local gt, seq = core.waiter()
  self[field] = {gt, seq}
  local ok = core.park(timeout, what)
  if self[field] and self[field][1] == gt then self[field] = nil end
  return ok
end

--- Wrap an accepted socket.
-- @param opts {max_line, output_limit, output_timeout, name}
function _M.new(sock, opts)
  local self = setmetatable({
    sock = sock, name = opts.name or "backdoor",
    max_line = opts.max_line, output_limit = opts.output_limit,
    queue = {}, qhead = 1, qtail = 0, qbytes = 0,
    pending = {}, pending_len = 0, skipping = false, iac_tail = nil,
    out = {}, out_bytes = 0, drain_waiters = {},
    framed = false, closing = false, closed = false,
    on_interrupt = nil,
  }, Conn)
  sock:settimeout(opts.output_timeout)
  return self
end

--- Start the reader and writer threads.
function Conn:start()
  self.reader = core.spawn(self.read_loop, self)
  self.reader:name("backdoor reader " .. self.name)
  self.writer = core.spawn(self.write_loop, self)
  self.writer:name("backdoor writer " .. self.name)
end

-- Queue an input item (a line, false for an interrupt at the prompt,
-- TOOLONG, EOF) for the session.
function Conn:push(item)
  self.qtail = self.qtail + 1
  self.queue[self.qtail] = item
  if type(item) == "string" then self.qbytes = self.qbytes + #item end
  wake(self, "taker")
end

--- The next input item; nil, "timeout" when none came in time.
function Conn:take(timeout)
  while self.qhead > self.qtail do
    if not wait(self, "taker", timeout, "backdoor input") then return nil, "timeout" end
  end
  local item = self.queue[self.qhead]
  self.queue[self.qhead] = nil
  self.qhead = self.qhead + 1
  if type(item) == "string" then self.qbytes = self.qbytes - #item end
  return item
end

-- Add a piece of a line; complete = a newline ended it.
function Conn:line_piece(piece, complete)
  if self.skipping then
    if complete then
      self.skipping = false
      self:push(TOOLONG)
    end
    return
  end
  if piece ~= "" then
    self.pending[#self.pending + 1] = piece
    self.pending_len = self.pending_len + #piece
  end
  if self.pending_len > self.max_line then
    self.pending, self.pending_len = {}, 0
    if complete then self:push(TOOLONG) else self.skipping = true end
    return
  end
  if complete then
    local line = table_concat(self.pending)
    self.pending, self.pending_len = {}, 0
    self:push((line:gsub("\r$", "")))
  end
end

-- Skip a telnet subnegotiation starting at j (IAC SB ... IAC SE).
local function skip_subneg(data, j)
  local se = data:find("\255\240", j + 2, true)
  return se and se + 2 or nil
end

-- Remove telnet commands from data; IAC IP / IAC BRK interrupt.
function Conn:telnet(data)
  if self.iac_tail then data, self.iac_tail = self.iac_tail .. data, nil end
  local out, i, n = {}, 1, #data
  while i <= n do
    local j = data:find(IAC, i, true)
    if not j then out[#out + 1] = data:sub(i) break end
    out[#out + 1] = data:sub(i, j - 1)
    local cmd = data:byte(j + 1)
    local nexti
    if cmd == 255 then out[#out + 1] = IAC nexti = j + 2
    elseif cmd == 244 or cmd == 243 then
      if self.on_interrupt then self.on_interrupt() end
      nexti = j + 2
    elseif cmd and cmd >= 251 then nexti = j + 2 < n + 1 and j + 3 or nil
    elseif cmd == 250 then nexti = skip_subneg(data, j)
    elseif cmd then nexti = j + 2 end
    if not nexti then
      local tail = data:sub(j)
      if #tail <= 64 then self.iac_tail = tail end
      break
    end
    i = nexti
  end
  return table_concat(out)
end

-- Turn received bytes into queued lines.
function Conn:scan(data)
  if self.iac_tail or data:find(IAC, 1, true) then data = self:telnet(data) end
  local start = 1
  while true do
    local nl = data:find("\n", start, true)
    if not nl then break end
    self:line_piece(data:sub(start, nl - 1), true)
    start = nl + 1
  end
  if start <= #data then self:line_piece(data:sub(start), false) end
end

-- Body of the reader thread.
function Conn:read_loop()
  while not self.closed do
    local data, err = self.sock:recv(16384)
    if data then
      self:scan(data)
      if self.qbytes > INPUT_LIMIT then
        self:abort("input flood")
        break
      end
    elseif err ~= "timeout" then
      break
    end
  end
  self:push(EOF)
end

-- Wake producers waiting for the buffer to drain.
function Conn:wake_drain()
  local waiters = self.drain_waiters
  self.drain_waiters = {}
  for i = 1, #waiters do core.unpark(waiters[i][1], waiters[i][2]) end
end

-- Body of the writer thread: send what is buffered until closing.
function Conn:write_loop()
  while not self.closed do
    if #self.out == 0 then
      if self.closing then break end
      wait(self, "writer_wait", nil, "backdoor output")
    else
      local chunk = table_concat(self.out)
      self.out = {}
      local ok, err = self.sock:send(chunk)
      self.out_bytes = self.out_bytes - #chunk
      if self.out_bytes <= self.output_limit then self:wake_drain() end
      if not ok then
        self:abort(err == "timeout" and "client took no output" or err)
        break
      end
    end
  end
end

-- Buffer bytes for the writer; block while the buffer is over its bound.
function Conn:enqueue(s)
  if self.closed or s == "" then return end
  self.out[#self.out + 1] = s
  self.out_bytes = self.out_bytes + #s
  wake(self, "writer_wait")
  local me = core.getcurrent()
  while self.out_bytes > self.output_limit and not self.closed and me ~= self.writer do
    local gt, seq = core.waiter()
    self.drain_waiters[#self.drain_waiters + 1] = {gt, seq}
    core.park(nil, "backdoor output full")
  end
end

--- Session output.
function Conn:write(s)
  if self.framed then s = "o" .. #s .. "\n" .. s end
  self:enqueue(s)
end

--- A prompt: plain text, or a prompt frame in attach mode.
function Conn:prompt(p)
  if self.framed then p = "p" .. #p .. "\n" .. p end
  self:enqueue(p)
end

--- Switch to attach mode (after the client's hello line).
function Conn:attach_mode()
  self:enqueue(_M.MARKER)
  self.framed = true
end

--- End the connection at once (client gone, flood, server closing):
-- close the socket, release everyone waiting, report why.
function Conn:abort(why)
  if self.closed then return end
  self.closed = true
  self.why = why
  self.sock:close()
  self:wake_drain()
  wake(self, "writer_wait")
  self:push(EOF)
  if self.on_abort then self.on_abort(why) end
end

--- End the connection gracefully: flush the output (bounded by the
-- output timeout), close, and wait for the reader and writer.
function Conn:finish()
  self.closing = true
  wake(self, "writer_wait")
  if self.writer and core.getcurrent() ~= self.writer then pcall(self.writer.wait, self.writer) end
  self:abort(self.why or "done")
  if self.reader and core.getcurrent() ~= self.reader then pcall(self.reader.wait, self.reader) end
end

return _M
