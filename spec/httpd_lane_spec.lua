-- The queue's C lane (src/serve_lane.c): a server's requests are
-- answered in one C loop -- a connection's first goes back to Lua after
-- its answer, to make the peer record the later ones share -- and every
-- case that is not the common answer goes back to Lua at the step it
-- reached.  So each case below is a connection's second request, with
-- the lane's counts checked; each runs with a handler that takes no res
-- (a lean server) and with one that takes it (httpd_lane_res_spec.lua
-- has the cases of the response object and the access log).
local eventlet = require "eventlet"
local H = require "helpers.httpd"

local with_server, connect, read_responses = H.with_server, H.connect, H.read_responses
local ask, warm, counter = H.ask, H.warm, H.lane_counter

local GET = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n"

-- A handler answering "<path>" unless the path names a case in cases:
-- function(req) on a lean server, else function(req, res).
local function handler_with(cases, form)
  local function answer(req, res)
    local case = cases[req.path]
    if case then return case(req, res) end
    return 200, {["Content-Type"] = "text/plain"}, req.path
  end
  if form == "res" then return answer end
  return function(req) return answer(req) end
end

for _, form in ipairs({"lean", "res"}) do
  local function app_with(cases) return handler_with(cases, form) end

  describe("httpd C lane (" .. form .. " handler)", function()
    it("answers the requests after a connection's first in C, strictly in order", function()
      with_server(app_with({}), nil, function(srv, port)
        assert.equal(form == "lean", srv.lean)
        local c = warm(port)
        local counts = counter(srv)
        for i = 1, 3 do assert.equal("/" .. i, ask(c, GET:format("/" .. i))[1].body) end
        local rs = ask(c, GET:format("/a") .. GET:format("/b") .. GET:format("/c"), 3)
        assert.same({"/a", "/b", "/c"}, {rs[1].body, rs[2].body, rs[3].body})
        assert.same({6, 0}, {counts()})
        c:close()
      end)
    end)

    it("gives a first request its peer fields, and the later ones the shared record", function()
      local cases = {["/who"] = function(req)
        return 200, {}, table.concat({req.remote_addr, tostring(req.remote_port > 0), req.scheme,
                                      tostring(rawget(req, "remote_addr") ~= nil)}, " ")
      end, ["/w"] = function(req) req:write("via req") end}
      with_server(app_with(cases), nil, function(srv, port)
        local c = connect(port)
        local counts = counter(srv)   -- (the queue is made once the server runs)
        assert.equal("127.0.0.1 true http true", ask(c, GET:format("/who"))[1].body)
        assert.equal("127.0.0.1 true http false", ask(c, GET:format("/who"))[1].body)
        local first = connect(port)
        assert.equal("via req", ask(first, GET:format("/w"))[1].body)
        -- {in C, to Lua}: the second /who; after each connection's first answer
        assert.same({1, 2}, {counts()})
        c:close()
        first:close()
      end)
    end)

    it("sends a 500 for a handler that fails, and serves on", function()
      local cases = {["/fail"] = function() error("boom") end}
      with_server(app_with(cases), nil, function(srv, port)
        local c = warm(port)
        local counts = counter(srv)
        local rs = ask(c, GET:format("/fail"))
        assert.equal(500, rs[1].status)
        assert.equal("close", rs[1].headers.connection)
        assert.equal(0, (counts()))
        assert.equal("/after", ask(warm(port), GET:format("/after"))[1].body)
        c:close()
      end)
    end)

    it("sends a 500 for a status that cannot go out", function()
      local cases = {["/bad"] = function() return "abc", {}, "x" end}
      with_server(app_with(cases), nil, function(_, port)
        local c = warm(port)
        assert.equal(500, ask(c, GET:format("/bad"))[1].status)
        c:close()
      end)
    end)

    it("hands tables, iterators and no answer to Lua's framing", function()
      local cases = {
        ["/list"] = function() return 200, {}, {"a", "b"} end,
        ["/iter"] = function()
          local parts = {"x", "y", "z"}
          local i = 0
          return 200, {}, function() i = i + 1 return parts[i] end
        end,
        ["/none"] = function() end,
      }
      with_server(app_with(cases), nil, function(srv, port)
        local c = warm(port)
        local counts = counter(srv)
        assert.equal("ab", ask(c, GET:format("/list"))[1].body)
        local rs = ask(c, GET:format("/iter"))
        assert.equal("xyz", rs[1].body)
        assert.is_true(rs[1].chunked)
        rs = ask(c, GET:format("/none"))
        assert.equal(200, rs[1].status)
        assert.equal("/plain", ask(c, GET:format("/plain"))[1].body)  -- kept alive throughout
        assert.same({1, 3}, {counts()})
        c:close()
      end)
    end)

    it("answers through the response object a handler asked for", function()
      local cases = {
        ["/write"] = function(req) req:set_header("X-Made", "res") req:write("written") end,
        ["/respond"] = function(req) return req:response(201, {}, "made") end,
      }
      with_server(app_with(cases), nil, function(_, port)
        local c = warm(port)
        local rs = ask(c, GET:format("/write"))
        assert.equal("written", rs[1].body)
        assert.equal("res", rs[1].headers["x-made"])
        rs = ask(c, GET:format("/respond"))
        assert.equal(201, rs[1].status)
        assert.equal("made", rs[1].body)
        c:close()
      end)
    end)

    it("runs posthooks after the answer went out", function()
      local ran = {}
      local cases = {["/hook"] = function(req)
        req:on_finish(function(_, res) ran[#ran + 1] = res.status .. " " .. res.bytes end)
        return 200, {}, "hooked"
      end}
      with_server(app_with(cases), nil, function(_, port)
        local c = warm(port)
        local rs = ask(c, GET:format("/hook"))
        assert.equal("hooked", rs[1].body)
        assert.equal(1, #ran)
        assert.equal("200 " .. #rs[1].raw, ran[1])
        assert.equal("/next", ask(c, GET:format("/next"))[1].body)
        c:close()
      end)
    end)

    it("drops a body the handler left unread before the next request", function()
      with_server(app_with({}), nil, function(srv, port)
        local c = warm(port)
        local counts = counter(srv)
        local post = "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        local rs = ask(c, post .. GET:format("/then"), 2)
        assert.same({"/post", "/then"}, {rs[1].body, rs[2].body})
        -- {in C, to Lua}: /then; /post went back for its body
        assert.same({1, 1}, {counts()})
        c:close()
      end)
    end)

    it("answers Expect: 100-continue through Lua", function()
      local cases = {["/up"] = function(req) return 200, {}, "got " .. req:read_body() end}
      with_server(app_with(cases), nil, function(_, port)
        local c = warm(port)
        assert(c:send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n" ..
                      "Expect: 100-continue\r\n\r\n"))
        assert.equal("HTTP/1.1 100 Continue\r\n\r\n", c:recv(25))
        local rs = ask(c, "data")
        assert.equal("got data", rs[1].body)
        c:close()
      end)
    end)

    it("rejects a malformed request with a 400 and serves the next connection", function()
      with_server(app_with({}), nil, function(_, port)
        local c = warm(port)
        local rs = ask(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        assert.equal(400, rs[1].status)
        assert.equal("close", rs[1].headers.connection)
        assert.equal("/ok", ask(warm(port), GET:format("/ok"))[1].body)
        c:close()
      end)
    end)

    it("serves other connections in C while a handler parks", function()
      local gate = eventlet.Event()
      local cases = {["/wait"] = function() gate:wait() return 200, {}, "waited" end}
      with_server(app_with(cases), nil, function(srv, port)
        local blocked, others = warm(port), {}
        for i = 1, 3 do others[i] = warm(port) end
        local counts = counter(srv)
        assert(blocked:send(GET:format("/wait")))
        eventlet.sleep(0.02)
        for i = 1, 3 do assert.equal("/o" .. i, ask(others[i], GET:format("/o" .. i))[1].body) end
        gate:send(true)
        assert.equal("waited", read_responses(blocked, 1)[1].body)
        assert.equal(4, (counts()))   -- the parked handler's answer too
        blocked:close()
        for i = 1, 3 do others[i]:close() end
      end)
    end)

    it("closes a connection whose request was in flight when the server stopped", function()
      local gate = eventlet.Event()
      local cases = {["/slow"] = function() gate:wait() return 200, {}, "late" end}
      local srv = assert(require("eventlet.httpd").server("127.0.0.1:0", app_with(cases),
                                                           {log = false}))
      srv:start()
      local _, port = srv:address()
      local c = warm(port)
      assert(c:send(GET:format("/slow")))
      eventlet.sleep(0.02)
      H.stop_closes(srv, c, function()
        gate:send(true)
        local rs = read_responses(c, 1)
        assert.equal("late", rs[1].body)
        assert.equal("close", rs[1].headers.connection)
      end)
    end)

    it("closes a connection whose answer was still going out when the server stopped", function()
      local big = string.rep("x", 8 * 1024 * 1024)   -- more than the socket buffers take at once
      local cases = {["/big"] = function() return 200, {}, big end}
      -- With a body left unread, too: it is read before the close (closed
      -- with it unread, the connection would be reset, and the answer's
      -- unsent tail lost with it).
      local body = string.rep("b", 20000)
      local requests = {GET:format("/big"), "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " ..
                        #body .. "\r\n\r\n" .. body}
      for _, request in ipairs(requests) do
        local srv = assert(require("eventlet.httpd").server("127.0.0.1:0", app_with(cases),
                                                             {log = false}))
        srv:start()
        local _, port = srv:address()
        local c = warm(port)
        assert(c:send(request))
        eventlet.sleep(0.05)                -- the send parks: the client reads nothing yet
        H.stop_closes(srv, c, function() assert.equal(#big, #read_responses(c, 1)[1].body) end)
      end
    end)

    it("ends a handler the server's stop kills past its grace, and its connection", function()
      local cases = {["/stuck"] = function() eventlet.sleep(30) return 200, {}, "never" end}
      local srv = assert(require("eventlet.httpd").server("127.0.0.1:0", app_with(cases),
                                                           {log = false, error_log = false}))
      srv:start()
      local _, port = srv:address()
      local c = warm(port)
      assert(c:send(GET:format("/stuck")))
      eventlet.sleep(0.02)
      srv:stop({grace = 0.05})
      srv._thread:wait()
      assert.equal(0, srv.nconns)
      assert.is_nil((c:recv(1)))
      c:close()
    end)

    it("calls the handler the server holds now, read for each request", function()
      with_server(app_with({}), nil, function(srv, port)
        local c = warm(port)
        srv.call = function() return 200, {}, "swapped" end
        assert.equal("swapped", ask(c, GET:format("/x"))[1].body)
        c:close()
      end)
    end)

    it("closes the connection of a worker that raised before its handler ran", function()
      -- A handler that hides its body from the server (has_body) leaves the
      -- parser mid-body: the next head read raises, and the worker ends.
      local cases = {["/hide"] = function(req) req.has_body = false return 200, {}, "hid" end}
      with_server(app_with(cases), nil, function(srv, port)
        local c = warm(port)
        c:settimeout(2)
        local rs = ask(c, "POST /hide HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        assert.equal("hid", rs[1].body)
        assert(c:send(GET:format("/next")))
        assert.equal("closed", select(2, c:recv(1)))
        eventlet.sleep(0.01)
        assert.equal(0, srv.nconns)
        c:close()
      end)
    end)

    it("closes in C a connection whose answer ends it, first request or not", function()
      local ran = 0
      local cases = {["/hook"] = function(req)
        req:on_finish(function() ran = ran + 1 end)
        return 200, {}, "hooked"
      end}
      with_server(app_with(cases), nil, function(srv, port)
        eventlet.sleep(0)          -- the server's thread runs: its queue is made
        local counts = counter(srv)
        local bye = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        local clients = {}
        for i = 1, 3 do
          clients[i] = connect(port)
          assert(clients[i]:send(bye:format("/c" .. i)))
        end
        clients[4] = warm(port)
        assert(clients[4]:send("GET /old HTTP/1.0\r\n\r\n"))
        for i, c in ipairs(clients) do
          local rs = read_responses(c, 1)
          assert.equal(i < 4 and "/c" .. i or "/old", rs[1].body)
          assert.equal("closed", select(2, c:recv(1)))
          c:close()
        end
        -- {in C, to Lua}: /warm: a first request that keeps its connection
        assert.same({4, 1}, {counts()})
        local c = connect(port)   -- posthooks: Lua's part, then Lua closes
        assert.equal("hooked", ask(c, bye:format("/hook"))[1].body)
        assert.equal("closed", select(2, c:recv(1)))
        c:close()
        assert.equal(1, ran)
        assert.same({4, 2}, {counts()})
        eventlet.sleep(0.01)
        assert.equal(0, srv.nconns)
      end)
    end)

    it("never uses a connection record's parser unchecked", function()
      -- (Lua's path refuses a false one; the lane must not read it as a
      -- parser: it would read past a FILE handle -- ASan, valgrind -- or
      -- through NULL for a table wearing the parser's metatable.)
      local core = require "eventlet.core"
      local fakes = {
        ["/file"] = function() return io.stdout end,
        ["/table"] = function(parser) return setmetatable({}, getmetatable(parser)) end,
      }
      local function swap(req)
        req._conn.parser = fakes[req.path](req._conn.parser)
        return 200, {}, "swapped"
      end
      with_server(app_with({["/file"] = swap, ["/table"] = swap}), nil, function(_, port)
        for path in pairs(fakes) do
          local c = warm(port)
          assert.equal("swapped", ask(c, GET:format(path))[1].body)
          local printing = core.print_errors()
          core.print_errors(false)   -- the worker that refuses it ends
          assert(c:send(GET:format("/next")))
          local data, err = c:recv(1)   -- no answer: closed (reset, the request unread)
          core.print_errors(printing)
          assert.is_nil(data)
          assert.is_true(err == "closed" or err == "connection reset by peer", err)
          c:close()
        end
        local c = warm(port)
        assert.equal("/other", ask(c, GET:format("/other"))[1].body)
        c:close()
      end)
    end)

    it("leaves an HTTP/1.0 keep-alive connection open, and closes one that asks", function()
      with_server(app_with({}), nil, function(_, port)
        local c = connect(port)
        local ka = "GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        for i = 1, 2 do
          local rs = ask(c, ka:format("/k" .. i))
          assert.equal("/k" .. i, rs[1].body)
          assert.equal("keep-alive", rs[1].headers.connection)
        end
        local rs = ask(c, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert.equal("close", rs[1].headers.connection)
        assert.is_nil((c:recv(1)))
        c:close()
      end)
    end)
  end)
end
