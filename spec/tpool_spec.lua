-- eventlet.tpool: C jobs on the thread pool park only their caller.
local core = require "eventlet.core"
local tpool = require "eventlet.tpool"

local jobs = tpool.jobs

describe("tpool.execute", function()
  it("runs a blocking job while other green threads keep running", function()
    local ticks = 0
    local ticker = core.spawn(function()
      while true do core.sleep(0.01) ticks = ticks + 1 end
    end)
    assert.is_true(tpool.execute(jobs.sleep, 0.3))
    ticker:kill()
    pcall(ticker.wait, ticker)
    assert.is_true(ticks >= 5)
  end)

  it("runs several jobs at once on the pool", function()
    local done = {}
    local gts = {}
    for i = 1, 3 do
      gts[i] = core.spawn(function()
        tpool.execute(jobs.sleep, 0.2)
        done[#done + 1] = i
      end)
    end
    for i = 1, 3 do gts[i]:wait() end
    table.sort(done)
    assert.same({1, 2, 3}, done)
  end)

  it("lets a Timeout interrupt the wait and the job finish alone", function()
    local t = core.Timeout(0.05)
    local ok, err = pcall(tpool.execute, jobs.sleep, 0.4)
    t:cancel()
    assert.is_false(ok)
    assert.equal(t, err)
    -- the abandoned job still completes; a new one works meanwhile
    assert.is_true(tpool.execute(jobs.sleep, 0))
    core.sleep(0.5)
  end)

  it("lets a kill end the wait", function()
    local gt = core.spawn(tpool.execute, jobs.sleep, 0.3)
    core.sleep(0.02)
    gt:kill()
    assert.has_error(function() gt:wait() end)
    core.sleep(0.4)
  end)

  it("refuses Lua functions and unknown pointers", function()
    assert.has_error(function() tpool.execute(function() end) end,
      "tpool.execute: Lua functions cannot run on the thread pool; "
      .. "pass a C job (light userdata from a C module)")
    assert.has_error(function() tpool.execute("read") end)
    assert.has_error(function() tpool.execute(jobs.sleep, "x") end)
    assert.has_error(function() tpool.execute(jobs.sleep, -1) end)
  end)
end)
