local eventlet = require "eventlet"

describe("eventlet.local", function()
  it("keeps fields private to each green thread", function()
    local loc = eventlet["local"]()
    loc.name = "main"
    local seen = {}
    local threads = {}
    for i = 1, 3 do
      threads[i] = eventlet.spawn(function()
        seen[i] = {before = loc.name}
        loc.name = "thread " .. i
        eventlet.sleep(0)
        seen[i].after = loc.name
      end)
    end
    for i = 1, 3 do threads[i]:wait() end
    for i = 1, 3 do assert.same({after = "thread " .. i}, seen[i]) end
    assert.equal("main", loc.name)
  end)

  it("keeps separate local objects apart and iterates a thread's fields", function()
    local a, b = eventlet["local"](), eventlet["local"]()
    local gt = eventlet.spawn(function()
      a.x = 1; b.x = 2; a.y = 3
      local keys = {}
      for k, v in pairs(a) do keys[k] = v end
      return a.x, b.x, keys
    end)
    local ax, bx, keys = gt:wait()
    assert.equal(1, ax)
    assert.equal(2, bx)
    assert.same({x = 1, y = 3}, keys)
    assert.is_nil(a.x)
  end)

  it("lets a thread's values be collected with the thread", function()
    local loc = eventlet["local"]()
    local probe = setmetatable({}, {__mode = "k"})
    local gt = eventlet.spawn(function()
      local big = {}
      probe[big] = true
      loc.value = big
    end)
    gt:wait()
    gt = nil  -- luacheck: ignore
    for _ = 1, 3 do collectgarbage("collect") end
    assert.is_nil(next(probe))
  end)
end)
