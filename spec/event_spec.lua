local eventlet = require "eventlet"

describe("Event", function()
  it("wakes every waiter with the values, without yielding in send", function()
    local evt = eventlet.Event()
    local got = {}
    local threads = {}
    for i = 1, 3 do
      threads[i] = eventlet.spawn(function() got[i] = {evt:wait()} end)
    end
    eventlet.sleep(0)
    assert.equal(3, evt:waiting())
    evt:send("a", nil, "c")
    assert.same({}, got)  -- send did not yield
    for i = 1, 3 do threads[i]:wait() end
    for i = 1, 3 do assert.same({"a", nil, "c"}, got[i]) end
    assert.equal(3, select("#", evt:wait()))
  end)

  it("returns the same values at once, forever, once sent", function()
    local evt = eventlet.Event()
    evt:send(42)
    assert.is_true(evt:ready())
    assert.equal(42, evt:wait())
    assert.equal(42, evt:wait(0))
    assert.is_true(evt:has_result())
    assert.is_false(evt:has_exception())
  end)

  it("returns nil after its timeout, and stays usable", function()
    local evt = eventlet.Event()
    local t0 = eventlet.now()
    assert.is_nil(evt:wait(0.05))
    assert.is_true(eventlet.now() - t0 >= 0.04)
    assert.is_nil(evt:wait(0))
    assert.equal(0, evt:waiting())
    local gt = eventlet.spawn(function() return evt:wait(5) end)
    eventlet.sleep(0)
    evt:send("late")
    assert.equal("late", gt:wait())
  end)

  it("raises send_exception in early and late waiters", function()
    local evt = eventlet.Event()
    local err = {"boom"}
    local early = eventlet.spawn(function() return pcall(evt.wait, evt) end)
    eventlet.sleep(0)
    evt:send_exception(err)
    local ok, e = early:wait()
    assert.is_false(ok)
    assert.equal(err, e)
    ok, e = pcall(evt.wait, evt)
    assert.is_false(ok)
    assert.equal(err, e)
    assert.is_true(evt:has_exception())
  end)

  it("rejects a second send and a reset before any send", function()
    local evt = eventlet.Event()
    assert.has_error(function() evt:reset() end, "Event:reset: the event was never sent")
    evt:send(1)
    assert.has_error(function() evt:send(2) end, "Event:send: already sent (reset() first)")
    assert.has_error(function() evt:send_exception("x") end)
    evt:reset()
    assert.is_false(evt:ready())
    evt:send(2)
    assert.equal(2, evt:wait())
  end)

  it("gives woken waiters the sent values even when reset before they run", function()
    local evt = eventlet.Event()
    local gt = eventlet.spawn(function() return evt:wait() end)
    eventlet.sleep(0)
    evt:send("first")
    evt:reset()
    assert.equal("first", gt:wait())
  end)

  it("serves a waiter killed while waiting no value and forgets it", function()
    local evt = eventlet.Event()
    local gt = eventlet.spawn(function() return evt:wait() end)
    eventlet.sleep(0)
    eventlet.kill(gt)
    assert.equal(0, evt:waiting())
    evt:send(1)
    assert.has_error(function() gt:wait() end)
  end)

  it("raises a Timeout in a waiter and leaves nothing behind", function()
    local evt = eventlet.Event()
    local ok, e = pcall(eventlet.with_timeout, 0.02, evt.wait, evt)
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    assert.equal(0, evt:waiting())
    assert.equal(0, #evt.waiters)
  end)

  it("allocates nothing per hand-off of one value", function()
    local ping, pong = eventlet.Event(), eventlet.Event()
    local N = 3000
    local echo = eventlet.spawn(function()
      for _ = 1, N + 50 do
        local v = ping:wait(); ping:reset(); pong:send(v)
      end
    end)
    local function round(i)
      ping:send(i)
      local v = pong:wait(); pong:reset()
      assert(v == i)
    end
    for i = 1, 50 do round(i) end
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for i = 1, N do round(i) end
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    echo:wait()
    assert.is_true(grown < 1, ("%.1f KB allocated for %d hand-offs"):format(grown, N))
  end)

  it("works from the main thread of a plain interpreter (nested hub)", function()
    local evt = eventlet.Event()
    local gt = eventlet.spawn(function() eventlet.sleep(0.01); evt:send("done") end)
    assert.equal("done", evt:wait())
    gt:wait()
  end)
end)
