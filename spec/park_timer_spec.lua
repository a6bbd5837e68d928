-- A park's timer is lazy (src/parktimer.c): a wake before the timeout
-- leaves it armed, uncounted, for the thread's next park.  None of that
-- may show: every wait still times out at its own deadline, a lingering
-- timer keeps no loop alive and counts as no watcher.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local child = require "child_support"

-- In a new thread: a wait of `first` seconds ended at once by a send, then
-- between() if given, then a wait of `second` seconds that nothing ends.
-- Returns what the second got and how long it took (wall time: the loop's
-- may be stale after between()).
local function second_wait(first, second, between)
  local ev1, ev2 = eventlet.Event(), eventlet.Event()
  local t = eventlet.spawn(function()
    assert.equal("early", ev1:wait(first))   -- woken at once: its timer lingers
    if between then between() end
    local t0 = core.time()
    local got = ev2:wait(second)
    return got, core.time() - t0
  end)
  eventlet.sleep(0)
  ev1:send("early")
  return t:wait()
end

describe("a park timeout after an earlier park of the thread ended early", function()
  it("is its own when longer: the earlier timer firing re-arms for the rest", function()
    local got, took = second_wait(0.05, 0.3)
    assert.is_nil(got)
    assert.is_true(took >= 0.29 and took < 2, "timed out after " .. took .. " s, not 0.3")
  end)

  it("is its own when shorter: the lingering longer timer is replaced", function()
    local got, took = second_wait(30, 0.05)
    assert.is_nil(got)
    assert.is_true(took >= 0.04 and took < 2, "timed out after " .. took .. " s, not 0.05")
  end)

  it("is its own when the lingering timer is overdue: it is replaced, not extended", function()
    -- The thread runs past its lingering 0.05 s timer without yielding, so
    -- the timer is overdue, not yet run, when the next park starts.
    local got, took = second_wait(0.05, 0.2, function()
      local spin = core.time() + 0.5
      while core.time() < spin do end
    end)
    assert.is_nil(got)
    assert.is_true(took >= 0.19 and took < 0.4, "timed out after " .. took .. " s, not 0.2")
  end)

  it("does not fire on a later park without a timeout", function()
    local first, second = eventlet.Event(), eventlet.Event()
    local t = eventlet.spawn(function()
      assert.equal("early", first:wait(0.02))
      return second:wait()   -- no timeout: the lingering timer must not end it
    end)
    eventlet.sleep(0)
    first:send("early")
    eventlet.sleep(0.1)
    assert.is_false(t:dead())
    second:send("late")
    assert.equal("late", t:wait())
  end)

  it("is what introspection reports, not the lingering timer's", function()
    local first, second = eventlet.Event(), eventlet.Event()
    local pre = eventlet.spawn(function()
      first:wait(0.05)
      return second:wait(5)
    end)
    eventlet.sleep(0)
    first:send(true)
    eventlet.sleep(0.01)
    local info
    for _, i in ipairs(core.threads()) do if i.id == pre:id() then info = i end end
    assert.is_true(info.timer > 4.9 and info.timer <= 5, "reported " .. tostring(info.timer))
    second:send("done")
    assert.equal("done", pre:wait())
  end)
end)

describe("a lingering park timer", function()
  -- (stats.watchers counts what was armed at the hub's last poll: each
  -- sleep below makes one, its own timer counted alike every time.)
  it("counts as no watcher once its park ended", function()
    eventlet.sleep(0.01)
    local base = core.stats().watchers
    local ev, hold = eventlet.Event(), eventlet.Event()
    local t = eventlet.spawn(function()
      ev:wait(30)
      return hold:wait()   -- alive, parked without a timeout: the timer lingers
    end)
    eventlet.sleep(0.01)
    assert.equal(base + 1, core.stats().watchers)   -- the park's timer, armed
    ev:send("now")
    eventlet.sleep(0.01)
    assert.equal(base, core.stats().watchers)       -- lingering, not counted
    hold:send("held")
    assert.equal("held", t:wait())
  end)

  -- (Plain lua5.4 only: under the host the script's wait yields to the hub,
  -- which polls, and use_hub is refused after a poll -- hub_spec.)
  it("is stopped by use_hub, and timed waits work on the new loop", function()
    local other = core.backend() == "poll" and "select" or "poll"
    local out, status = child.run("", "timeout 20 lua5.4", ([[
      local e = require "eventlet"
      local ev = e.Event()
      e.spawn(ev.send, ev, 1)
      assert(ev:wait(30) == 1)   -- woken before the hub ever polled: its timer lingers
      print(e.use_hub("%s"))
      local t0 = e.core.now()
      print(e.Event():wait(0.05), e.core.now() - t0 >= 0.04)
    ]]):format(other))
    assert.equal(0, status, out)
    assert.equal(other .. "\nnil\ttrue\n", out)
  end)

  for _, runtime in ipairs(child.RUNTIMES) do
    it("keeps no program alive (" .. runtime .. ")", function()
      local code = [[
        local e = require "eventlet"
        local ev, done = e.Event(), e.Event()
        e.spawn(function()
          ev:wait(30)            -- woken at once: a 30 s timer lingers
          done:send(true)
          e.Event():wait()       -- parked for good, on nothing the hub watches
        end)
        e.sleep(0)
        ev:send(true)
        done:wait()
        print("done")
      ]]
      if runtime == "lua5.4" then code = code .. "e.core.run()\n" end   -- the host runs it itself
      local t0 = core.time()
      local out, status = child.run("", "timeout 20 " .. runtime, code)
      assert.equal(0, status, out)
      assert.equal("done\n", out)
      assert.is_true(core.time() - t0 < 10, "the program lived on for its lingering timer")
    end)
  end
end)
