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

  it("serves a request that came during a long pass, not taking its connection for a quiet one", function()
    -- A child process keeps one connection: two requests, then a third
    -- 0.15 s later -- while a handler holds the whole hub for 0.4 s, past
    -- the 0.25 s after which a quiet connection dozes.  When the pass
    -- ends, the poll reports the third request and the connection's quiet
    -- check falls due at once; the request must win (a doze drops the
    -- connection's shared request metatable: it would differ).
    local processes = require "eventlet.processes"
    local mts = {}
    local function app(req)
      if req.path == "/hold" then
        local t = os.clock() + 0.4
        while os.clock() < t do end              -- no yield: the hub waits
      else
        mts[#mts + 1] = getmetatable(req)
      end
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local client = ([[
        local eventlet = require "eventlet"
        local c = assert(eventlet.connect("127.0.0.1:%d"))
        c:settimeout(5)
        local function get(path)
          assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: x\r\n\r\n"))
          repeat local line = assert(c:receive("*l")) until line == ""
          assert(c:receive(2) == "ok")
        end
        get("/1") get("/2")
        io.stdout:write("ready\n") io.stdout:flush()
        eventlet.sleep(0.15)
        get("/3")
        io.stdout:write("done\n")
      ]]):format(port)
      local p <close> = assert(processes.spawn({"./eventlet-lua", "-e", client}, {stdout = "pipe"}))
      assert.equal("ready", p.stdout:receive("*l"))
      local c = connect(port)
      assert.equal("ok", get(c, "/hold"))
      assert.equal("done", p.stdout:receive("*l"))
      assert.equal(0, p:wait())
      c:close()
    end)
    assert.equal(3, #mts)
    assert.equal(mts[2], mts[3])                 -- the same connection state: no doze between
  end)

  it("does not spin while a handler blocks and its client has sent more", function()
    local function app(req)
      if req.path == "/slow" then eventlet.sleep(0.5) end
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert.equal("ok", get(c, "/fast"))            -- watched by the queue since
      eventlet.sleep(0.01)
      local cpu = os.clock()
      assert(c:send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
      c:shutdown("send")                             -- end of stream: readable all along
      assert.equal("ok", read_responses(c, 1)[1].body)
      c:close()
      assert.is_true(os.clock() - cpu < 0.1, "CPU seconds: " .. (os.clock() - cpu))
    end)
  end)

  it("keeps a request's forgotten Timeout out of the next client's request", function()
    local function app(req)
      if req.path == "/a" then local _ = eventlet.Timeout(0.1) end   -- never cancelled
      if req.path == "/b" then eventlet.sleep(0.3) end
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local a = connect(port)
      assert(a:send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      assert.equal("ok", read_responses(a, 1)[1].body)
      a:close()
      local b = connect(port)
      assert.equal("ok", get(b, "/b"))               -- a 500 if a's Timeout reached b
      b:close()
    end)
  end)

  it("refuses to detach a connection's socket from under the queue", function()
    local ok, err
    local function app(req)
      ok, err = pcall(req._conn.sock.detach, req._conn.sock)
      return 200, {}, "ok"
    end
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert.equal("ok", get(c, "/"))
      c:close()
    end)
    assert.is_false(ok)
    assert.matches("in use", err)
  end)
end)
