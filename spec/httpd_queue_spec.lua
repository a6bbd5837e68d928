-- The server's queue of ready connections and its workers (src/serveq.c):
-- connections between requests hold no green thread, a handler that
-- blocks holds up no other connection, spare workers end, and a worker
-- whose handler took hold of its thread serves nobody else.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local H = require "helpers.httpd"

local with_server, connect, read_responses = H.with_server, H.connect, H.read_responses

-- GET path on c; the response body.
local function get(c, path)
  assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: x\r\n\r\n"))
  local rs = read_responses(c, 1)
  return rs[1] and rs[1].body, rs.err
end

-- n connections to port, each served one request of path and left open.
local function served(port, n, path)
  local cs = {}
  for i = 1, n do
    cs[i] = connect(port)
    assert.equal("ok", get(cs[i], path or "/"))
  end
  return cs
end

local function close_all(cs)
  for _, c in ipairs(cs) do c:close() end
end

describe("httpd queue", function()
  it("holds no green thread for a connection waiting for its next request", function()
    with_server(function() return 200, {}, "ok" end, nil, function(_, port)
      local before = core.stats().live
      local cs = served(port, 30)
      -- well inside the 0.25 s before an idle connection dozes
      assert.is_true(core.stats().live - before < 5)
      for _, c in ipairs(cs) do assert.equal("ok", get(c, "/")) end
      close_all(cs)
    end)
  end)

  it("serves other connections while a handler blocks", function()
    local gate = eventlet.Event()
    local function app(req)
      if req.path == "/wait" then gate:wait() end
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local blocked = {}
      for i = 1, 3 do   -- three handlers parked at once
        blocked[i] = connect(port)
        assert(blocked[i]:send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"))
      end
      eventlet.sleep(0.05)
      local cs = served(port, 10)                   -- each answered meanwhile
      gate:send(true)
      for _, c in ipairs(blocked) do assert.equal("ok", read_responses(c, 1)[1].body) end
      close_all(cs)
      close_all(blocked)
    end)
  end)

  it("lets spare workers end once a burst of blocking requests is over", function()
    local function app()
      eventlet.sleep(0.1)
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local before = core.stats().live
      local cs, pool = {}, eventlet.GreenPool(60)
      for i = 1, 60 do
        pool:spawn(function()
          cs[i] = connect(port)
          assert.equal("ok", get(cs[i], "/"))
        end)
      end
      pool:waitall()
      eventlet.sleep(0.05)
      -- 60 handlers slept at once on 60 workers; at most 16 stay parked
      assert.is_true(core.stats().live - before <= 16, core.stats().live - before)
      for _, c in ipairs(cs) do assert.equal("ok", get(c, "/")) end
      close_all(cs)
    end)
  end)

  it("never lends a thread a handler took hold of to another request", function()
    local seen, tag = {}, eventlet["local"]()
    local function app(req)
      local me = eventlet.getcurrent()
      local before = tag.value
      tag.value = req.path
      seen[#seen + 1] = {me = me, before = before}
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local cs = {}
      for i = 1, 5 do
        cs[i] = connect(port)
        assert.equal("ok", get(cs[i], "/" .. i))
        assert.equal("ok", get(cs[i], "/" .. i .. "/again"))
      end
      close_all(cs)
    end)
    assert.equal(10, #seen)
    for i = 1, 10 do
      assert.is_nil(seen[i].before)          -- no request saw another's locals
      for j = i + 1, 10 do assert.are_not.equal(seen[i].me, seen[j].me) end
    end
  end)

  it("still pools the worker of a handler that only looks at its thread", function()
    local threads = {}
    local function app()
      threads[#threads + 1] = eventlet.getcurrent(true)   -- a look: no hold
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local c = connect(port)
      for _ = 1, 5 do assert.equal("ok", get(c, "/")) end
      c:close()
    end)
    assert.equal(5, #threads)
    assert.equal(threads[1], threads[5])     -- one warm worker served them all
  end)

  it("lets a stopped server and its connections be collected", function()
    local weak = setmetatable({}, {__mode = "k"})
    local cs
    with_server(function() return 200, {}, "ok" end, nil, function(srv, port)
      weak[srv] = true
      cs = served(port, 5)                     -- waiting in the queue at the stop
      for conn in pairs(srv.conns) do weak[conn] = true end
    end)
    close_all(cs)
    eventlet.sleep(0.01)
    collectgarbage()
    collectgarbage()
    assert.is_nil(next(weak))
  end)
end)
