-- Name resolution on the worker pool: libc's answers, timeouts, kills,
-- and the hub running other threads meanwhile.
local eventlet = require "eventlet"
local core = require "eventlet.core"

-- Wait until the pool has no job queued or running (abandoned included).
local function drain()
  local deadline = eventlet.now() + 10
  while core.work_pending() > 0 and eventlet.now() < deadline do eventlet.sleep(0.01) end
  assert.equal(0, core.work_pending())
end

-- Occupy every pool thread with a sleeping job for `seconds`.
local function occupy(seconds)
  local sleepers = {}
  for i = 1, 4 do sleepers[i] = eventlet.spawn(core.work_sleep, seconds) end
  eventlet.sleep(0.02)
  return sleepers
end

describe("eventlet.resolve", function()
  after_each(drain)

  it("answers from /etc/hosts as libc does", function()
    local list = assert(eventlet.resolve("localhost"))
    local found = false
    for _, a in ipairs(list) do if a == "127.0.0.1" or a == "::1" then found = true end end
    assert.is_true(found)
    local v4 = assert(eventlet.resolve("localhost", {family = "inet"}))
    for _, a in ipairs(v4) do assert.matches("^%d+%.%d+%.%d+%.%d+$", a) end
  end)

  it("returns numeric addresses at once, without the pool", function()
    assert.same({"10.1.2.3"}, eventlet.resolve("10.1.2.3"))
    assert.same({"::1"}, eventlet.resolve("::1"))
    assert.equal(0, core.work_pending())
  end)

  it("reports an unknown host with a stable message", function()
    assert.same({nil, "host not found"}, {eventlet.resolve("no-such-host.invalid")})
    assert.has_error(function() eventlet.resolve(42) end)
  end)

  it("never blocks other green threads while a lookup waits", function()
    local ticks = 0
    local ticker = eventlet.spawn(function()
      while true do ticks = ticks + 1; eventlet.sleep(0.01) end
    end)
    local sleepers = occupy(0.3)   -- the lookup queues behind these
    local list = assert(eventlet.resolve("localhost"))
    assert.is_true(#list >= 1)
    assert.is_true(ticks >= 10, "ticker ran only " .. ticks .. " times")
    for _, s in ipairs(sleepers) do assert.is_true(s:wait()) end
    ticker:kill()
  end)

  it("times out per lookup and discards the late answer safely", function()
    local sleepers = occupy(0.3)
    local t0 = eventlet.now()
    assert.same({nil, "timeout"}, {eventlet.resolve("localhost", {timeout = 0.05})})
    assert.is_true(eventlet.now() - t0 < 0.25)
    for _, s in ipairs(sleepers) do s:wait() end
    drain()   -- the abandoned lookup finished and was freed
    assert.is_true(#assert(eventlet.resolve("localhost")) >= 1)
  end)

  it("can be interrupted by a Timeout or a kill", function()
    local sleepers = occupy(0.3)
    local ok, e = pcall(eventlet.with_timeout, 0.05, eventlet.resolve, "localhost")
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    local gt = eventlet.spawn(eventlet.resolve, "localhost")
    eventlet.sleep(0.02)
    gt:kill()
    assert.has_error(function() gt:wait() end)
    for _, s in ipairs(sleepers) do s:wait() end
  end)

  it("runs many lookups at once", function()
    local gts = {}
    for i = 1, 50 do gts[i] = eventlet.spawn(eventlet.resolve, "localhost") end
    for i = 1, 50 do assert.is_true(#gts[i]:wait() >= 1) end
  end)

  it("pool waits time out and keep the hub alive while they run", function()
    assert.same({nil, "timeout"}, {core.work_sleep(0.2, 0.02)})
    assert.is_true(core.work_sleep(0.01))
  end)
end)
