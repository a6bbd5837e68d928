-- Hub backends: EVENTLET_HUB and eventlet.use_hub() pick libev's backend,
-- get_hub().backend tells which one runs.  Choosing happens at start-up, so
-- most cases run a fresh child process (the host and plain lua5.4).
local core = require "eventlet.core"
local eventlet = require "eventlet"

local child = require "child_support"

local RUNTIMES = child.RUNTIMES
local run = child.run

-- Code that proves a hub works: a timer, a thread hand-off and fd waits
-- (a FIFO opened read-write: writable at once, readable once written to;
-- its descriptor is found in /proc/self/fd).
local WORKS = [[
  local e = require "eventlet"
  local got = {}
  local fifo = os.tmpname(); os.remove(fifo)
  assert(os.execute("mkfifo " .. fifo))
  local f = assert(io.open(fifo, "r+"))
  local ls = io.popen("ls -l /proc/" .. e.core.getpid() .. "/fd 2>/dev/null")
  local fd = tonumber(ls:read("a"):match("(%d+) %-> " .. fifo:gsub("%p", "%%%0")))
  ls:close()
  local reader = e.spawn(function()
    assert(e.trampoline(fd, "r", 10)); got[#got + 1] = "readable"
  end)
  local a = e.spawn(function() e.sleep(0.02); got[#got + 1] = "timer" end)
  local ev = e.spawn(function() got[#got + 1] = "spawned" end)
  ev:wait(); a:wait()
  assert(e.trampoline(fd, "w", 10))
  f:write("x"); f:flush()
  reader:wait()
  f:close(); os.remove(fifo)
  print(e.get_hub().backend, table.concat(got, ","))
]]

describe("hub backends", function()
  it("reports the backend that runs, one that libev supports here", function()
    local name = eventlet.get_hub().backend
    assert.equal(core.backend(), name)
    local found = false
    for _, b in ipairs(core.backends()) do found = found or b == name end
    assert.is_true(found)
    local want = os.getenv("EVENTLET_HUB")
    if want and want ~= "" and want ~= "default" then assert.equal(want, name) end
  end)

  it("lists epoll, poll and select on Linux", function()
    assert.equal("epoll poll select", table.concat(core.backends(), " "))
  end)

  for _, backend in ipairs{"epoll", "poll", "select"} do
    it("runs on " .. backend .. " from EVENTLET_HUB (host and lua5.4)", function()
      for _, runtime in ipairs(RUNTIMES) do
        local out, status = run("EVENTLET_HUB=" .. backend, runtime, WORKS)
        assert.equal(0, status, out)
        assert.equal(backend .. "\tspawned,timer,readable\n", out)
      end
    end)

    it("switches to " .. backend .. " with use_hub before the first blocking call", function()
      for _, runtime in ipairs(RUNTIMES) do
        local other = backend == "poll" and "select" or "poll"
        local out, status = run("EVENTLET_HUB=" .. other, runtime,
          "print(require('eventlet').use_hub('" .. backend .. "'))\n" .. WORKS)
        assert.equal(0, status, out)
        assert.equal(backend .. "\n" .. backend .. "\tspawned,timer,readable\n", out)
      end
    end)
  end

  it("rejects an unknown backend name clearly", function()
    for _, runtime in ipairs(RUNTIMES) do
      local out, status = run("EVENTLET_HUB=bogus", runtime, "require 'eventlet'")
      assert.equal(1, status)
      assert.matches("EVENTLET_HUB=bogus: unknown backend %(epoll, poll, select, kqueue%)", out)
    end
    assert.has_error(function() eventlet.use_hub("bogus") end,
      "use_hub=bogus: unknown backend (epoll, poll, select, kqueue)")
  end)

  it("does not offer libev's io_uring and linux AIO backends", function()
    for _, name in ipairs{"iouring", "linuxaio"} do
      assert.has_error(function() eventlet.use_hub(name) end,
        "use_hub=" .. name .. ": unknown backend (epoll, poll, select, kqueue)")
      for _, b in ipairs(core.backends()) do assert.not_equal(name, b) end
    end
  end)

  it("rejects a backend this system lacks", function()
    local out, status = run("EVENTLET_HUB=kqueue", "./eventlet-lua", "require 'eventlet'")
    assert.equal(1, status)
    assert.matches("EVENTLET_HUB=kqueue: backend not available here", out)
    assert.has_error(function() eventlet.use_hub("kqueue") end,
      "use_hub=kqueue: backend not available here")
  end)

  it("treats use_hub of the running backend as a no-op, even on a busy hub", function()
    local sleeper = eventlet.spawn(eventlet.sleep, 0.05)
    eventlet.sleep(0)
    assert.equal(core.backend(), eventlet.use_hub(core.backend()))
    sleeper:wait()
  end)

  it("refuses to switch once something waits on the hub", function()
    -- This spec runs under a Timeout (the helper's time limit): armed.
    local other = core.backend() == "poll" and "select" or "poll"
    local in_use = "use_hub: the hub is already in use (call it before the first blocking call)"
    assert.has_error(function() eventlet.use_hub(other) end, in_use)
    local cases = {
      ["local t = e.spawn(e.sleep, 0.05)"] = in_use,          -- a thread scheduled
      ["local t <close> = e.Timeout(5)"] = in_use,            -- a timer armed
      ["e.sleep(0.001)"] = in_use,                            -- the hub polled
      ["local h = e.signal('SIGUSR2', print)"] =
        "use_hub: the hub is already in use (signal handlers or other watchers are armed)",
      ["local h = e.signal('SIGUSR2', print); h:cancel()"] = other,
    }
    for _, runtime in ipairs(RUNTIMES) do
      for setup, expected in pairs(cases) do
        local out = run("", runtime, "local e = require 'eventlet'\n" .. setup .. "\n" ..
          "local ok, err = pcall(e.use_hub, '" .. other .. "'); print(ok and err or err)")
        assert.equal(expected .. "\n", out, setup)
      end
    end
  end)

  it("keeps the graceful SIGTERM exit after use_hub moved the loop", function()
    for _, runtime in ipairs(RUNTIMES) do
      local out, status = run("", runtime, [[
        local e = require "eventlet"
        e.use_hub("select")
        e.on_exit(function(sig) print("hook", sig, e.get_hub().backend) end)
        os.execute("kill -TERM " .. e.core.getpid())
        e.sleep(5)
        print("not reached")
      ]])
      assert.matches("^hook\t15\tselect\n", out)  -- then the shell's "Terminated"
      assert.is_nil(out:find("not reached", 1, true))
      assert.equal(128 + 15, status)
    end
  end)
end)
