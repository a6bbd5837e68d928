-- workers = N: forked workers sharing the port under a supervisor that
-- restarts crashes, restarts on SIGHUP and stops on SIGTERM.
--
-- Which worker accepts a given connection is the kernel's choice (they
-- share one listening socket), so the spec reads the supervisor's
-- children from /proc instead of hoping requests reach each of them.
local eventlet = require "eventlet"
local processes = require "eventlet.processes"
local H = require "helpers.httpd"

-- Ask the server once; returns worker pid and its parent's pid.
local function whoami(port)
  local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
  local pid, ppid = res.body:match("^(%d+) (%d+)$")
  return tonumber(pid), tonumber(ppid)
end

-- What /proc says of pid: its stat line, or nil once it is gone (it may
-- vanish between open and read).  The file is closed at once: a handle
-- left to the collector would count as this spec's open descriptor.
local function stat_of(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return nil end
  local stat = f:read("a")
  f:close()
  return stat
end

-- Whether process pid runs: it exists and is not a zombie (one that ended
-- has; reaping an orphan is its new parent's business).
local function alive(pid)
  local state = (stat_of(pid) or ""):match("^%d+ %b() (%S)")
  return state ~= nil and state ~= "Z"
end

-- The set of live children of pid, and how many there are.
local function children(pid)
  local set, n = {}, 0
  local list = io.open(("/proc/%d/task/%d/children"):format(pid, pid))
  local text = list and list:read("a") or ""
  if list then list:close() end
  for child in text:gmatch("%d+") do
    if alive(child) then set[tonumber(child)] = true; n = n + 1 end
  end
  return set, n
end

-- Poll until pred() is true (at most 10 s).
local function eventually(pred)
  for _ = 1, 200 do
    if pred() then return true end
    eventlet.sleep(0.05)
  end
  return false
end

-- What the supervisor wrote on stderr so far (for a failure message).
local function stderr_so_far(p)
  p.stderr:settimeout(0)
  local _, _, partial = p.stderr:receive("*a")
  return partial or ""
end

-- What a worker that should have ended waits on: its /proc stat line and
-- the green threads it dumps on SIGUSR1 (spec/helpers/httpd_workers_app.lua)
-- into the supervisor's stderr pipe p.  It is killed afterwards.
local function stuck_worker(p, pid)
  local line = stat_of(pid) or "gone"
  os.execute("kill -USR1 " .. pid)
  eventlet.sleep(0.5)
  os.execute("kill -KILL " .. pid)   -- no orphan left behind
  return line .. "\n" .. stderr_so_far(p)
end

-- Wait until the supervisor p has exactly `want` live workers, none of
-- them in `old`; returns that set.
local function workers_settle(p, want, old)
  local now
  local ok = eventually(function()
    local set, n = children(p.pid)
    for pid in pairs(set) do if old[pid] then return false end end
    now = set
    return n == want
  end)
  assert(ok, "the supervisor never had " .. want .. " fresh workers; it said: " .. stderr_so_far(p))
  return now
end

-- A request is answered by one of the workers in `set`.
local function answered_by(port, sup, set)
  local pid, ppid = whoami(port)
  assert.equal(sup, ppid)
  assert.is_true(set[pid] == true, "answered by " .. tostring(pid) .. ", not a current worker")
end

describe("httpd workers", function()
  it("forks workers, restarts crashed ones and on SIGHUP, stops on SIGTERM", function()
    local p <close> = assert(processes.spawn({"./eventlet-lua", "spec/helpers/httpd_workers_app.lua",
                                              stdout = "null", stderr = "pipe"}))
    p.stderr:settimeout(10)
    local line = assert(p.stderr:receive("*l"))
    local port = tonumber(line:match(":(%d+)$"))
    local first = workers_settle(p, 2, {})
    for _ = 1, 4 do answered_by(port, p.pid, first) end
    -- a crash is answered by nothing, then a fresh worker takes the slot
    H.exchange(port, "GET /crash HTTP/1.1\r\nHost: x\r\n\r\n")
    local after_crash
    assert.is_true(eventually(function()
      local set, n = children(p.pid)
      local fresh, kept = 0, 0
      for pid in pairs(set) do
        if first[pid] then kept = kept + 1 else fresh = fresh + 1 end
      end
      after_crash = set
      return n == 2 and fresh == 1 and kept == 1
    end), "a crashed worker was not replaced; the supervisor said: " .. stderr_so_far(p))
    answered_by(port, p.pid, after_crash)
    -- SIGHUP replaces every worker
    assert(p:kill("HUP"))
    local renewed = workers_settle(p, 2, after_crash)
    for _ = 1, 4 do answered_by(port, p.pid, renewed) end
    -- SIGTERM: the supervisor drains its workers and dies by the signal
    assert(p:kill("TERM"))
    local code, how, sig = p:wait(20)
    p:close()
    assert.is_nil(code)
    assert.equal("signal", how)
    assert.equal(15, sig)
    for pid in pairs(renewed) do
      assert.is_true(eventually(function() return not alive(pid) end))
    end
    assert.is_nil(eventlet.connect("127.0.0.1:" .. port))
  end)

  it("takes its workers along when the supervisor is killed outright", function()
    local p <close> = assert(processes.spawn({"./eventlet-lua", "spec/helpers/httpd_workers_app.lua",
                                              stdout = "null", stderr = "pipe"}))
    p.stderr:settimeout(10)
    local port = tonumber(assert(p.stderr:receive("*l")):match(":(%d+)$"))
    local workers = workers_settle(p, 2, {})
    answered_by(port, p.pid, workers)
    assert(p:kill("KILL"))           -- no chance to stop them itself
    assert.same({nil, "signal", 9}, {p:wait(10)})
    for pid in pairs(workers) do     -- each got SIGTERM and drained
      if not eventually(function() return not alive(pid) end) then  -- (asked only then)
        error("worker " .. pid .. " outlived its supervisor: " .. stuck_worker(p, pid))
      end
    end
    assert.is_nil(eventlet.connect("127.0.0.1:" .. port))
  end)
end)
