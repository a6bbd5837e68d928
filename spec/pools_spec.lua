local eventlet = require "eventlet"
local pools = require "eventlet.pools"

-- A create function counting its calls; items are numbered tables.
local function counter()
  local made = {n = 0}
  return made, function()
    made.n = made.n + 1
    return {id = made.n}
  end
end

describe("pools.Pool", function()
  it("creates min_size items at once and more on demand up to max_size", function()
    local made, create = counter()
    local pool = pools.Pool{min_size = 1, max_size = 2, create = create}
    assert.equal(1, made.n)
    local a, b = pool:get(), pool:get()
    assert.equal(2, made.n)
    assert.are_not.equal(a, b)
    assert.equal(0, pool:free())
    assert.same({nil, "timeout"}, {pool:get(0.01)})
    pool:put(a)
    assert.equal(a, pool:get())
    pool:put(a); pool:put(b)
    assert.equal(2, pool:free())
  end)

  it("never runs create more than max_size times however many getters race", function()
    local made = {n = 0}
    local pool = pools.Pool{max_size = 3, create = function()
      made.n = made.n + 1
      eventlet.sleep(0.002)  -- create blocks: others race meanwhile
      return {id = made.n}
    end}
    local threads = {}
    for i = 1, 20 do
      threads[i] = eventlet.spawn(function()
        local item = pool:get()
        eventlet.sleep(0.001)
        pool:put(item)
      end)
    end
    for i = 1, 20 do threads[i]:wait() end
    assert.equal(3, made.n)
    assert.equal(3, pool:free())
  end)

  it("serves waiting getters FIFO with put items", function()
    local _, create = counter()
    local pool = pools.Pool{max_size = 1, create = create}
    local item = pool:get()
    local order = {}
    local threads = {}
    for i = 1, 3 do
      threads[i] = eventlet.spawn(function()
        local it = pool:get()
        order[#order + 1] = i
        pool:put(it)
      end)
    end
    eventlet.sleep(0)
    assert.equal(3, pool:waiting())
    pool:put(item)
    for i = 1, 3 do threads[i]:wait() end
    assert.same({1, 2, 3}, order)
  end)

  it("leaks no slot when create fails, and lets a waiter create instead", function()
    local fail = true
    local pool = pools.Pool{max_size = 1, create = function()
      eventlet.sleep(0.001)
      if fail then fail = false; error("connect failed", 0) end
      return "ok"
    end}
    local waiter
    local first = eventlet.spawn(function() return pcall(pool.get, pool) end)
    eventlet.sleep(0)
    waiter = eventlet.spawn(function() return pool:get(1) end)
    local ok, e = first:wait()
    assert.is_false(ok)
    assert.equal("connect failed", e)
    assert.equal("ok", waiter:wait())
    pool:put("ok")
    assert.equal(1, pool:free())
  end)

  it("item(fn) returns the item even when fn raises", function()
    local _, create = counter()
    local pool = pools.Pool{max_size = 1, create = create}
    assert.equal(7, pool:item(function(it) return it.id + 6 end))
    assert.has_error(function() pool:item(function() error("inside", 0) end) end, "inside")
    assert.equal(1, pool:free())
  end)

  it("orders as a stack when asked", function()
    local pool = pools.Pool{max_size = 3, order_as_stack = true, create = function() return {} end}
    local a, b = pool:get(), pool:get()
    pool:put(a); pool:put(b)
    assert.equal(b, pool:get())
    local fifo = pools.Pool{max_size = 3, create = function() return {} end}
    local c, d = fifo:get(), fifo:get()
    fifo:put(c); fifo:put(d)
    assert.equal(c, fifo:get())
  end)

  it("resizes: shrinking drops items coming back, growing lets waiters create", function()
    local made, create = counter()
    local pool = pools.Pool{max_size = 2, create = create}
    local a, b = pool:get(), pool:get()
    pool:resize(1)
    pool:put(a)  -- over the limit: dropped
    assert.equal(0, pool:free())
    local waiter = eventlet.spawn(function() return pool:get() end)
    eventlet.sleep(0)
    assert.equal(1, pool:waiting())
    pool:resize(2)
    local c = waiter:wait()
    assert.equal(3, made.n)
    pool:put(b); pool:put(c)
    assert.equal(2, pool:free())
  end)

  it("checks its arguments", function()
    assert.has_error(function() pools.Pool{max_size = -1} end,
      "Pool: max_size must not be negative, got -1")
    assert.has_error(function() pools.Pool{create = 5} end, "Pool: create must be a function")
    assert.has_error(function() pools.Pool{}:get() end)
    assert.has_error(function() pools.Pool{create = print}:put(nil) end, "Pool:put: nil item")
  end)

  it("fans a block out over inputs, results in input order", function()
    local pool = pools.TokenPool{max_size = 2}
    local running, most = 0, 0
    local results = pool:fan(function(token, x)
      assert.equal("Token", tostring(token))
      running = running + 1; most = math.max(most, running)
      eventlet.sleep((5 - x) * 0.001)
      running = running - 1
      return x * 2
    end, {1, 2, 3, 4})
    assert.same({2, 4, 6, 8}, results)
    assert.is_true(most <= 2)
  end)

  it("reports some-failed and all-failed fans with the results", function()
    local pool = pools.TokenPool{max_size = 3}
    local ok, e = pcall(pool.fan, pool, function(_, x)
      if x % 2 == 0 then error("even " .. x, 0) end
      return x
    end, {1, 2, 3})
    assert.is_false(ok)
    assert.is_true(pools.is_fan_failure(e, "SomeFailed"))
    assert.same({1, "even 2", 3}, e.results)
    assert.same({[2] = true}, e.failed)
    assert.matches("SomeFailed: 1 of 3 failed", tostring(e))
    ok, e = pcall(pool.fan, pool, function() error("no", 0) end, {1, 2})
    assert.is_false(ok)
    assert.is_true(pools.is_fan_failure(e, "AllFailed"))
    assert.same({"no", "no"}, e.results)
    assert.equal(3, pool:free())
  end)
end)

describe("pools.ConnectionPool", function()
  -- Connections are objects recording their closing.
  local function connections()
    local opened = {}
    return opened, function()
      local conn = {closed = false}
      function conn.close(c) c.closed = true end
      opened[#opened + 1] = conn
      return conn
    end
  end

  it("reuses connections, most recent first, up to max_size", function()
    local opened, create = connections()
    local pool = pools.ConnectionPool{create = create, max_size = 2}
    local a, b = pool:get(), pool:get()
    pool:put(a); pool:put(b)
    assert.equal(b, pool:get())
    assert.equal(a, pool:get())
    assert.equal(2, #opened)
    assert.same({nil, "timeout"}, {pool:get(0.01)})
    pool:put(a); pool:put(b)
    assert.equal(2, pool:free())
  end)

  it("closes connections idle past max_idle or older than max_age", function()
    local opened, create = connections()
    local pool = pools.ConnectionPool{create = create, max_size = 2, max_idle = 0.02, max_age = 0.2}
    local a = pool:get()
    pool:put(a)
    eventlet.sleep(0.04)
    local b = pool:get()  -- a idled too long: closed, b is new
    assert.are_not.equal(a, b)
    assert.is_true(a.closed)
    eventlet.sleep(0.25)
    pool:put(b)           -- b is too old to keep
    assert.is_true(b.closed)
    assert.equal(2, pool:free())
    local c = pool:get()
    pool:put(c)
    eventlet.sleep(0.04)
    assert.equal(1, pool:expire())
    assert.is_true(c.closed)
    assert.equal(3, #opened)
  end)

  it("closes connections coming back to a pool resized below them", function()
    local opened, create = connections()
    local pool = pools.ConnectionPool{create = create, max_size = 2}
    local a, b = pool:get(), pool:get()
    pool:resize(1)
    pool:put(a)
    assert.is_true(a.closed)
    pool:put(b)
    assert.is_false(b.closed)
    assert.equal(b, pool:get())
    assert.equal(2, #opened)
    pool:put(b)
  end)

  it("discards broken connections and frees their slot", function()
    local opened, create = connections()
    local pool = pools.ConnectionPool{create = create, max_size = 1}
    local a = pool:get()
    local waiter = eventlet.spawn(function() return pool:get() end)
    eventlet.sleep(0)
    pool:discard(a)
    local b = waiter:wait()
    assert.is_true(a.closed)
    assert.are_not.equal(a, b)
    pool:put(b)
    pool:close_all()
    assert.is_true(b.closed)
    assert.equal(2, #opened)
    assert.has_error(function() pools.ConnectionPool{} end, "ConnectionPool: expected {create = function, ...}")
  end)
end)
