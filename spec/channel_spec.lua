local eventlet = require "eventlet"
local channel = require "eventlet.channel"

describe("eventlet.channel", function()
  it("blocks send until a receiver takes the value", function()
    local ch = channel.new()
    local log = {}
    local sender = eventlet.spawn(function()
      ch:send("hello")
      log[#log + 1] = "sent"
    end)
    eventlet.sleep(0.01)
    assert.same({}, log)
    assert.equal(1, ch.balance)
    assert.equal("hello", ch:receive())
    sender:wait()
    assert.same({"sent"}, log)
    assert.equal(0, ch.balance)
  end)

  it("blocks receive until a sender comes; balance goes negative", function()
    local ch = channel()
    local receivers = {}
    local got = {}
    for i = 1, 3 do receivers[i] = eventlet.spawn(function() got[i] = ch:receive() end) end
    eventlet.sleep(0)
    assert.equal(-3, ch.balance)
    for i = 1, 3 do assert.is_true(ch:send(i)) end
    for i = 1, 3 do receivers[i]:wait() end
    assert.same({1, 2, 3}, got)  -- FIFO matching
  end)

  it("carries nil and raises sent exceptions in the receiver", function()
    local ch = channel.new()
    local s = eventlet.spawn(function() ch:send(nil); ch:send_exception("bad") end)
    assert.is_nil(ch:receive())
    assert.has_error(function() ch:receive() end, "bad")
    s:wait()
    assert.has_error(function() ch:send_exception(nil) end,
      "channel:send_exception: the error must not be nil")
  end)

  it("times out send and receive without delivering", function()
    local ch = channel.new()
    assert.same({nil, "timeout"}, {ch:send("x", 0.01)})
    assert.same({nil, "timeout"}, {ch:receive(0.01)})
    assert.equal(0, ch.balance)
    assert.equal("channel (balance 0)", tostring(ch))
  end)
end)
