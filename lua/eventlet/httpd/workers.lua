--- eventlet.httpd.workers: `workers = N` -- N forked processes serving
-- one port, under a small supervisor.
--
-- The supervisor opens the listener (SO_REUSEPORT, so a new supervisor can
-- bind beside an old one during an upgrade), forks N workers that accept
-- on it, and then only watches them:
--   * a worker that dies is restarted (after 1 s if it lived under 1 s,
--     so a crash loop does not spin);
--   * SIGTERM/SIGINT: every worker gets SIGTERM and stops gracefully;
--     the supervisor waits for them (SIGKILL after grace + 5 s) and exits;
--   * SIGHUP: graceful restart, one worker at a time: a fresh worker is
--     forked, then the old one gets SIGTERM and drains;
--   * a supervisor that dies (even by SIGKILL) takes its workers along:
--     each gets SIGTERM then (PR_SET_PDEATHSIG) and drains.
local core = require "eventlet.core"
local processes = require "eventlet.processes"
local log = require "eventlet.httpd.log"

local core_sleep = core.sleep
local core_now = core.now
local core_spawn = core.spawn
local pairs = pairs
local tostring = tostring
local ipairs = ipairs
local next = next
local pcall = pcall

local _M = {}

--- Fork one worker for slot i; in the child, serve and exit.
local function fork_worker(sup, i)
  local server = sup.server
  sup.forking = true            -- the child's copy of watch() must stay quiet
  local pid, proc = processes.fork({parent_death = "TERM"})  -- no orphans
  sup.forking = false
  if pid == nil then
    log.write(server, "httpd: fork failed: " .. tostring(proc))
    return nil
  end
  if pid == 0 then              -- the supervisor's hooks are not the worker's
    -- (fork already dropped its exit hook: a SIGTERM while this child
    -- unwinds the supervisor's threads just ends it)
    sup.stopping = true
    if sup.hup then sup.hup:cancel() end
    server.supervisor = nil
    server._worker = i
    local ok, err = pcall(server.serve, server)
    if not ok then io.stderr:write("httpd worker: ", tostring(err), "\n") end
    os.exit(ok and 0 or 1, true)
  end
  local w = {proc = proc, pid = pid, slot = i, started = core_now()}
  sup.workers[w] = true
  return w
end

--- Watch worker w: when it exits, ask the supervisor to refill its slot
-- (after 1 s if it lived under 1 s) unless stopping or retired.
local function watch(sup, w)
  local code, how, sig = w.proc:wait()
  if sup.forking then return end  -- we are a new worker: not ours to watch
  sup.workers[w] = nil
  if sup.stopping or w.retired then return end
  log.write(sup.server, ("httpd: worker %d (pid %d) exited (%s); restarting")
            :format(w.slot, w.pid, code and ("code " .. code) or (tostring(how) .. " " .. tostring(sig))))
  local at = core_now() - w.started < 1 and core_now() + 1 or core_now()
  sup.pending[#sup.pending + 1] = {slot = w.slot, at = at}
end

--- Fork a worker for slot i and watch it.
local function start_worker(sup, i)
  local w = fork_worker(sup, i)
  if w then core_spawn(watch, sup, w) end
  return w
end

--- Replace every worker, one at a time (SIGHUP): a fresh one first,
-- then the old one drains.
local function restart_all(sup)
  local old = {}
  for w in pairs(sup.workers) do old[#old + 1] = w end
  for _, w in ipairs(old) do
    if sup.stopping then return end
    start_worker(sup, w.slot)
    w.retired = true
    w.proc:kill("TERM")
  end
end

--- The supervisor's loop, in the thread that called serve() (forks
-- happen only here, so a worker is that thread and nothing else).
local function supervise_loop(sup)
  while not sup.stopping do
    if sup.restart then
      sup.restart = false
      restart_all(sup)
    end
    local now, keep = core_now(), {}
    for _, p in ipairs(sup.pending) do
      if sup.stopping then break end
      if p.at <= now then start_worker(sup, p.slot) else keep[#keep + 1] = p end
    end
    sup.pending = keep
    core_sleep(0.05)
  end
end

--- Stop every worker gracefully; SIGKILL the ones past grace + 5 s.
local function stop_all(sup)
  if sup.stopping then return end
  sup.stopping = true
  for w in pairs(sup.workers) do w.proc:kill("TERM") end
  local deadline = core_now() + (sup.server.grace or 10) + 5
  while next(sup.workers) and core_now() < deadline do core_sleep(0.05) end
  for w in pairs(sup.workers) do w.proc:kill("KILL") end
  while next(sup.workers) do core_sleep(0.01) end
  sup.server.sock:close()
  sup.server.stopped = true
end

--- stop(server): the supervisor's stop(): every worker drains and ends.
function _M.stop(server)
  stop_all(server.supervisor)
end

--- supervise(server): the supervisor's serve().
function _M.supervise(server)
  local eventlet = require "eventlet"
  local sup = {server = server, workers = {}, pending = {}, stopping = false, restart = false}
  server.supervisor = sup
  if server.log then
    log.write(server, ("httpd starting up on %s with %d workers"):format(server:url(), server.workers))
  end
  sup.hup = core.signal(1, function() sup.restart = true end)
  sup.hook = eventlet.on_exit(function() stop_all(sup) end)
  for i = 1, server.workers do start_worker(sup, i) end
  supervise_loop(sup)
  while not server.stopped do core_sleep(0.05) end
  eventlet.cancel_on_exit(sup.hook)
  sup.hup:cancel()
  if server.log then log.write(server, "httpd exiting") end
end

--- pids(server) -> the live workers' pids (for tests and tools).
function _M.pids(server)
  local out = {}
  for w in pairs(server.supervisor.workers) do out[#out + 1] = w.pid end
  table.sort(out)
  return out
end

return _M
