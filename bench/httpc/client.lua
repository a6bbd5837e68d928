--- bench/httpc/client.lua: N GETs of URL through one eventlet.httpc
-- client, CONC green threads at a time (keep-alive, pool_size = CONC).
-- Prints "ns=<wall nanoseconds per request> rps=<requests per second>".
--   eventlet-lua bench/httpc/client.lua N CONC URL
local eventlet = require "eventlet"
local httpc = require "eventlet.httpc"

local n, conc, url = tonumber(arg[1]), tonumber(arg[2]), arg[3]
local client = httpc.client({pool_size = conc})
local per = n // conc

-- One green thread's share of the requests.
local function worker()
  for _ = 1, per do
    local resp = assert(client:get(url))
    assert(resp.status == 200)
  end
end

assert(client:get(url))  -- warm: the first connection and the code paths
local t0 = eventlet.core.time()
local threads = {}
for i = 1, conc do threads[i] = eventlet.spawn(worker) end
for i = 1, conc do threads[i]:wait() end
local wall = eventlet.core.time() - t0
print(("ns=%.0f rps=%.0f"):format(wall * 1e9 / (per * conc), per * conc / wall))
client:close()
