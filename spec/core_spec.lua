local eventlet = require "eventlet"
local core = eventlet.core

describe("green threads", function()
  it("start in spawn order, after the spawner yields", function()
    local order = {}
    for i = 1, 50 do eventlet.spawn(function() order[#order + 1] = i end) end
    assert.same({}, order)
    eventlet.sleep(0)
    local want = {}
    for i = 1, 50 do want[i] = i end
    assert.same(want, order)
  end)

  it("interleave FIFO with sleep(0)", function()
    local order = {}
    local function worker(name)
      for i = 1, 3 do order[#order + 1] = name .. i; eventlet.sleep(0) end
    end
    local a, b = eventlet.spawn(worker, "a"), eventlet.spawn(worker, "b")
    a:wait(); b:wait()
    assert.same({"a1", "b1", "a2", "b2", "a3", "b3"}, order)
  end)

  it("woken by sockets in one poll run in the order the sockets became ready", function()
    -- libev runs one poll's watchers last-reported first; the hub puts
    -- them back in the order the backend reported them: readiness with
    -- epoll, the order the sockets were watched with poll -- here both
    -- 1..9.  select(2) reports a set, which libev scans from the highest
    -- fd down: no order of readiness to keep there.  Readers, dormant
    -- sockets' new threads and core.trampoline waits take turns here.
    local order, socks = {}, {}
    for i = 1, 9 do
      local a, b = core.socketpair()
      socks[i] = {a, b}
      if i % 3 == 1 then
        eventlet.spawn(function() b:recv(1); order[#order + 1] = i end)
        eventlet.sleep(0)   -- it parks: its socket is watched before the next one
      elseif i % 3 == 2 then
        b:dormant(5, function() order[#order + 1] = i end)
      else
        eventlet.spawn(function() core.trampoline(b:getfd(), "r", 5); order[#order + 1] = i end)
        eventlet.sleep(0)
      end
    end
    eventlet.sleep(0.01)   -- a poll hands every socket to the kernel
    for i = 1, 9 do assert(socks[i][1]:send("x")) end   -- ready 1..9, no yield between
    eventlet.sleep(0.05)
    if core.backend() == "select" then table.sort(order) end   -- all nine, in any order
    assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9}, order)
    for _, pair in ipairs(socks) do pair[1]:close(); pair[2]:close() end
  end)

  it("woken by timeouts in one poll run in expiry order, dormant sockets' too", function()
    local order, socks = {}, {}
    for i = 1, 6 do
      if i % 2 == 1 then
        eventlet.spawn(function() eventlet.sleep(0.01 * i); order[#order + 1] = i end)
      else
        local a, b = core.socketpair()
        socks[#socks + 1] = {a, b}
        b:dormant(0.01 * i, function(why) order[#order + 1] = i .. why end)
      end
    end
    eventlet.sleep(0)                                  -- the sleepers park
    local t = os.clock() while os.clock() - t < 0.1 do end   -- all six expire meanwhile
    eventlet.sleep(0.05)
    assert.same({1, "2timeout", 3, "4timeout", 5, "6timeout"}, order)
    for _, pair in ipairs(socks) do pair[1]:close(); pair[2]:close() end
  end)

  it("return every result through wait, and keep them", function()
    local gt = eventlet.spawn(function(x, y) return x + y, "two", nil end, 1, 2)
    local n = select("#", gt:wait())
    assert.equal(3, n)
    assert.same({3, "two"}, {gt:wait()})
    assert.is_true(gt:dead())
  end)

  it("re-raise the error of a failed thread in wait", function()
    core.print_errors(false)
    local err = {}
    local gt = eventlet.spawn(function() error(err) end)
    local ok, e = pcall(gt.wait, gt)
    core.print_errors(true)
    assert.is_false(ok)
    assert.equal(err, e)
  end)

  it("never run a thread killed before it started", function()
    local ran = false
    local gt = eventlet.spawn(function() ran = true end)
    eventlet.kill(gt)
    local ok, e = pcall(gt.wait, gt)
    assert.is_false(ran)
    assert.is_false(ok)
    assert.equal(eventlet.GreenletExit, e)
    assert.equal("GreenletExit", tostring(e))
  end)

  it("kill a parked thread at its wait, with the given error", function()
    local caught
    local gt = eventlet.spawn(function()
      local ok, e = pcall(eventlet.sleep, 10)
      caught = {ok, e}
      return "after"
    end)
    eventlet.sleep(0)
    eventlet.kill(gt, "stop")
    assert.same({false, "stop"}, caught)
    assert.equal("after", gt:wait())
  end)

  it("cancel only threads that have not started", function()
    local gt = eventlet.spawn(function() eventlet.sleep(0.01) end)
    assert.is_true(gt:cancel())
    assert.is_false(gt:cancel())
    local started = eventlet.spawn(function() eventlet.sleep(0.01) end)
    eventlet.sleep(0)
    assert.is_false(started:cancel())
    started:wait()
  end)

  it("treat kill of a dead thread as a no-op", function()
    local gt = eventlet.spawn(function() return 1 end)
    gt:wait()
    eventlet.kill(gt)
    assert.equal(1, gt:wait())
  end)

  it("refuse to wait for itself", function()
    local gt
    gt = eventlet.spawn(function() return pcall(gt.wait, gt) end)
    local ok, err = gt:wait()
    assert.is_false(ok)
    assert.matches("cannot wait for itself", err)
  end)

  it("call links once, in order, also when linked after death", function()
    local calls = {}
    local gt = eventlet.spawn(function() return 5 end)
    gt:link(function(g, tag) calls[#calls + 1] = tag .. ":" .. g:wait() end, "first")
    gt:link(function(_, tag) calls[#calls + 1] = tag end, "second")
    gt:wait()
    eventlet.sleep(0)
    assert.same({"first:5", "second"}, calls)
    gt:link(function(_, tag) calls[#calls + 1] = tag end, "late")
    assert.same({"first:5", "second", "late"}, calls)
  end)

  it("unlink a link before death", function()
    local called = false
    local function cb() called = true end
    local gt = eventlet.spawn(eventlet.sleep, 0)
    gt:link(cb)
    assert.is_true(gt:unlink(cb))
    assert.is_false(gt:unlink(cb))
    gt:wait()
    assert.is_false(called)
  end)

  it("let links block", function()
    local done = false
    local gt = eventlet.spawn(function() return 1 end)
    gt:link(function() eventlet.sleep(0.005); done = true end)
    gt:wait()
    eventlet.sleep(0.05)
    assert.is_true(done)
  end)

  it("spawn_after delays the start; cancel prevents it", function()
    local t0 = core.now()
    local gt = eventlet.spawn_after(0.03, function() return core.now() end)
    assert.is_true(gt:wait() - t0 >= 0.025)
    local ran = false
    local never = eventlet.spawn_after(0.01, function() ran = true end)
    assert.is_true(never:cancel())
    eventlet.sleep(0.03)
    assert.is_false(ran)
  end)

  it("name threads and describe them", function()
    local gt = eventlet.spawn(eventlet.sleep, 0.01)
    gt:name("worker")
    assert.equal("worker", gt:name())
    assert.matches("GreenThread #%d+ %(worker%)", tostring(gt))
    eventlet.sleep(0)
    local found
    for _, info in ipairs(core.threads()) do
      if info.thread == gt then found = info end
    end
    assert.equal("parked", found.state)
    assert.equal("sleep", found.waiting)
    assert.matches("sleep", core.traceback(gt))
    gt:wait()
  end)

  it("give getcurrent the running thread", function()
    local gt = eventlet.spawn(function() return eventlet.getcurrent() end)
    assert.equal(gt, gt:wait())
  end)

  it("report wrong argument types with the function's name", function()
    assert.has_error(function() eventlet.sleep("x") end)
    local ok, err = pcall(eventlet.kill, 42)
    assert.is_false(ok)
    assert.matches("GreenThread expected", err)
    ok, err = pcall(eventlet.spawn_after, "soon", print)
    assert.is_false(ok)
    assert.matches("number expected", err)
    ok, err = pcall(eventlet.spawn, nil)
    assert.is_false(ok)
    assert.matches("bad argument #1 to '.*spawn' %(function expected, got nil%)", err)
    assert.has_error(function() eventlet.exit("x") end,
                     "bad argument #1 to 'exit' (number or boolean expected, got string)")
    local callable = setmetatable({}, {__call = function() return "called" end})
    assert.equal("called", eventlet.spawn(callable):wait())
  end)

  it("kill the thread at scope end when closed", function()
    local cleaned = false
    do
      local _gt <close> = eventlet.spawn(function()
        local ok = pcall(eventlet.sleep, 10)
        cleaned = not ok
      end)
      eventlet.sleep(0)
    end
    eventlet.sleep(0)
    assert.is_true(cleaned)
  end)

  it("give a finished thread's stack back at once, before any collection", function()
    -- 50,000 values on the thread's stack (800 KB): a thread that ends
    -- with no results must not hold them until the collector frees it.
    local wide = ("x"):rep(50000)
    local function grow() assert(select("#", wide:byte(1, -1)) == 50000) end
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    local gt = eventlet.spawn(grow)
    local waited, err = pcall(gt.wait, gt)
    local after = collectgarbage("count")
    collectgarbage("restart")
    assert(waited, err)
    assert.is_true(gt:dead())
    assert.is_true(after - before < 100, ("%.0f KB still held"):format(after - before))
    -- a thread's results stay on its stack, for wait()
    local kept = eventlet.spawn(function() grow() return 1, 2 end)
    assert.same({1, 2}, {kept:wait()})
    assert.same({1, 2}, {kept:wait()})
  end)
end)

describe("Timeout", function()
  it("raises itself in the waiting thread", function()
    local t = eventlet.Timeout(0.01)
    local ok, e = pcall(eventlet.sleep, 1)
    assert.is_false(ok)
    assert.equal(t, e)
    assert.is_true(eventlet.is_timeout(e))
    assert.is_false(t.pending)
    t:cancel()
  end)

  it("raises the given error instead", function()
    local _t <close> = eventlet.Timeout(0.01, "too slow")
    local ok, e = pcall(eventlet.sleep, 1)
    assert.same({false, "too slow"}, {ok, e})
  end)

  it("does nothing once cancelled, and says when it is pending", function()
    local t = eventlet.Timeout(0.01)
    assert.is_true(t.pending)
    t:cancel()
    assert.is_false(t.pending)
    eventlet.sleep(0.02)
  end)

  it("cancels when closed", function()
    do local _t <close> = eventlet.Timeout(0.01) end
    eventlet.sleep(0.02)
  end)

  it("fires the nearest deadline; each owner catches only its own", function()
    local outer = eventlet.Timeout(0.02)
    local ok, e = pcall(eventlet.with_timeout_value, 0.2, "inner", eventlet.sleep, 1)
    outer:cancel()
    assert.is_false(ok)
    assert.equal(outer, e)
  end)

  it("lets an inner with_timeout_value catch its own expiry only", function()
    local v = eventlet.with_timeout_value(0.01, "expired", eventlet.sleep, 1)
    assert.equal("expired", v)
    local outer = eventlet.Timeout(0.01)
    local ok, e = pcall(eventlet.with_timeout_value, 1, "inner", eventlet.sleep, 1)
    outer:cancel()
    assert.is_false(ok)
    assert.equal(outer, e)
  end)

  it("stays raised at every wait until its owner cancels it", function()
    local t = eventlet.Timeout(0.01)
    assert.is_false(pcall(eventlet.sleep, 1))    -- swallowed by accident
    local ok, e = pcall(eventlet.sleep, 0)       -- ...raised again
    assert.is_false(ok)
    assert.equal(t, e)
    t:cancel()
    eventlet.sleep(0)                            -- now waits are free
  end)

  it("with_timeout returns the results in time and raises past it", function()
    assert.equal(7, eventlet.with_timeout(1, function() return 7 end))
    local ok, e = pcall(eventlet.with_timeout, 0.01, eventlet.sleep, 1)
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
  end)

  it("prints its duration", function()
    local t = eventlet.Timeout(1)
    assert.equal("Timeout (1 second)", tostring(t))
    t:cancel()
    t = eventlet.Timeout(0.5)
    assert.equal("Timeout (0.5 seconds)", tostring(t))
    t:cancel()
  end)
end)

describe("blocking where yielding is impossible", function()
  it("runs the hub nested inside a C boundary", function()
    local done = false
    eventlet.spawn(function() done = true end)
    local out = ("x"):gsub("x", function() eventlet.sleep(0.01) return "y" end)
    assert.equal("y", out)
    assert.is_true(done)
  end)

  it("reports a deadlock instead of hanging", function()
    -- In a child process: the spec's own time limit is an armed timer,
    -- which (rightly) counts as something that could still wake us.
    local script = [[
      local eventlet = require "eventlet"
      local gt = eventlet.spawn(eventlet.core.park, nil, "nothing")
      eventlet.sleep(0)
      local ok, err = pcall(function()
        local _ = ("x"):gsub("x", function() eventlet.core.park(nil, "forever") end)
      end)
      print(ok, err)
      eventlet.kill(gt)
    ]]
    local plain = "lua5.4 -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path "
      .. "package.cpath=\"lua/?.so;\"..package.cpath'"
    for _, runtime in ipairs({"./eventlet-lua", plain}) do
      local p = io.popen(runtime .. " - 2>&1 <<'EOF'\n" .. script .. "\nEOF\n")
      local out = p:read("a")
      p:close()
      assert.matches("false\tdeadlock: .* waits on forever and nothing can wake it", out)
      assert.matches("on nothing", out)
    end
  end)
end)

describe("user coroutines", function()
  it("can block on the hub inside an iterator", function()
    local gen = coroutine.wrap(function()
      for i = 1, 3 do eventlet.sleep(0.001); coroutine.yield(i) end
    end)
    assert.same({1, 2, 3}, {gen(), gen(), gen()})
  end)

  it("keep their own yields and errors through resume", function()
    local co = coroutine.create(function(a)
      eventlet.sleep(0)
      local b = coroutine.yield(a + 1)
      eventlet.sleep(0.001)
      error("bad " .. b, 0)
    end)
    assert.same({true, 2}, {coroutine.resume(co, 1)})
    assert.same({false, "bad x"}, {coroutine.resume(co, "x")})
    assert.same({false, "cannot resume dead coroutine"}, {coroutine.resume(co)})
  end)

  it("can nest and let other threads run while parked", function()
    local ticks = 0
    local ticker = eventlet.spawn(function()
      for _ = 1, 5 do ticks = ticks + 1; eventlet.sleep(0.001) end
    end)
    local outer = coroutine.wrap(function()
      local inner = coroutine.wrap(function() eventlet.sleep(0.02); return "deep" end)
      coroutine.yield(inner())
    end)
    assert.equal("deep", outer())
    assert.equal(5, ticks)
    ticker:wait()
  end)
end)

describe("the hub and the rest of the process", function()
  it("never reaps children it did not spawn (io.popen keeps its status)", function()
    local p = io.popen("sleep 0.05; exit 3")
    eventlet.sleep(0.3)  -- the child exits while the loop runs
    local ok, how, code = p:close()
    assert.same({nil, "exit", 3}, {ok, how, code})
  end)

  it("times sleeps from now even after the process blocked", function()
    local p = io.popen("sleep 0.1")
    p:read("a")          -- blocks the whole process for 0.1 s
    p:close()
    local t0 = core.time()
    eventlet.sleep(0.05)
    assert.is_true(core.time() - t0 >= 0.045)
  end)
end)

describe("the seed's and modern eventlet's timeout names", function()
  it("eventlet.timeout and api.TimeoutError/is_timeout recognise a Timeout", function()
    local api = require "eventlet.api"
    local timeout = require "eventlet.timeout"
    local t = api.TimeoutError(0.01)
    local ok, e = pcall(eventlet.sleep, 1)
    t:cancel()
    assert.is_false(ok)
    assert.is_true(api.is_timeout(e))
    assert.is_true(timeout.is_timeout(e))
    assert.equal(eventlet.Timeout, timeout.Timeout)
    assert.equal("late", timeout.with_timeout_value(0.01, "late", eventlet.sleep, 1))
  end)
end)
