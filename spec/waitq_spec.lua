-- core.waitq: the FIFO of parked threads under every coordination
-- primitive.  It must hold exactly the threads still parked in it.
local eventlet = require "eventlet"
local core = eventlet.core

-- Spawn n threads that wait on q in turn and record (i, values...).
local function waiters(q, n, log, timeout)
  local threads = {}
  for i = 1, n do
    threads[i] = eventlet.spawn(function()
      local record = {i, q:wait(timeout, "spec wait")}
      log[#log + 1] = record
    end)
  end
  eventlet.sleep(0)
  return threads
end

describe("core.waitq", function()
  it("wakes waiters oldest first, handing each the values", function()
    local q, log = core.waitq(), {}
    local threads = waiters(q, 3, log)
    assert.equal(3, #q)
    assert.equal(3, q:count())
    assert.same({true}, {q:wake("a", nil, "c")})
    assert.same({true}, {q:wake("b")})
    assert.equal(1, #q)
    eventlet.sleep(0)
    assert.same({{1, true, "a", nil, "c"}, {2, true, "b"}}, log)
    assert.equal(1, q:wake_all("all"))
    for _, gt in ipairs(threads) do gt:wait() end
    assert.same({3, true, "all"}, log[3])
    assert.is_false(q:wake("nobody"))
  end)

  it("hands a waiter's item to its waker, once", function()
    local q = core.waitq()
    local gt = eventlet.spawn(function() return q:wait(nil, "put", {"item"}) end)
    eventlet.sleep(0)
    local woke, item = q:wake("thanks")
    assert.is_true(woke)
    assert.same({"item"}, item)
    assert.same({true, "thanks"}, {gt:wait()})
    -- a later wait without an item leaves nothing for its waker
    gt = eventlet.spawn(function() return q:wait() end)
    eventlet.sleep(0)
    assert.same({true}, {q:wake()})
    gt:wait()
  end)

  it("drops a waiter that timed out, and its item", function()
    local q = core.waitq()
    local first = eventlet.spawn(function() return q:wait(0.01, "short", "lost") end)
    local second = eventlet.spawn(function() return q:wait(5, "long") end)
    eventlet.sleep(0)
    assert.same({nil, "timeout"}, {first:wait()})
    assert.equal(1, #q)
    local woke, item = q:wake(42)
    assert.is_true(woke)
    assert.is_nil(item)              -- the second waiter left nothing
    assert.same({true, 42}, {second:wait()})
  end)

  it("drops a killed waiter at once, wherever it stands", function()
    local q, log = core.waitq(), {}
    local threads = waiters(q, 3, log)
    threads[2]:kill()
    assert.equal(2, #q)
    assert.is_false(q:wake_thread(threads[2], "dead"))
    q:wake_all("rest")
    threads[1]:wait()
    threads[3]:wait()
    assert.same({{1, true, "rest"}, {3, true, "rest"}}, log)
  end)

  it("raises a Timeout that fired before the wait without queueing", function()
    local q = core.waitq()
    local t = eventlet.Timeout(0.001)
    pcall(eventlet.sleep, 1)       -- it fires here and, sticky, stays pending
    local ok, e = pcall(q.wait, q)
    t:cancel()
    assert.is_false(ok)
    assert.equal(t, e)
    assert.equal(0, #q)
  end)

  it("wakes one chosen thread with wake_thread", function()
    local q, log = core.waitq(), {}
    local threads = waiters(q, 3, log)
    assert.is_true(q:wake_thread(threads[3], "picked"))
    assert.is_false(q:wake_thread(threads[3], "again"))
    eventlet.sleep(0)
    assert.same({{3, true, "picked"}}, log)
    assert.equal(2, q:wake_all())
    for _, gt in ipairs(threads) do gt:wait() end
  end)

  it("names the wait for introspection and prints its size", function()
    local q = core.waitq()
    local gt = eventlet.spawn(function() return q:wait(nil, "spec label") end)
    eventlet.sleep(0)
    local waiting
    for _, info in ipairs(core.threads()) do
      if info.thread == gt then waiting = info.waiting end
    end
    assert.equal("spec label", waiting)
    assert.equal("waitq (1 waiting)", tostring(q))
    q:wake()
    gt:wait()
    assert.equal("waitq (0 waiting)", tostring(q))
  end)

  it("leaves a waiter of a collected queue parked, and safe to time out", function()
    local gt = eventlet.spawn(function()
      local q = core.waitq()
      return q:wait(0.05)
    end)
    eventlet.sleep(0)
    collectgarbage()
    collectgarbage()
    assert.same({nil, "timeout"}, {gt:wait()})
  end)

  it("waits nested in a caller that cannot yield", function()
    local q = core.waitq()
    eventlet.spawn_after(0.01, function() q:wake("from a thread") end)
    assert.same({true, "from a thread"}, {q:wait(5)})
    assert.equal(0, #q)
  end)
end)
