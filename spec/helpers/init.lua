--- Spec helper, loaded by busted (--helper) under both runtimes.
-- Every test gets a hard time limit (a Timeout in the thread running it:
-- a hang fails instead of stalling CI) and, once it returns, must leave
-- the hub as it found it: no live green threads, no armed watchers.
-- Leftovers get a short grace period to finish, then fail the test and
-- are killed so they cannot spill into the next one.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath

local busted = require "busted"
local core = require "eventlet.core"

local LIMIT = tonumber(os.getenv("EVENTLET_SPEC_TIMEOUT") or "") or 30
local GRACE = 0.5

-- Threads and watchers that exist before any test ran (the host's main
-- thread runs busted itself).
core.sleep(0.001)
local base = core.stats()

-- Describe the live threads other than the runner, for a leak message.
local function leftovers()
  local me = core.getcurrent()
  local names = {}
  for _, info in ipairs(core.threads()) do
    if info.thread ~= me then
      names[#names + 1] = ("#%d %s (%s%s)"):format(info.id, info.name or "",
        info.state, info.waiting and (" on " .. info.waiting) or "")
    end
  end
  return names
end

-- Wait a little for stragglers; report and kill what remains.
local function check_hub()
  local deadline = core.now() + GRACE
  local stats
  repeat
    core.sleep(0.002)
    stats = core.stats()
  until (stats.live <= base.live and stats.watchers <= base.watchers)
        or core.now() > deadline
  if stats.live > base.live then
    local names = leftovers()
    for _, info in ipairs(core.threads()) do
      if info.thread ~= core.getcurrent() then core.kill(info.thread) end
    end
    core.sleep(0.002)
    error("test left green threads running: " .. table.concat(names, ", "), 0)
  end
  if stats.watchers > base.watchers then
    error(("test left %d watcher(s) armed in the hub")
      :format(stats.watchers - base.watchers), 0)
  end
end

busted.subscribe({"test", "start"}, function(element)
  local run = element.run
  element.run = function(...)
    local limit <close> = core.Timeout(LIMIT)
    run(...)
    limit:cancel()
    local pending = core.reset_cancel(core.getcurrent())
    if pending ~= nil then
      error("test left a fired Timeout or kill pending: " .. tostring(pending), 0)
    end
    check_hub()
  end
  return nil, true
end)
