--- eventlet.processes: child processes whose pipes park only the calling
-- green thread.  spawn{...} and run(cmd, opts) are the modern API; the
-- seed's Process, DeadProcess and ProcessPool are in eventlet.processpool
-- and re-exported here.  See docs/processes.md.
local core = require "eventlet.core"

local spawn_process, signum = core.spawn_process, core.signum
local gspawn, Timeout, getcurrent, threads, kill = core.spawn, core.Timeout,
  core.getcurrent, core.threads, core.kill
local setmetatable, type, pcall, error, ipairs, tostring = setmetatable, type, pcall,
  error, ipairs, tostring
local concat = table.concat
local require = require

local _M = {}

local CHUNK = 65536
local SIGKILL = 9

-- Wrap a pipe end as a luasocket-shaped stream (socket.c, kind "fd").
local wrap = core.wrap_fd

local Process = {}
Process.__index = Process
Process.__name = "eventlet.Process"

-- Copy argv (the array part of spec) and check it.
local function argv_of(spec)
  local argv = {}
  for i, v in ipairs(spec) do
    if type(v) ~= "string" and type(v) ~= "number" then
      error(("spawn: argument %d must be a string"):format(i), 3)
    end
    argv[i] = v
  end
  if argv[1] == nil then error("spawn: no command", 3) end
  return argv
end

--- spawn{cmd, args..., env=, cwd=, stdin=, stdout=, stderr=, setsid=}
-- -> Process, or nil, err, errno when the command cannot be started.
-- Streams: "pipe" (stdin/stdout default), "inherit" (stderr default),
-- "null", "stdout" (stderr only: merge), a file path, or an fd number.
function _M.spawn(spec)
  if type(spec) ~= "table" then error("spawn: expects a table {cmd, args...}", 2) end
  local h, err, errno = spawn_process(argv_of(spec), spec)
  if not h then return nil, err, errno end
  local p = setmetatable({pid = h:pid(), handle = h, argv = spec[1]}, Process)
  local fd = h:takefd(0)
  if fd then p.stdin = wrap(fd) end
  fd = h:takefd(1)
  if fd then p.stdout = wrap(fd) end
  fd = h:takefd(2)
  if fd then p.stderr = wrap(fd) end
  return p
end

-- The stream `name` of p, or nil, "closed".
local function stream(p, name)
  local s = p[name]
  if s == nil then return nil, "closed" end
  return s
end

--- write(data) -> true, or nil, "closed" (stdin closed or the child gone).
function Process:write(data)
  local s, err = stream(self, "stdin")
  if not s then return nil, err end
  local n, serr = s:send(data)
  if not n then return nil, serr end
  return true
end

--- read([n]) -> n bytes (fewer at end of output); all output until the
-- child closes it when n is nil; nil, "closed" at end of output.
function Process:read(n)
  local s, err = stream(self, "stdout")
  if not s then return nil, err end
  local data, rerr, partial = s:receive(n or "*a")
  if data then
    if n == nil or #data > 0 then return data end
    return nil, "closed"
  end
  if partial and #partial > 0 then return partial end
  return nil, rerr
end

--- readline() -> the next line without "\n" (a last unterminated line
-- too), or nil, "closed" at end of output.
function Process:readline()
  local s, err = stream(self, "stdout")
  if not s then return nil, err end
  local line, rerr, partial = s:receive("*l")
  if line then return line end
  if partial and #partial > 0 then return partial end
  return nil, rerr
end

--- lines() -> an iterator over the output's lines.
function Process:lines()
  return function() return (self:readline()) end
end

--- settimeout(seconds): a limit on each pipe read and write (nil: none).
function Process:settimeout(seconds)
  for _, name in ipairs {"stdin", "stdout", "stderr"} do
    if self[name] then self[name]:settimeout(seconds) end
  end
end

--- close_stdin(): the child reads end of file.
function Process:close_stdin()
  if self.stdin then self.stdin:close() self.stdin = nil end
end

--- wait([timeout]) -> exit code, or nil, "signal", signum, or nil,
-- "timeout".
function Process:wait(timeout)
  return self.handle:wait(timeout)
end

--- poll() -> like wait() once the child has exited, nothing before.
function Process:poll()
  return self.handle:poll()
end

--- kill([sig]) -> true, or nil, "exited".  sig: number or name
-- ("TERM", "SIGKILL"); default SIGTERM.
function Process:kill(sig)
  if type(sig) == "string" then sig = signum(sig) end
  return self.handle:kill(sig)
end

--- close(): close every pipe and SIGKILL the child if it still runs (the
-- hub reaps it).  Also the to-be-closed handler: safe when the owning
-- green thread is being killed (it never waits).
function Process:close()
  for _, name in ipairs {"stdin", "stdout", "stderr"} do
    if self[name] then self[name]:close() self[name] = nil end
  end
  self.handle:close()
end

Process.__close = Process.close

function Process:__tostring()
  return ("Process %s (%s)"):format(self.argv, tostring(self.handle))
end

-- Collect everything readable from stream s into parts.
local function drain(s, parts)
  while true do
    local data = s:recv(CHUNK)
    if not data then return end
    parts[#parts + 1] = data
  end
end

-- Write input to the child's stdin, then close it.
local function feed(p, input)
  local s = p.stdin
  if s then s:send(input) end
  p:close_stdin()
end

-- Wait for the child and the helper threads; the child's status.
local function finish(p, helpers)
  local code, why, sig = p:wait()
  for _, gt in ipairs(helpers) do pcall(gt.wait, gt) end
  return code, why, sig
end

-- Build the spawn spec of run() from cmd and opts.
local function run_spec(cmd, opts)
  local spec = type(cmd) == "string" and {"/bin/sh", "-c", cmd} or {}
  if type(cmd) == "table" then
    for i, v in ipairs(cmd) do spec[i] = v end
  elseif type(cmd) ~= "string" then
    error("run: cmd must be a string (run by /bin/sh) or a table {cmd, args...}", 3)
  end
  spec.env, spec.cwd, spec.setsid = opts.env, opts.cwd, opts.setsid
  spec.stdin = opts.input and "pipe" or opts.stdin or "null"
  spec.stdout = opts.stdout or "pipe"
  spec.stderr = opts.stderr or "pipe"
  return spec
end

--- run(cmd, {input=, timeout=, env=, cwd=, stdin=, stdout=, stderr=})
-- -> stdout, stderr, code; or stdout, stderr, nil, "signal", signum; or
-- stdout, stderr, nil, "timeout" (the child was killed; output so far);
-- or nil, err, errno when the command cannot be started.  cmd is a table
-- {cmd, args...} (which may carry the options too: run{"cat", input="x"})
-- or a string run by /bin/sh -c.
function _M.run(cmd, opts)
  opts = opts or (type(cmd) == "table" and cmd) or {}
  local p, err, errno = _M.spawn(run_spec(cmd, opts))
  if not p then return nil, err, errno end
  local _p <close> = p
  local out, errs, helpers = {}, {}, {}
  if p.stdin then helpers[#helpers + 1] = gspawn(feed, p, opts.input) end
  if p.stdout then helpers[#helpers + 1] = gspawn(drain, p.stdout, out) end
  if p.stderr then helpers[#helpers + 1] = gspawn(drain, p.stderr, errs) end
  local t <close> = opts.timeout and Timeout(opts.timeout) or nil
  local r = {pcall(finish, p, helpers)}
  if t then t:cancel() end
  if r[1] then
    if r[2] then return concat(out), concat(errs), r[2] end
    return concat(out), concat(errs), nil, r[3], r[4]
  end
  if r[2] ~= t then error(r[2], 0) end
  p:kill(SIGKILL)
  p:wait()
  p:close()
  for _, gt in ipairs(helpers) do pcall(gt.wait, gt) end
  return concat(out), concat(errs), nil, "timeout"
end

--- fork([{keep_threads=true, parent_death="TERM"}]) -> pid, Process (no
-- pipes: wait/kill) in the parent; 0 in the child; or nil, err.  The
-- child re-initialises the hub's loop, forgets the parent's children, and
-- kills the parent's other green threads (they unwind there, running
-- their cleanup on the child's copies) and the exit hooks (eventlet.on_exit:
-- they stop the parent's work) unless keep_threads is set.  With
-- parent_death (a signal name or number) the child gets that signal when
-- the parent dies (Linux; elsewhere ignored).
function _M.fork(opts)
  local death = opts and opts.parent_death
  if type(death) == "string" then death = signum(death) end
  local pid, h, errno = core.fork(death)
  if pid == nil then return nil, h, errno end
  if pid ~= 0 then
    return pid, setmetatable({pid = pid, handle = h, argv = "fork"}, Process)
  end
  if opts and opts.keep_threads then return 0 end
  local facade = package.loaded.eventlet   -- no facade, no hooks to forget
  if facade then facade._forget_exit_hooks() end
  local me, killed = getcurrent(), 0
  for _, info in ipairs(threads()) do
    if info.thread ~= me then kill(info.thread) killed = killed + 1 end
  end
  if killed > 0 then core.sleep(0) end
  return 0
end

-- The seed's API (Process, DeadProcess, ProcessPool) lives next door.
setmetatable(_M, {__index = function(t, name)
  local legacy = require "eventlet.processpool"
  local v = legacy[name]
  if v ~= nil then rawset(t, name, v) end
  return v
end})

return _M
