local eventlet = require "eventlet"
local core = eventlet.core

describe("GreenPool", function()
  it("runs at most size threads and blocks spawners FIFO", function()
    local pool = eventlet.GreenPool(2)
    local release = eventlet.Event()
    local started = {}
    local function job(i) started[#started + 1] = i; release:wait() end
    pool:spawn(job, 1)
    pool:spawn(job, 2)
    assert.equal(2, pool:running())
    assert.equal(0, pool:free())
    local spawners = {}
    for i = 3, 5 do spawners[i] = eventlet.spawn(function() pool:spawn(job, i) end) end
    eventlet.sleep(0)
    assert.equal(3, pool:waiting())
    assert.same({1, 2}, started)
    release:send()
    assert.is_true(pool:waitall(5))
    for i = 3, 5 do spawners[i]:wait() end
    assert.same({1, 2, 3, 4, 5}, started)
    assert.equal(0, pool:running())
    assert.equal(2, pool:free())
  end)

  it("returns the thread, whose results and errors wait() gives", function()
    local pool = eventlet.GreenPool(3)
    local gt = pool:spawn(function(a, b) return a * b end, 6, 7)
    assert.equal(42, gt:wait())
    core.print_errors(false)
    local bad = pool:spawn(error, "job failed")
    local ok, e = pcall(bad.wait, bad)
    core.print_errors(true)
    assert.is_false(ok)
    assert.equal("job failed", e)
    assert.equal(0, pool:running())
  end)

  it("frees the slot of a thread that fails or is killed", function()
    local pool = eventlet.GreenPool(1)
    core.print_errors(false)
    pool:spawn(error, "x")
    local gt = pool:spawn(function() return "ran" end)  -- waits for the slot
    core.print_errors(true)
    assert.equal("ran", gt:wait())
    local sleeper = pool:spawn(eventlet.sleep, 10)
    eventlet.sleep(0)
    sleeper:kill()
    assert.equal(1, pool:free())
    local never = pool:spawn(function() end)
    never:kill()  -- killed before it started: its slot comes back too
    assert.is_true(pool:waitall(1))
    assert.equal(1, pool:free())
  end)

  it("runs a re-entrant spawn on a full pool instead of deadlocking", function()
    local pool = eventlet.GreenPool(1)
    local outer = pool:spawn(function()
      local inner = pool:spawn(function() return "inner" end)
      assert.is_true(inner:dead())
      return "outer+" .. inner:wait()
    end)
    assert.equal("outer+inner", outer:wait())
    assert.is_true(pool:waitall(1))
  end)

  it("lets a Timeout reach a member waiting for its re-entrant spawn", function()
    local pool = eventlet.GreenPool(1)
    local outer = pool:spawn(function()
      return pcall(eventlet.with_timeout, 0.01, function()
        pool:spawn(eventlet.sleep, 0.2)
        return "not reached"
      end)
    end)
    local ok, e = outer:wait()
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    assert.equal(1, pool:running())  -- the inner job goes on
    assert.is_true(pool:waitall(5))
  end)

  it("refuses waitall from a member and times out waitall", function()
    local pool = eventlet.GreenPool(2)
    local gt = pool:spawn(function() return pcall(pool.waitall, pool) end)
    local ok, e = gt:wait()
    assert.is_false(ok)
    assert.matches("called from a pool member", e)
    local sleeper = pool:spawn(eventlet.sleep, 0.2)
    assert.same({nil, "timeout"}, {pool:waitall(0.01)})
    sleeper:kill()
    assert.is_true(pool:waitall())
  end)

  it("lets a Timeout cancel a blocked spawn without taking a slot", function()
    local pool = eventlet.GreenPool(1)
    local busy = pool:spawn(eventlet.sleep, 0.1)
    local ok, e = pcall(eventlet.with_timeout, 0.01, pool.spawn, pool, function() end)
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    assert.equal(0, pool:waiting())
    busy:wait()
    assert.equal(1, pool:free())
  end)

  it("resizes: growing starts blocked spawners, shrinking lets runners finish", function()
    local pool = eventlet.GreenPool(1)
    local gate = eventlet.Event()
    pool:spawn(function() gate:wait() end)
    local spawner = eventlet.spawn(function() pool:spawn(function() gate:wait() end) end)
    eventlet.sleep(0)
    assert.equal(1, pool:waiting())
    pool:resize(2)
    assert.equal(0, pool:waiting())
    assert.equal(2, pool:running())
    pool:resize(0)
    assert.equal(-2, pool:free())
    gate:send()
    assert.is_true(pool:waitall(1))
    spawner:wait()
    assert.has_error(function() pool:resize(-1) end, "GreenPool:resize: size must not be negative, got -1")
  end)

  it("checks its arguments", function()
    assert.has_error(function() eventlet.GreenPool("ten") end, "GreenPool: size must be a whole number, got ten")
    assert.has_error(function() eventlet.GreenPool(-1) end, "GreenPool: size must not be negative, got -1")
    local pool = eventlet.GreenPool()
    assert.equal(1000, pool:free())
    assert.has_error(function() pool:spawn(42) end, "GreenPool:spawn: expected a function, got number")
    assert.has_error(function() pool:imap(print, 3) end,
      "GreenPool:imap: input 1 must be an array or a function, got number")
  end)

  it("imap gives results in input order, failures in place", function()
    local pool = eventlet.GreenPool(3)
    local running, most = 0, 0
    local function slow(x, y)
      running = running + 1
      most = math.max(most, running)
      eventlet.sleep((10 - x) * 0.001)
      running = running - 1
      if x == 4 then error("four", 0) end
      return x + y
    end
    local got = {}
    for ok, v in pool:imap(slow, {1, 2, 3, 4, 5, 6, 7, 8}, {10, 20, 30, 40, 50, 60, 70, 80, 90}) do
      got[#got + 1] = ok and v or ("error: " .. v)
    end
    assert.same({11, 22, 33, "error: four", 55, 66, 77, 88}, got)
    assert.is_true(most <= 3)
    local n = 0
    for _ in pool:imap(slow, {}) do n = n + 1 end
    assert.equal(0, n)
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local sq = {}
    for _, v in pool:imap(function(x) return x * x end, gen) do sq[#sq + 1] = v end
    assert.same({1, 4, 9}, sq)
  end)

  it("starmap unpacks each argument list", function()
    local pool = eventlet.GreenPool(2)
    local got = {}
    for ok, v in pool:starmap(function(a, b) return a - b end, {{5, 1}, {9, 3}, {2, 2}}) do
      assert.is_true(ok)
      got[#got + 1] = v
    end
    assert.same({4, 6, 0}, got)
  end)
end)

describe("GreenPile", function()
  it("gives results in spawn order, errors in place", function()
    local pile = eventlet.GreenPile(4)
    for i = 1, 5 do
      pile:spawn(function()
        eventlet.sleep((5 - i) * 0.002)
        if i == 2 then error("two", 0) end
        return i * 10
      end)
    end
    local got = {}
    for ok, v in pile do got[#got + 1] = ok and v or v end
    assert.same({10, "two", 30, 40, 50}, got)
    assert.equal(0, pile:count())
    assert.is_nil(pile:next())
  end)

  it("shares one pool between piles", function()
    local pool = eventlet.GreenPool(2)
    local a, b = eventlet.GreenPile(pool), eventlet.GreenPile(pool)
    local most, running = 0, 0
    local function job(x)
      running = running + 1; most = math.max(most, running)
      eventlet.sleep(0.002)
      running = running - 1
      return x
    end
    for i = 1, 3 do a:spawn(job, "a" .. i); b:spawn(job, "b" .. i) end
    local got = {}
    for _, v in a do got[#got + 1] = v end
    for _, v in b do got[#got + 1] = v end
    assert.same({"a1", "a2", "a3", "b1", "b2", "b3"}, got)
    assert.is_true(most <= 2)
  end)
end)
