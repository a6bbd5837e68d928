-- A pool of long-lived worker processes: each worker is a shell loop that
-- squares the numbers it reads, one per line.  Ten green threads share
-- three workers; a worker that dies is replaced on the next get().
--   eventlet-lua examples/process_pool.lua
local eventlet = require "eventlet"
local processes = require "eventlet.processes"

local WORKER = 'while read n; do echo $((n * n)); done'

local pool <close> = processes.ProcessPool("sh", {"-c", WORKER}, {max_size = 3})

-- Ask a worker for n squared; returns the answer and the worker's pid.
local function square(n)
  return pool:item(function(worker)
    worker:write(n .. "\n")
    return tonumber(worker:readline()), worker:getpid()
  end)
end

local threads = {}
for n = 1, 10 do
  threads[n] = eventlet.spawn(square, n)
end
for n = 1, 10 do
  local result, pid = threads[n]:wait()
  print(("%2d^2 = %3d  (worker pid %d)"):format(n, result, pid))
end
print(("workers started: %d of at most %d"):format(pool.current_size, pool.max_size))
