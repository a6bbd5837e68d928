local eventlet = require "eventlet"

describe("Queue", function()
  it("hands items out in FIFO order", function()
    local q = eventlet.Queue()
    for i = 1, 5 do assert.is_true(q:put(i)) end
    assert.equal(5, q:qsize())
    for i = 1, 5 do assert.equal(i, q:get()) end
    assert.is_true(q:empty())
    assert.same({nil, "empty"}, {q:get(0)})
    assert.same({nil, "empty"}, {q:get_nowait()})
  end)

  it("serves blocked getters FIFO", function()
    local q = eventlet.Queue()
    local got = {}
    local threads = {}
    for i = 1, 5 do threads[i] = eventlet.spawn(function() got[i] = q:get() end) end
    eventlet.sleep(0)
    assert.equal(5, q:getting())
    for i = 1, 5 do q:put(i * 10) end
    for i = 1, 5 do threads[i]:wait() end
    assert.same({10, 20, 30, 40, 50}, got)
  end)

  it("serves blocked putters FIFO when bounded", function()
    local q = eventlet.Queue(1)
    q:put("first")
    assert.is_true(q:full())
    assert.same({nil, "full"}, {q:put_nowait("x")})
    local threads = {}
    for i = 1, 4 do threads[i] = eventlet.spawn(function() return q:put(i) end) end
    eventlet.sleep(0)
    assert.equal(4, q:putting())
    local got = {}
    for _ = 1, 5 do got[#got + 1] = q:get() end
    assert.same({"first", 1, 2, 3, 4}, got)
    for i = 1, 4 do assert.is_true(threads[i]:wait()) end
  end)

  it("keeps each producer's order under contention on a bounded queue", function()
    local q = eventlet.Queue(3)
    local got = {}
    local producers = {}
    for p = 1, 4 do
      producers[p] = eventlet.spawn(function()
        for i = 1, 50 do q:put(p * 1000 + i); if i % 7 == 0 then eventlet.sleep(0) end end
      end)
    end
    local consumer = eventlet.spawn(function()
      for _ = 1, 200 do
        got[#got + 1] = q:get()
        if #got % 5 == 0 then eventlet.sleep(0) end
      end
    end)
    consumer:wait()
    for p = 1, 4 do producers[p]:wait() end
    assert.equal(200, #got)
    local last = {}
    for _, v in ipairs(got) do  -- each producer's items in its order, none twice
      local p, i = v // 1000, v % 1000
      assert.is_true(i == (last[p] or 0) + 1, "out of order: " .. v)
      last[p] = i
    end
  end)

  it("stays FIFO while its buffer and waiter lists never drain", function()
    local q = eventlet.Queue()
    for i = 1, 100 do q:put(i) end
    for i = 101, 3000 do  -- the buffer window slides through its storage
      assert.equal(i - 100, q:get())
      q:put(i)
    end
    assert.equal(100, q:qsize())
    while q:qsize() > 0 do q:get() end
    local got, threads, next_id = {}, {}, 0
    local function getter()
      next_id = next_id + 1
      local id = next_id
      threads[#threads + 1] = eventlet.spawn(function() got[id] = q:get() end)
    end
    for _ = 1, 100 do getter() end
    eventlet.sleep(0)
    for i = 1, 1000 do  -- waiters come and go, the list never empties
      q:put(i)
      getter()
      eventlet.sleep(0)
    end
    for i = 1001, 1100 do q:put(i) end
    for _, gt in ipairs(threads) do gt:wait() end
    for id = 1, 1100 do assert.equal(id, got[id]) end
    assert.equal(0, q:getting())
  end)

  it("keeps FIFO order when its buffer grows while wrapped around", function()
    local q = eventlet.Queue()
    local want, n = 1, 0
    for round = 1, 8 do  -- the oldest item sits mid-buffer at each growth
      for _ = 1, 5 * round do n = n + 1; q:put(n) end
      for _ = 1, 3 * round do assert.equal(want, q:get()); want = want + 1 end
    end
    while q:qsize() > 0 do assert.equal(want, q:get()); want = want + 1 end
    assert.equal(n + 1, want)
  end)

  it("reports its size, bound and unfinished tasks", function()
    local q = eventlet.Queue(10)
    q:put("a"); q:put("b")
    assert.equal("Queue (2 items, maxsize 10, 0 getting, 0 putting)", tostring(q))
    assert.equal(10, q:maxsize())
    assert.equal(2, q:unfinished())
    assert.is_nil(eventlet.Queue():maxsize())
    assert.matches("^LifoQueue %(0 items, maxsize none", tostring(eventlet.LifoQueue()))
  end)

  it("leaves a getter of a collected queue parked, and safe to time out", function()
    local gt = eventlet.spawn(function() return eventlet.Queue():get(0.05) end)
    eventlet.sleep(0)
    collectgarbage()
    collectgarbage()
    assert.same({nil, "empty"}, {gt:wait()})
  end)

  it("allocates nothing per message in a ping-pong", function()
    local q1, q2 = eventlet.Queue(), eventlet.Queue()
    local N = 5000
    local echo = eventlet.spawn(function() for _ = 1, N + 100 do q2:put(q1:get()) end end)
    for i = 1, 100 do q1:put(i); q2:get() end  -- let every table reach its size
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for i = 1, N do q1:put(i); assert(q2:get() == i) end
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    echo:wait()
    assert.is_true(grown < 1, ("%.1f KB allocated for %d round trips"):format(grown, N))
  end)

  it("times out get and put, leaving no waiter behind", function()
    local q = eventlet.Queue(1)
    local t0 = eventlet.now()
    assert.same({nil, "empty"}, {q:get(0.03)})
    assert.is_true(eventlet.now() - t0 >= 0.02)
    q:put(1)
    assert.same({nil, "full"}, {q:put(2, 0.03)})
    assert.equal(0, q:getting())
    assert.equal(0, q:putting())
    assert.equal(1, q:get())
    assert.is_true(q:empty())
  end)

  it("rejects nil items and bad arguments with clear errors", function()
    local q = eventlet.Queue()
    assert.has_error(function() q:put(nil) end, "Queue:put: nil items are not allowed")
    assert.has_error(function() q:put_nowait(nil) end, "Queue:put_nowait: nil items are not allowed")
    assert.has_error(function() q:get(-1) end, "Queue:get: timeout must be a non-negative number, got -1")
    assert.has_error(function() eventlet.Queue("big") end, "Queue: maxsize must be a number or nil, got big")
    assert.has_error(function() q:task_done() end, "Queue:task_done: called too many times")
    assert.is_true(q:put(false))
    assert.equal(false, q:get())
  end)

  it("never gives an item to a getter cancelled by kill or Timeout", function()
    local q = eventlet.Queue()
    local killed = eventlet.spawn(function() return q:get() end)
    local timed = eventlet.spawn(function() return pcall(eventlet.with_timeout, 0.01, q.get, q) end)
    local patient = eventlet.spawn(function() return q:get() end)
    eventlet.sleep(0)
    eventlet.kill(killed)
    local ok, e = timed:wait()
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    q:put("only")
    assert.equal("only", patient:wait())
    assert.equal(0, q:qsize())
    assert.equal(0, q:getting())
  end)

  it("keeps the item when a put races the kill of the only getter", function()
    local q = eventlet.Queue()
    local getter = eventlet.spawn(function() return q:get() end)
    eventlet.sleep(0)
    -- the producer is ready before the kill wakes the getter, so it runs
    -- while the getter's record is still queued but no longer parked
    local producer = eventlet.spawn(function() return q:put("x") end)
    eventlet.kill(getter)
    assert.is_true(producer:wait())
    assert.has_error(function() getter:wait() end)
    assert.equal(1, q:qsize())
    assert.equal("x", q:get(0))
  end)

  it("forgets a getter whose pending kill struck before it parked", function()
    local q = eventlet.Queue()
    local state = {}
    local gt = eventlet.spawn(function()
      eventlet.sleep(0)                   -- killed while ready here...
      state.get = pcall(q.get, q)         -- ...so this get raises at once
      state.slept = eventlet.sleep(0.05)  -- a later, unrelated wait
    end)
    eventlet.sleep(0)
    eventlet.kill(gt)
    assert.is_false(state.get)
    local other = eventlet.spawn(function() return q:get() end)
    eventlet.sleep(0)
    assert.equal(1, q:getting())
    assert.is_true(q:put("z"))            -- must not wake gt's sleep
    assert.equal("z", other:wait())
    gt:wait()
    assert.equal(0, q:qsize())
  end)

  it("keeps the item when a put races a Timeout of the only getter", function()
    local q = eventlet.Queue()
    local getter = eventlet.spawn(function()
      local _t <close> = eventlet.Timeout(0.01)
      return pcall(q.get, q)
    end)
    local producer = eventlet.spawn(function()
      -- busy until the getter's Timeout is due, then let the hub poll once:
      -- both become ready in the same round, the producer first
      local t0 = os.clock()
      while os.clock() - t0 < 0.03 do end
      return q:put("y")
    end)
    assert.is_true(producer:wait())
    local ok, got = getter:wait()
    if ok then  -- the getter ran first and took it: also correct
      assert.equal("y", got)
      assert.equal(0, q:qsize())
    else
      assert.is_true(eventlet.is_timeout(got))
      assert.equal("y", q:get(0))
    end
  end)

  it("delivers an item to a woken getter even if it is killed before running", function()
    local q = eventlet.Queue()
    local received = {}
    local gt = eventlet.spawn(function()
      received[1] = q:get()
      received[2] = pcall(q.get, q)  -- the kill is raised at the next wait
    end)
    eventlet.sleep(0)
    q:put("handed")
    eventlet.kill(gt)
    gt:wait()
    assert.same({"handed", false}, received)
    assert.equal(0, q:qsize())
    assert.equal(0, q:getting())
    q:put("next")
    assert.equal("next", q:get(0))
  end)

  it("loses and duplicates nothing while getters are killed and time out at random", function()
    local q = eventlet.Queue(4)
    local N = 300
    local seen, count = {}, 0
    local rng = 12345
    local function rand(n) rng = (rng * 1103515245 + 12345) % 2147483648; return rng % n end
    local done = false
    local consumers = {}
    local function consumer()
      while not done do
        local v = q:get(rand(3) == 0 and 0.001 or 0.05)
        if v ~= nil then
          assert.is_nil(seen[v], "delivered twice: " .. tostring(v))
          seen[v] = true
          count = count + 1
        end
      end
    end
    for c = 1, 6 do consumers[c] = eventlet.spawn(consumer) end
    local producer = eventlet.spawn(function()
      for i = 1, N do
        q:put(i)
        if rand(4) == 0 then eventlet.sleep(0) end
      end
    end)
    for _ = 1, 40 do
      eventlet.sleep(rand(2) == 0 and 0 or 0.001)
      local c = rand(#consumers) + 1
      eventlet.kill(consumers[c])
      consumers[c] = eventlet.spawn(consumer)
    end
    producer:wait()
    while count + q:qsize() < N do eventlet.sleep(0.005) end
    done = true
    for c = 1, #consumers do consumers[c]:wait() end
    while q:qsize() > 0 do
      local v = q:get()
      assert.is_nil(seen[v])
      seen[v], count = true, count + 1
    end
    assert.equal(N, count)
    for i = 1, N do assert.is_true(seen[i], "lost " .. i) end
  end)

  it("returns from put on a timed-out putter without delivering its item", function()
    local q = eventlet.Queue(0)
    local gt = eventlet.spawn(function() return q:put("x", 0.01) end)
    assert.same({nil, "full"}, {gt:wait()})
    assert.same({nil, "empty"}, {q:get(0)})
    local killed = eventlet.spawn(function() return q:put("y") end)
    eventlet.sleep(0)
    eventlet.kill(killed)
    assert.same({nil, "empty"}, {q:get(0)})
    assert.equal(0, q:putting())
  end)

  it("acts as a rendezvous channel at maxsize 0", function()
    local q = eventlet.Queue(0)
    assert.is_true(q:empty())
    assert.is_true(q:full())
    local events = {}
    local putter = eventlet.spawn(function()
      q:put("v")
      events[#events + 1] = "put returned"
    end)
    eventlet.sleep(0.01)
    assert.same({}, events)
    assert.equal(1, q:putting())
    assert.equal("v", q:get())
    putter:wait()
    assert.same({"put returned"}, events)
    assert.same({nil, "full"}, {q:put_nowait("w")})
    local getter = eventlet.spawn(function() return q:get() end)
    eventlet.sleep(0)
    assert.is_true(q:put_nowait("w"))
    assert.equal("w", getter:wait())
  end)

  it("counts unfinished tasks for join", function()
    local q = eventlet.Queue()
    assert.is_true(q:join())
    q:put(1); q:put(2)
    assert.same({nil, "timeout"}, {q:join(0.01)})
    local worker = eventlet.spawn(function()
      for _ = 1, 2 do q:get(); eventlet.sleep(0.005); q:task_done() end
    end)
    assert.is_true(q:join(5))
    worker:wait()
    assert.equal(0, q:unfinished())
  end)

  it("resizes: growing admits blocked putters, shrinking keeps items", function()
    local q = eventlet.Queue(1)
    q:put(1)
    local putters = {}
    for i = 2, 3 do putters[i] = eventlet.spawn(function() return q:put(i) end) end
    eventlet.sleep(0)
    q:resize(3)
    assert.equal(3, q:qsize())
    assert.equal(0, q:putting())
    q:resize(1)
    assert.equal(3, q:qsize())
    assert.same({nil, "full"}, {q:put(4, 0)})
    assert.same({1, 2, 3}, {q:get(), q:get(), q:get()})
    q:resize(nil)
    for i = 1, 100 do q:put(i) end
    assert.equal(100, q:qsize())
    putters[2]:wait(); putters[3]:wait()
  end)

  it("blocks inside a user coroutine (an iterator over a queue)", function()
    local q = eventlet.Queue()
    local function drain()
      return coroutine.wrap(function()
        while true do
          local v = q:get(0.05)
          if v == nil or v == "end" then return end
          coroutine.yield(v)
        end
      end)
    end
    local producer = eventlet.spawn(function()
      for i = 1, 3 do eventlet.sleep(0.001); q:put(i) end
      q:put("end")
    end)
    local got = {}
    for v in drain() do got[#got + 1] = v end
    producer:wait()
    assert.same({1, 2, 3}, got)
  end)

  it("works from the main thread of a plain interpreter (nested hub)", function()
    local q = eventlet.Queue()
    local gt = eventlet.spawn(function() eventlet.sleep(0.01); q:put("from thread") end)
    assert.equal("from thread", q:get(5))
    gt:wait()
  end)
end)

describe("LifoQueue and PriorityQueue", function()
  it("hand out the newest item first", function()
    local q = eventlet.LifoQueue()
    for i = 1, 4 do q:put(i) end
    assert.same({4, 3, 2, 1}, {q:get(), q:get(), q:get(), q:get()})
  end)

  it("hand out the smallest priority first, ties in put order", function()
    local q = eventlet.PriorityQueue()
    local items = {{3, "c"}, {1, "a1"}, {2, "b"}, {1, "a2"}, {5, "e"}, {1, "a3"}}
    for _, it in ipairs(items) do q:put(it) end
    local got = {}
    while not q:empty() do got[#got + 1] = q:get()[2] end
    assert.same({"a1", "a2", "a3", "b", "c", "e"}, got)
    local desc = eventlet.PriorityQueue(nil, function(a, b) return a > b end)
    for _, v in ipairs({4, 9, 1}) do desc:put(v) end
    assert.same({9, 4, 1}, {desc:get(), desc:get(), desc:get()})
    assert.has_error(function() eventlet.PriorityQueue(nil, 3) end, "PriorityQueue: less must be a function")
  end)

  it("LightQueue is the same queue", function()
    local q = eventlet.LightQueue(2)
    q:put(1)
    assert.equal(1, q:get())
  end)
end)
