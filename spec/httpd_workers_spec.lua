-- workers = N: forked workers sharing the port under a supervisor that
-- restarts crashes, restarts on SIGHUP and stops on SIGTERM.
local eventlet = require "eventlet"
local processes = require "eventlet.processes"
local H = require "helpers.httpd"

-- Ask the server once; returns worker pid and its parent's pid.
local function whoami(port)
  local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"))
  local pid, ppid = res.body:match("^(%d+) (%d+)$")
  return tonumber(pid), tonumber(ppid)
end

-- Poll until pred() is true (at most 10 s).
local function eventually(pred)
  for _ = 1, 200 do
    if pred() then return true end
    eventlet.sleep(0.05)
  end
  return false
end

describe("httpd workers", function()
  it("forks workers, restarts crashed ones and on SIGHUP, stops on SIGTERM", function()
    local p = assert(processes.spawn({"./eventlet-lua", "spec/helpers/httpd_workers_app.lua",
                                      stdout = "null", stderr = "pipe"}))
    p.stderr:settimeout(10)
    local line = assert(p.stderr:receive("*l"))
    local port = tonumber(line:match(":(%d+)$"))
    local seen = {}
    assert.is_true(eventually(function()
      local pid, ppid = whoami(port)
      assert.equal(p.pid, ppid)       -- answered by a child of the supervisor
      seen[pid] = true
      local n = 0
      for _ in pairs(seen) do n = n + 1 end
      return n == 2
    end))
    -- a crash is answered by nothing, then a fresh worker takes the slot
    H.exchange(port, "GET /crash HTTP/1.1\r\n\r\n")
    local fresh
    assert.is_true(eventually(function()
      local pid = whoami(port)
      if not seen[pid] then fresh = pid end
      return fresh ~= nil
    end))
    -- SIGHUP replaces every worker
    local before = {}
    for pid in pairs(seen) do before[pid] = true end
    before[fresh] = true
    assert(p:kill("HUP"))
    local renewed = {}
    assert.is_true(eventually(function()
      local pid = whoami(port)
      if not before[pid] then renewed[pid] = true end
      local n = 0
      for _ in pairs(renewed) do n = n + 1 end
      return n == 2
    end))
    -- SIGTERM: the supervisor drains its workers and dies by the signal
    assert(p:kill("TERM"))
    local code, how, sig = p:wait(20)
    p:close()
    assert.is_nil(code)
    assert.equal("signal", how)
    assert.equal(15, sig)
    for pid in pairs(renewed) do
      assert.is_true(eventually(function() return io.open("/proc/" .. pid .. "/stat") == nil end))
    end
    assert.is_nil(eventlet.connect("127.0.0.1:" .. port))
  end)
end)
