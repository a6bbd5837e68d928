-- The README's demo (make demo) must keep working: run it to completion.
local eventlet = require "eventlet"

-- A port p such that p and p+1 are free on loopback right now, drawn
-- below Linux's ephemeral range (32768 and up): there no client socket's
-- local port or TIME_WAIT entry can hold p + 1 (a busy machine with tens
-- of thousands of those made "port 0, then its neighbour" fail 20 times).
-- Lua 5.4 seeds math.random at start, so each run draws other ports.
local function free_pair()
  for _ = 1, 50 do
    local port = math.random(20000, 32000)
    local a = eventlet.listen("127.0.0.1:" .. port)
    local b = a and eventlet.listen("127.0.0.1:" .. (port + 1))
    if a then a:close() end
    if b then b:close() return port end
  end
  error("no free port pair")
end

describe("examples/demo.lua", function()
  it("serves a crowd, shows a deadline and the hub, then exits", function()
    local p = io.popen(("DEMO_EXIT=1 DEMO_PORT=%d timeout 60 ./eventlet-lua examples/demo.lua 2>&1; echo rc=$?")
      :format(free_pair()))
    local out = p:read("a")
    p:close()
    assert.matches("2000/2000 requests answered", out)
    assert.matches("slow page: gave up after 0.2 s", out)
    assert.matches("green threads, %d+ switches, backend %a+", out)
    assert.matches("rc=0\n$", out)
  end)
end)
