local eventlet = require "eventlet"

-- Spawn n threads that each acquire sem, note their number, and hold it
-- until released by the test; returns the threads and the order list.
local function contenders(sem, n, order)
  local threads = {}
  for i = 1, n do
    threads[i] = eventlet.spawn(function()
      assert.is_true(sem:acquire())
      order[#order + 1] = i
    end)
  end
  return threads
end

describe("Semaphore", function()
  it("counts units and blocks when none is free", function()
    local sem = eventlet.Semaphore(2)
    assert.is_true(sem:acquire())
    assert.is_true(sem:acquire())
    assert.is_true(sem:locked())
    assert.is_false(sem:acquire(false))
    assert.equal(0, sem.balance)
    sem:release()
    assert.is_false(sem:locked())
    assert.equal(1, sem.balance)
    assert.equal(1, sem.counter)
  end)

  it("serves waiters strictly FIFO, with no barging", function()
    local sem = eventlet.Semaphore(0)
    local order = {}
    local threads = contenders(sem, 5, order)
    eventlet.sleep(0)
    assert.equal(-5, sem.balance)
    for _ = 1, 5 do
      sem:release()
      -- a newcomer must not take the unit handed to the oldest waiter
      assert.is_false(sem:acquire(false))
      eventlet.sleep(0)
    end
    for i = 1, 5 do threads[i]:wait() end
    assert.same({1, 2, 3, 4, 5}, order)
  end)

  it("gives two contenders a fair share (within 10%)", function()
    local sem = eventlet.Semaphore(1)
    local count = {0, 0}
    local stop = false
    local function worker(i)
      while not stop do
        sem:acquire()
        count[i] = count[i] + 1
        eventlet.sleep(0)
        sem:release()
      end
    end
    local a, b = eventlet.spawn(worker, 1), eventlet.spawn(worker, 2)
    eventlet.sleep(0.2)
    stop = true
    a:wait(); b:wait()
    local total = count[1] + count[2]
    assert.is_true(total > 20, "too few rounds: " .. total)
    assert.is_true(math.abs(count[1] - count[2]) <= 0.1 * total,
      ("unfair: %d vs %d"):format(count[1], count[2]))
  end)

  it("times out an acquire and returns false without taking a unit", function()
    local sem = eventlet.Semaphore(0)
    local t0 = eventlet.now()
    assert.is_false(sem:acquire(true, 0.05))
    assert.is_true(eventlet.now() - t0 >= 0.04)
    assert.equal(0, sem.balance)
    sem:release()
    assert.equal(1, sem.counter)
    assert.is_true(sem:acquire(true, 0))
  end)

  it("never loses a unit to a waiter killed or timed out", function()
    local sem = eventlet.Semaphore(0)
    local killed = eventlet.spawn(function() return sem:acquire() end)
    local timed = eventlet.spawn(function()
      return pcall(eventlet.with_timeout, 0.01, sem.acquire, sem)
    end)
    local last = eventlet.spawn(function() return sem:acquire() end)
    eventlet.sleep(0)
    eventlet.kill(killed)
    assert.is_false(timed:wait())
    sem:release()
    assert.is_true(last:wait())
    assert.equal(0, sem.counter)
    assert.equal(0, sem.balance)
  end)

  it("keeps the unit when a release races the kill of the only waiter", function()
    local sem = eventlet.Semaphore(0)
    local waiter = eventlet.spawn(function() return sem:acquire() end)
    eventlet.sleep(0)
    -- ready before the kill wakes the waiter: runs while its record is
    -- still queued but no longer parked
    local releaser = eventlet.spawn(function() return sem:release() end)
    eventlet.kill(waiter)
    assert.is_true(releaser:wait())
    assert.has_error(function() waiter:wait() end)
    assert.equal(1, sem.counter)
    assert.equal(1, sem.balance)
  end)

  it("lets a woken waiter keep its unit when killed before it runs", function()
    local sem = eventlet.Semaphore(0)
    local state = {}
    local gt = eventlet.spawn(function()
      state.got = sem:acquire()
      local ok = pcall(eventlet.sleep, 1)  -- the kill lands here
      state.killed = not ok
      sem:release()
    end)
    eventlet.sleep(0)
    sem:release()          -- the unit is handed over: gt is runnable
    eventlet.kill(gt)      -- ...and killed before it ran
    gt:wait()
    assert.is_true(state.got)
    assert.is_true(state.killed)
    assert.equal(1, sem.counter)
  end)

  it("checks its arguments", function()
    assert.has_error(function() eventlet.Semaphore(-1) end,
      "Semaphore: count must not be negative, got -1")
    assert.has_error(function() eventlet.Semaphore("x") end,
      "Semaphore: count must be a whole number, got x")
    assert.has_error(function() eventlet.Semaphore(1.5) end)
    assert.equal(100, eventlet.Semaphore(1e2).counter)
    local sem = eventlet.Semaphore(1)
    assert.has_error(function() sem:acquire(false, 1) end,
      "Semaphore:acquire: a timeout makes no sense when not blocking")
    assert.has_error(function() sem:acquire(true, -2) end,
      "Semaphore:acquire: timeout must be a non-negative number, got -2")
  end)

  it("holds a unit for a function or a to-be-closed scope", function()
    local sem = eventlet.Semaphore(1)
    assert.equal(3, sem:with(function(a, b) assert.is_true(sem:locked()); return a + b end, 1, 2))
    assert.is_false(sem:locked())
    assert.has_error(function() sem:with(error, "inside") end, "inside")
    assert.is_false(sem:locked())
    do
      local _guard <close> = sem:hold()
      assert.is_true(sem:locked())
    end
    assert.is_false(sem:locked())
    local _ <close> = sem:hold()
    local g, err = sem:hold(0.01)
    assert.is_nil(g)
    assert.equal("timeout", err)
  end)

  it("raises a Timeout in a waiting acquire", function()
    local sem = eventlet.Semaphore(0)
    local ok, e = pcall(eventlet.with_timeout, 0.02, sem.acquire, sem)
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    assert.equal(0, sem.balance)
  end)
end)

describe("BoundedSemaphore and Lock", function()
  it("refuse a release past the initial count", function()
    local sem = eventlet.BoundedSemaphore(1)
    assert.is_true(sem:bounded())
    sem:acquire()
    sem:release()
    assert.has_error(function() sem:release() end,
      "BoundedSemaphore:release: released too many times")
    local lock = eventlet.Lock()
    assert.has_error(function() lock:release() end, "Lock:release: release unlocked lock")
    assert.is_true(lock:acquire())
    assert.is_false(lock:acquire(false))
    lock:release()
    assert.is_false(lock:locked())
  end)
end)

describe("CappedSemaphore", function()
  it("blocks release at the limit until an acquire", function()
    local sem = eventlet.CappedSemaphore(1, 2)
    assert.is_true(sem:release())
    assert.equal(2, sem.counter)
    assert.is_false(sem:release(false))
    assert.is_false(sem:release(true, 0.01))
    local releaser = eventlet.spawn(function() return sem:release() end)
    eventlet.sleep(0)
    assert.equal(3, sem.balance)
    assert.is_true(sem:acquire())
    assert.is_true(releaser:wait())
    assert.equal(2, sem.counter)
  end)

  it("hands a release straight to an acquire at limit 0", function()
    local sem = eventlet.CappedSemaphore(0, 0)
    local gt = eventlet.spawn(function() return sem:acquire() end)
    eventlet.sleep(0)
    assert.is_true(sem:release())
    assert.is_true(gt:wait())
    local rel = eventlet.spawn(function() return sem:release() end)
    eventlet.sleep(0)
    assert.is_true(sem:acquire())
    assert.is_true(rel:wait())
    assert.has_error(function() eventlet.CappedSemaphore(3, 2) end,
      "CappedSemaphore: count must not exceed limit")
  end)
end)
