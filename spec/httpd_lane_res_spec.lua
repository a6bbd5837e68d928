-- The queue's C lane (src/serve_lane.c) for handlers given a response
-- object -- function(req, res), or any handler on a server that logs:
-- the lane resets the connection's res for each request as
-- Response.reset does, sends a plain returned answer through it, finishes
-- a request the handler answered with res:finish() itself, writes the
-- access-log line, and hands everything else to Lua at the step it
-- reached.  Each case is a connection's second request (the first goes
-- back to Lua to make the peer record), with the lane's counts checked.
-- (httpd_lane_spec.lua runs its cases with both handler forms.)
local eventlet = require "eventlet"
local H = require "helpers.httpd"

local with_server, connect, read_responses = H.with_server, H.connect, H.read_responses
local ask, warm, counter = H.ask, H.warm, H.lane_counter

local GET = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n"

-- A function(req, res) handler answering "<path>" unless the path names
-- a case in cases.
local function app_with(cases)
  return function(req, res)
    local case = cases[req.path]
    if case then return case(req, res) end
    return 200, {["Content-Type"] = "text/plain"}, req.path
  end
end

describe("httpd C lane with a response object", function()
  it("finishes in C a request the handler answered with res:finish()", function()
    local cases = {["/fin"] = function(_, res)
      res.status = 201
      res:header("X-Way", "finish")
      res:finish("done")
    end}
    with_server(app_with(cases), nil, function(srv, port)
      local c = warm(port)
      local counts = counter(srv)
      for _ = 1, 2 do
        local rs = ask(c, GET:format("/fin"))
        assert.equal(201, rs[1].status)
        assert.equal("finish", rs[1].headers["x-way"])
        assert.equal("done", rs[1].body)
      end
      assert.same({2, 0}, {counts()})
      c:close()
    end)
  end)

  it("gives each request a response object as fresh as Response.reset leaves it", function()
    local seen = {}
    local cases = {
      ["/dirty"] = function(req, res)
        seen[#seen + 1] = {res.status, res.finished, res.headers_sent, next(res.headers),
                           res._req == req}
        res.status = 202
        res:header("X-Left", "over")
        res:finish("dirty")
      end,
    }
    with_server(app_with(cases), nil, function(_, port)
      local c = warm(port)
      for _ = 1, 2 do
        local rs = ask(c, GET:format("/dirty"))
        assert.equal(202, rs[1].status)
        assert.equal("over", rs[1].headers["x-left"])
      end
      local rs = ask(c, GET:format("/clean"))   -- answered in C: nothing left from /dirty
      assert.equal(200, rs[1].status)
      assert.is_nil(rs[1].headers["x-left"])
      assert.same({200, false, false, nil, true}, seen[1])
      assert.same({200, false, false, nil, true}, seen[2])
      c:close()
    end)
  end)

  it("hands a response the handler left unfinished, or answered twice, to Lua", function()
    local cases = {
      ["/open"] = function(_, res) res:write("part") end,
      ["/both"] = function(_, res) res:finish("first") return 200, {}, "ignored" end,
    }
    with_server(app_with(cases), nil, function(srv, port)
      local c = warm(port)
      local counts = counter(srv)
      local rs = ask(c, GET:format("/open"))
      assert.equal("part", rs[1].body)
      assert.is_true(rs[1].chunked)
      assert.equal("first", ask(c, GET:format("/both"))[1].body)
      assert.equal("/plain", ask(c, GET:format("/plain"))[1].body)  -- kept alive throughout
      assert.same({1, 2}, {counts()})
      c:close()
    end)
  end)

  it("cuts the connection of a handler that fails after its head went out", function()
    local cases = {["/half"] = function(_, res) res:write("half") error("late") end}
    with_server(app_with(cases), nil, function(srv, port)
      local c = warm(port)
      assert(c:send(GET:format("/half")))
      local all = c:receive("*a")
      assert.truthy(all:find("half", 1, true))
      assert.falsy(all:find("500", 1, true))
      c:close()
      eventlet.sleep(0.01)
      assert.equal(0, srv.nconns)
    end)
  end)

  it("closes a connection whose handler finished before the server stopped", function()
    local gate = eventlet.Event()
    local cases = {["/fin"] = function(_, res) res:finish("early") gate:wait() end}
    local srv = assert(require("eventlet.httpd").server("127.0.0.1:0", app_with(cases),
                                                         {log = false}))
    srv:start()
    local _, port = srv:address()
    local c = warm(port)
    assert(c:send(GET:format("/fin")))
    assert.equal("early", read_responses(c, 1)[1].body)
    H.stop_closes(srv, c, function() gate:send(true) end)
  end)
end)

describe("httpd C lane on a logging server", function()
  -- A log function keeping each access line, its request's path, and the
  -- response's status and bytes (the startup line has no request); waits
  -- a turn of the hub first when asked (a log that parks, as a socket's
  -- write may).
  local function recorder(park)
    local lines = {}
    return lines, function(line, req, res)
      if not req then return end
      if park then eventlet.sleep(0) end
      lines[#lines + 1] = {line = line, path = req.path, status = res.status, bytes = res.bytes}
    end
  end

  for _, park in ipairs({false, true}) do
    it("writes each answer's line from C" .. (park and ", with a log that parks" or ""), function()
      local lines, log = recorder(park)
      local hello = function() return 200, {["Content-Type"] = "text/plain"}, "hi" end
      with_server(hello, {log = log}, function(srv, port)
        assert.is_false(srv.lean)
        local c = warm(port)
        local counts = counter(srv)
        local rs = ask(c, GET:format("/x") .. GET:format("/y"), 2)
        assert.same({2, 0}, {counts()})
        assert.equal(3, #lines)
        for i, path in ipairs({"/warm", "/x", "/y"}) do
          local entry = lines[i]
          assert.equal(path, entry.path)
          assert.equal(200, entry.status)
          if i > 1 then assert.equal(#rs[i - 1].raw, entry.bytes) end
          assert.matches('^127%.0%.0%.1 %- %- %[.-%] "GET ' .. path .. ' HTTP/1%.1" 200 ' ..
                         entry.bytes .. ' "%-" "%-" %d+%.%d+$', entry.line)
        end
        c:close()
      end)
    end)
  end

  it("writes the lines to a log file from C, each with its newline", function()
    local file = assert(io.tmpfile())
    local hello = function() return 200, {}, "hi" end
    with_server(hello, {log = file}, function(srv, port)
      local c = warm(port)
      local counts = counter(srv)
      local rs = ask(c, GET:format("/x") .. "GET /y HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"u\r\n" ..
                        "X-Forwarded-For: 10.1.1.1 , 10.2.2.2\r\n\r\n", 2)
      assert.equal(2, (counts()))
      file:seek("set")
      local lines = {}
      for line in file:read("a"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
      assert.equal(4, #lines)   -- the startup line, /warm, /x, /y
      assert.matches('^127%.0%.0%.1 %- %- %[.-%] "GET /x HTTP/1%.1" 200 ' .. #rs[1].raw ..
                     ' "%-" "%-" %d+%.%d+$', lines[3])
      assert.matches('^10%.1%.1%.1,10%.2%.2%.2,127%.0%.0%.1 %- %- %[.-%] "GET /y HTTP/1%.1" 200 ' ..
                     #rs[2].raw .. ' "%-" "t\\x22u" %d+%.%d+$', lines[4])
      c:close()
    end)
    file:close()
  end)

  it("logs what a handler that answered through res:finish() sent", function()
    local lines, log = recorder(false)
    local fin = app_with({["/gone"] = function(_, res) res.status = 404 res:finish("nope") end})
    with_server(fin, {log = log}, function(srv, port)
      local c = warm(port)
      local counts = counter(srv)
      local rs = ask(c, GET:format("/gone"))
      assert.equal(404, rs[1].status)
      assert.equal(1, (counts()))
      assert.equal(404, lines[2].status)
      assert.equal(#rs[1].raw, lines[2].bytes)
      assert.matches('"GET /gone HTTP/1.1" 404 ' .. #rs[1].raw, lines[2].line)
      c:close()
    end)
  end)

  it("closes a connection whose log line was being written when the server stopped", function()
    local slow = false
    local log = function(_, req) if req and slow then eventlet.sleep(0.1) end end
    local srv = assert(require("eventlet.httpd").server("127.0.0.1:0",
                                                         function() return 200, {}, "hi" end,
                                                         {log = log}))
    srv:start()
    local _, port = srv:address()
    local c = warm(port)
    slow = true
    assert.equal("hi", ask(c, GET:format("/x"))[1].body)   -- the log parks after the answer
    H.stop_closes(srv, c)
  end)

  it("closes a connection whose log function stopped the server", function()
    local srv
    local log = function(_, req) if req and req.path == "/stop" then srv:stop({grace = 2}) end end
    srv = assert(require("eventlet.httpd").server("127.0.0.1:0",
                                                   function() return 200, {}, "hi" end, {log = log}))
    srv:start()
    local _, port = srv:address()
    local c = warm(port)
    assert.equal("hi", ask(c, GET:format("/stop"))[1].body)
    assert.equal("closed", select(2, c:recv(1)))
    srv._thread:wait()
    assert.is_true(srv.stopped)
    assert.equal(0, srv.nconns)
    c:close()
  end)

  it("ends the worker's connection when the log raises, and serves on", function()
    local calls = 0
    local log = function(_, req)
      if not req then return end   -- the startup line
      calls = calls + 1
      if calls == 2 then error("log failed") end
    end
    local hello = function() return 200, {}, "hi" end
    with_server(hello, {log = log}, function(srv, port)
      local c = warm(port)
      assert(c:send(GET:format("/x")))
      assert.equal("hi", read_responses(c, 1)[1].body)   -- the answer went out before the log
      assert.equal("closed", select(2, c:recv(1)))
      local other = connect(port)
      assert.equal("hi", ask(other, GET:format("/next"))[1].body)
      eventlet.sleep(0.01)
      assert.equal(1, srv.nconns)
      other:close()
      c:close()
    end)
  end)
end)
