-- Follow a growing log file with `tail -F`, line by line, while another
-- green thread appends to it; stop after a few lines.  The tail child is
-- killed and reaped when `tail` goes out of scope.
--   eventlet-lua examples/log_tail.lua [file]
local eventlet = require "eventlet"
local processes = require "eventlet.processes"
local fs = require "eventlet.fs"

local path = arg[1] or os.tmpname()
local LINES = 5

assert(fs.write(path, ""))
local tail <close> = assert(processes.spawn{"tail", "-n", "0", "-F", path,
                                            stderr = "null"})

-- Append a line every 100 ms, as a server writing its log would.
local writer = eventlet.spawn(function()
  for i = 1, LINES do
    eventlet.sleep(0.1)
    fs.write(path, ("%s request %d served\n"):format(os.date("%H:%M:%S"), i), "a")
  end
end)

local seen = 0
for line in tail:lines() do
  seen = seen + 1
  print("tail: " .. line)
  if seen == LINES then break end
end
writer:wait()
if not arg[1] then os.remove(path) end
