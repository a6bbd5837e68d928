local eventlet = require "eventlet"
local coros = require "eventlet.coros"
local core = eventlet.core

describe("coros.event", function()
  it("sends a result or an exception with send(result, exc)", function()
    local evt = coros.event()
    local gt = eventlet.spawn(function() return evt:wait() end)
    eventlet.sleep(0)
    evt:send("r")
    assert.equal("r", gt:wait())
    assert.has_error(function() evt:send("again") end)
    local bad = coros.event()
    bad:send(nil, "exc")
    assert.has_error(function() bad:wait() end, "exc")
  end)

  it("cancels one waiter with Cancelled, leaving the others waiting", function()
    local evt = coros.event()
    local a = eventlet.spawn(function() return pcall(evt.wait, evt) end)
    local b = eventlet.spawn(function() return evt:wait() end)
    eventlet.sleep(0)
    assert.is_true(evt:cancel(a))
    assert.is_false(evt:cancel(eventlet.getcurrent()))
    local ok, e = a:wait()
    assert.is_false(ok)
    assert.equal(coros.Cancelled, e)
    evt:send("for b")
    assert.equal("for b", b:wait())
  end)
end)

describe("coros.semaphore and metaphore", function()
  it("semaphore(count) is unbounded; with a limit release blocks", function()
    local s = coros.semaphore()
    assert.is_false(s:acquire(false))
    s:release()
    assert.is_true(s:acquire(false))
    local capped = coros.semaphore(2, 3)
    assert.is_true(capped:acquire())
    assert.is_true(capped:acquire())
    local third = eventlet.spawn(function() return capped:acquire() end)
    eventlet.sleep(0)
    assert.equal(-1, capped.balance)
    capped:release()
    assert.is_true(third:wait())
    local bounded = coros.BoundedSemaphore(1, 1)
    assert.is_false(bounded:release(false))  -- at its limit: release would block
  end)

  it("metaphore waits for the counter to reach zero", function()
    local m = coros.metaphore()
    assert.is_true(m:wait())
    m:inc(); m:inc(2)
    local waiter = eventlet.spawn(function() return m:wait() end)
    eventlet.sleep(0)
    m:dec(2)
    assert.equal(1, m.counter)
    assert.same({nil, "timeout"}, {m:wait(0.01)})
    m:dec(5)
    assert.equal(0, m.counter)
    assert.is_true(waiter:wait())
  end)
end)

describe("coros.queue", function()
  it("queues results and exceptions in FIFO order, bounded", function()
    local q = coros.queue(2)
    q:send(1); q:send_exception("boom"); assert.same({nil, "timeout"}, {q:send(3, nil, 0)})
    assert.is_true(q:ready())
    assert.equal(2, #q)
    assert.equal(1, q:wait())
    assert.has_error(function() q:wait() end, "boom")
    assert.is_false(q:ready())
    assert.same({nil, "timeout"}, {q:wait(0.01)})
    q:send(nil)
    assert.is_nil(q:wait())
  end)
end)

describe("coros.execute", function()
  it("runs a function in a green thread and sends its result to an event", function()
    local evt = coros.execute(function(a, b) eventlet.sleep(0.001); return a .. b end, "x", "y")
    assert.is_false(evt:ready())
    assert.equal("xy", evt:wait())
    local failed = coros.execute(error, "bad")
    assert.has_error(function() failed:wait() end, "bad")
  end)
end)

describe("coros.CoroutinePool", function()
  it("executes jobs with at most max_size at once", function()
    local pool = coros.CoroutinePool{min_size = 0, max_size = 2}
    local running, most = 0, 0
    local function job(x)
      running = running + 1; most = math.max(most, running)
      eventlet.sleep(0.002)
      running = running - 1
      return x * 3
    end
    local events = {}
    for i = 1, 5 do events[i] = pool:execute(job, i) end
    for i = 1, 5 do assert.equal(i * 3, events[i]:wait()) end
    assert.is_true(most <= 2)
    assert.equal(2, pool:free())
  end)

  it("delivers errors to the event and a kill as a value", function()
    local pool = coros.CoroutinePool{max_size = 2}
    local bad = pool:execute(error, "job error")
    assert.has_error(function() bad:wait() end, "job error")
    local slow = pool:execute(eventlet.sleep, 10)
    eventlet.sleep(0)
    assert.same({nil, "timeout"}, {pool:wait_all(0.01)})
    pool:killall()
    assert.equal(core.GreenletExit, slow:wait())
    assert.is_true(pool:wait_all(1))
  end)

  it("runs a job inline when a worker executes into its full pool", function()
    local pool = coros.CoroutinePool{max_size = 1}
    local outer = pool:execute(function()
      return "got " .. pool:execute(function() return "inner" end):wait()
    end)
    assert.equal("got inner", outer:wait())
  end)

  it("launch_all/process_all and generate_results", function()
    local pool = coros.CoroutinePool{max_size = 3}
    local seen = {}
    pool:process_all(function(a, b) seen[#seen + 1] = a + b end, {{1, 2}, {3, 4}, {5, 6}})
    table.sort(seen)
    assert.same({3, 7, 11}, seen)
    local order = {}
    for ok, v in pool:generate_results(function(x)
      eventlet.sleep(x * 0.003)
      if x == 2 then error("two", 0) end
      return x
    end, {{3}, {1}, {2}}, 2) do
      order[#order + 1] = ok and v or ("error " .. v)
    end
    assert.same({1, "error two", 3}, order)  -- completion order
    assert.is_true(pool:wait_all(1))
  end)
end)

describe("coros.Actor", function()
  it("processes its mailbox in order; cast never blocks; failures don't stop it", function()
    local handled = {}
    local actor = coros.Actor{received = function(_, msg)
      if msg == "bad" then error("bad message", 0) end
      handled[#handled + 1] = msg
      eventlet.sleep(0.001)
    end}
    core.print_errors(false)
    for _, m in ipairs({"a", "bad", "b", "c"}) do actor:cast(m) end
    assert.same({}, handled)  -- cast did not yield
    assert.is_true(actor:join(5))
    core.print_errors(true)
    assert.same({"a", "b", "c"}, handled)
    assert.has_error(function() actor:cast(nil) end, "Actor:cast: nil message")
    actor:kill()
  end)

  it("runs handlers concurrently up to its concurrency", function()
    local running, most = 0, 0
    local actor = coros.Actor{concurrency = 3}
    function actor.received(_, _)
      running = running + 1; most = math.max(most, running)
      eventlet.sleep(0.005)
      running = running - 1
    end
    for i = 1, 9 do actor:cast(i) end
    assert.same({nil, "timeout"}, {actor:join(0.001)})
    assert.is_true(actor:join(5))
    assert.equal(3, most)
    actor:kill()
  end)
end)

describe("coros.pipe", function()
  it("passes bytes between threads", function()
    local p = coros.pipe()
    local reader = eventlet.spawn(function() return p:recv(5), p:recv() end)
    eventlet.sleep(0)
    p:send("hello world")
    local a, b = reader:wait()
    assert.equal("hello", a)
    assert.equal(" world", b)
    assert.same({nil, "timeout"}, {p:recv(10, 0.01)})
  end)
end)
