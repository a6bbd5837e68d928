--- eventlet.processpool: the seed's (2007) process API over
-- eventlet.processes: Process(command, args) with stderr merged into
-- stdout, DeadProcess raised once the child is gone, and ProcessPool
-- reusing live long-lived workers.  Reached as eventlet.processes.Process,
-- .DeadProcess and .ProcessPool.
local core = require "eventlet.core"
local processes = require "eventlet.processes"

local waiter, park, unpark = core.waiter, core.park, core.unpark
local setmetatable, error, pcall, type, tostring, ipairs = setmetatable, error, pcall, type,
  tostring, ipairs
local unpack, remove = table.unpack, table.remove

local _M = {}

--- DeadProcess: the error value raised when the child is gone.
-- e.type == "DeadProcess"; DeadProcess.is(e) tests for it.
local DeadProcess = {type = "DeadProcess"}
DeadProcess.__index = DeadProcess
DeadProcess.__name = "eventlet.DeadProcess"
function DeadProcess.__tostring(e)
  return "DeadProcess: " .. tostring(e.message)
end
function DeadProcess.is(e)
  return type(e) == "table" and e.type == "DeadProcess"
end
_M.DeadProcess = DeadProcess

local Process = {}
Process.__index = Process
Process.__name = "eventlet.processes.Process"

-- Mark p dead, tell its dead_callback, raise DeadProcess.
local function die(p, why)
  if not p.dead then
    p.dead = true
    p.dead_callback()
  end
  error(setmetatable({process = p, message = why}, DeadProcess), 3)
end

--- Process(command[, args[, dead_callback]]) -> a child with stdin and
-- merged stdout/stderr pipes, or nil, err, errno when it cannot start.
function _M.Process(command, args, dead_callback)
  local spec = {command, stdin = "pipe", stdout = "pipe", stderr = "stdout"}
  for i, a in ipairs(args or {}) do spec[i + 1] = a end
  local child, err, errno = processes.spawn(spec)
  if not child then return nil, err, errno end
  return setmetatable({child = child, command = command, args = args or {},
                       dead = false, dead_callback = dead_callback or function() end},
                      Process)
end

--- read([n]) -> up to n bytes (all output when n is nil); raises
-- DeadProcess at end of output.
function Process:read(n)
  local data = self.child:read(n)
  if data == nil or data == "" then die(self, "end of output") end
  return data
end

--- readline() -> the next line without "\n"; raises DeadProcess at end.
function Process:readline()
  local line = self.child:readline()
  if line == nil then die(self, "end of output") end
  return line
end

--- write(data): all of it; raises DeadProcess when the child is gone.
function Process:write(data)
  local ok, err = self.child:write(data)
  if not ok then die(self, err) end
  return #data
end

Process.recv = Process.read
Process.send = Process.write
Process.sendall = Process.write

--- flush(): writes are not buffered; nothing to do.
function Process.flush() end

--- close_stdin(): the child reads end of file.
function Process:close_stdin() self.child:close_stdin() end

--- close(): close both pipes (the child is killed if it still runs) and
-- mark the process dead.
function Process:close()
  self.child:close()
  self.dead = true
end
Process.__close = Process.close

--- kill([sig]) -> true, or nil, "exited".  Default SIGTERM.
function Process:kill(sig) return self.child:kill(sig) end

--- getpid() -> the child's pid.
function Process:getpid() return self.child.pid end

--- wait([timeout]) -> as eventlet.processes' Process:wait.
function Process:wait(timeout) return self.child:wait(timeout) end

--- makefile("r"|"w") -> the output or input stream.
function Process:makefile(mode)
  return (mode or "r"):find("w") and self.child.stdin or self.child.stdout
end

function Process:__tostring()
  return ("Process (%s, pid %d%s)"):format(self.command, self.child.pid,
                                         self.dead and ", dead" or "")
end

local Pool = {}
Pool.__index = Pool
Pool.__name = "eventlet.ProcessPool"

--- ProcessPool(command[, args[, {min_size=0, max_size=4}]]): long-lived
-- workers, reused while alive; dead ones are dropped at put().
function _M.ProcessPool(command, args, opts)
  opts = opts or {}
  local pool = setmetatable({command = command, args = args or {},
                             min_size = opts.min_size or 0, max_size = opts.max_size or 4,
                             current_size = 0, free_items = {}, waiters = {}}, Pool)
  for _ = 1, pool.min_size do
    local p, err = pool:create()
    if not p then error("ProcessPool: " .. tostring(err), 2) end
    pool.current_size = pool.current_size + 1
    pool.free_items[#pool.free_items + 1] = p
  end
  return pool
end

--- create() -> a new Process (override to customise).
function Pool:create()
  return _M.Process(self.command, self.args)
end

-- Make a process for a slot already counted in current_size.
local function fill_slot(pool)
  local p, err, errno = pool:create()
  if not p then
    pool.current_size = pool.current_size - 1
    return nil, err, errno
  end
  return p
end

--- get([timeout]) -> a live Process, or nil, "timeout", or nil, err when
-- a new worker cannot be started.  Waiters are served FIFO.
function Pool:get(timeout)
  local free = self.free_items
  while #free > 0 do
    local p = remove(free)
    if not p.dead then return p end
    self.current_size = self.current_size - 1
  end
  if self.current_size < self.max_size then
    self.current_size = self.current_size + 1
    return fill_slot(self)
  end
  local gt, seq = waiter()
  self.waiters[#self.waiters + 1] = {gt, seq}
  local ok, p = park(timeout, "ProcessPool:get")
  if not ok then return nil, "timeout" end
  if p then return p end
  return fill_slot(self)  -- a dead worker's slot was handed to us
end

-- Hand p (or false: a free slot) to the first waiter still waiting.
local function hand_over(pool, p)
  local waiters = pool.waiters
  while #waiters > 0 do
    local w = remove(waiters, 1)
    if unpark(w[1], w[2], p) then return true end
  end
  return false
end

--- put(p): return a worker; a dead one is dropped (its slot freed).
function Pool:put(p)
  if self.closed then
    self.current_size = self.current_size - 1
    p:close()
    return
  end
  if p.dead then
    if not hand_over(self, false) then self.current_size = self.current_size - 1 end
    p:close()
    return
  end
  if not hand_over(self, p) then self.free_items[#self.free_items + 1] = p end
end

--- item(fn, ...) -> fn(p, ...)'s results with a worker that is put back
-- afterwards, even when fn raises (a DeadProcess marks it dead).
function Pool:item(fn, ...)
  local p, err = self:get()
  if not p then return nil, err end
  local r = table.pack(pcall(fn, p, ...))
  self:put(p)
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, r.n)
end

--- free() -> how many gets would not wait.
function Pool:free()
  return #self.free_items + self.max_size - self.current_size
end

--- waiting() -> threads waiting in get().
function Pool:waiting() return #self.waiters end

--- close(): close the idle workers (busy ones are closed by their put).
function Pool:close()
  for _, p in ipairs(self.free_items) do p:close() end
  self.current_size = self.current_size - #self.free_items
  self.free_items = {}
  self.closed = true
end
Pool.__close = Pool.close

return _M
