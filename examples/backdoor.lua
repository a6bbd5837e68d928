--- A small service with a backdoor: poke at it while it runs.
--
--   ./eventlet-lua examples/backdoor.lua
--   ./eventlet-lua --attach 127.0.0.1:9009       (or: socat - TCP:127.0.0.1:9009)
--
--   > threads()                  -- the workers, what each waits on
--   > stats                      -- the program's own global, live
--   > _G.delay = 0.01            -- change its behaviour without a restart
--   > tb(3)                      -- where worker #3 stands
--   > hub()                      -- loop lag, switches/s
--   > exit()
-- luacheck: globals stats delay
local eventlet = require "eventlet"
local backdoor = require "eventlet.backdoor"

stats = {jobs = 0, by_worker = {}}  -- globals, to look at from the backdoor
delay = 0.5

-- A worker doing pretend jobs forever.
local function worker(n)
  while true do
    eventlet.sleep(delay)
    stats.jobs = stats.jobs + 1
    stats.by_worker[n] = (stats.by_worker[n] or 0) + 1
  end
end

for n = 1, 3 do eventlet.spawn(worker, n):name("worker " .. n) end

local server = assert(backdoor.listen(os.getenv("BACKDOOR") or "127.0.0.1:9009", {
  banner = "This is the backdoor example: try threads(), stats, _G.delay = 0.05",
  token = os.getenv("EVENTLET_BACKDOOR_TOKEN"),
}))
io.stderr:write("backdoor on ", server.addr, " (Ctrl-C to stop)\n")
