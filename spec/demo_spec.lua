-- The README's demo (make demo) must keep working: run it to completion.
local eventlet = require "eventlet"

-- A port p such that p and p+1 are free on loopback right now.
local function free_pair()
  for _ = 1, 20 do
    local a = assert(eventlet.listen("127.0.0.1:0"))
    local _, port = a:getsockname()
    local b = eventlet.listen("127.0.0.1:" .. (port + 1))
    a:close()
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
