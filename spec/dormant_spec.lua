-- sock:dormant(timeout, fn, ...): a socket nobody reads, watched by the
-- hub alone; fn(..., why) runs once in a new green thread.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local ns = require "net_support"

local pair = ns.pair

-- Make sock dormant; returns a function that waits for the wake-up and
-- returns {args..., why, thread}.
local function doze(sock, timeout, ...)
  local done = eventlet.Event()
  sock:dormant(timeout, function(...)
    local got = {...}
    got[#got + 1] = core.getcurrent()
    done:send(got)
  end, ...)
  return function() return done:wait(5) end
end

describe("sock:dormant", function()
  local fds_before, fds_after = ns.fd_guard()
  before_each(fds_before)
  after_each(fds_after)

  it("runs fn with its arguments in a new thread once the socket is readable", function()
    local c, s, l = pair()
    local live = core.stats().live
    local woke = doze(s, nil, "a", 2)
    eventlet.sleep(0.05)
    assert.equal(live, core.stats().live)      -- nobody waits on it
    c:send("ping\n")
    local got = woke()
    assert.same({"a", 2, "readable"}, {got[1], got[2], got[3]})
    assert.are_not.equal(core.getcurrent(), got[4])
    assert.equal("ping", s:receive())          -- the data is still there
    c:close(); s:close(); l:close()
  end)

  it("reports the timeout when nothing arrives", function()
    local c, s, l = pair()
    local t0 = core.now()
    local got = doze(s, 0.05, "x")()
    assert.same({"x", "timeout"}, {got[1], got[2]})
    assert.is_true(core.now() - t0 >= 0.04)
    c:close(); s:close(); l:close()
  end)

  it("reports a close, once, and stops watching", function()
    local c, s, l = pair()
    local calls = 0
    s:dormant(nil, function(why) calls = calls + 1; assert.equal("closed", why) end)
    s:close()
    c:send("late\n")
    eventlet.sleep(0.05)
    assert.equal(1, calls)
    c:close(); l:close()
  end)

  it("refuses a closed socket and a second registration", function()
    local c, s, l = pair()
    s:dormant(10, function() end)
    assert.has_error(function() s:dormant(nil, function() end) end,
                     "socket: dormant: already waited on")
    s:close()
    assert.has_error(function() s:dormant(nil, function() end) end,
                     "socket: dormant: the socket is closed")
    eventlet.sleep(0)                          -- the "closed" wake-up runs
    c:close(); l:close()
  end)

  it("can be made dormant again from its wake-up", function()
    local c, s, l = pair()
    local seen = {}
    local done = eventlet.Event()
    local function again(why)
      seen[#seen + 1] = why
      if why == "readable" then
        s:receive()
        if #seen < 3 then s:dormant(nil, again) else done:send() end
      end
    end
    s:dormant(nil, again)
    for i = 1, 3 do c:send("m" .. i .. "\n"); eventlet.sleep(0.02) end
    done:wait(5)
    assert.same({"readable", "readable", "readable"}, seen)
    c:close(); s:close(); l:close()
  end)
end)
