-- The HTTP/1.1 server's protocol behaviour, with raw request bytes over
-- real sockets: pipelining, chunked in and out, 100-continue, HEAD,
-- 204/304, keep-alive, HTTP/1.0, handler errors, posthooks.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local H = require "helpers.httpd"
local Response = require "eventlet.httpd.response"

local with_server, connect, read_responses = H.with_server, H.connect, H.read_responses

-- A handler that answers by path.
local function app(req, res)
  local p = req.path
  if p == "/slow" then
    eventlet.sleep(0.2)
    return 200, {}, "slow"
  elseif p == "/echo" then
    local body = assert(req:read_body())
    return 200, {["X-Method"] = req.method}, body
  elseif p == "/stream" then
    res:header("Content-Type", "text/plain")
    res:write("one,")
    res:write("two,")
    return res:finish("three")
  elseif p == "/iter" then
    local i = 0
    return 200, {}, function() i = i + 1 if i <= 3 then return "p" .. i end end
  elseif p == "/204" then
    return 204, {}, "ignored"
  elseif p == "/304" then
    return 304, {ETag = "x"}, nil
  elseif p == "/ignore-body" then
    return 200, {}, "ignored your body"
  elseif p == "/lines" then
    local out = {}
    for line in req:lines() do out[#out + 1] = "[" .. line .. "]" end
    return 200, {}, table.concat(out)
  elseif p == "/read3" then
    local parts = {}
    while true do
      local piece = req:read(3)
      if not piece then break end
      parts[#parts + 1] = piece
    end
    return 200, {}, table.concat(parts, "|")
  end
  return 200, {["Content-Type"] = "text/plain"}, "path=" .. p .. " v=" .. req.version
end

describe("httpd protocol", function()
  it("answers pipelined requests sent in one write strictly in order", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                    .. "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                    .. "GET /third HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 3)
      c:close()
      assert.equal("slow", rs[1].body)
      assert.equal("hello", rs[2].body)
      assert.equal("POST", rs[2].headers["x-method"])
      assert.equal("path=/third v=1.1", rs[3].body)
    end)
  end)

  it("decodes chunked request bodies and streams chunked responses", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .. "4;name=val\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer: x\r\n\r\n"
                    .. "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /iter HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 3)
      c:close()
      assert.equal("abcdefg", rs[1].body)
      assert.equal("one,two,three", rs[2].body)
      assert.is_true(rs[2].chunked)
      assert.matches("\r\n4\r\none,\r\n", rs[2].raw)
      assert.matches("\r\n0\r\n\r\n$", rs[2].raw)
      assert.equal("p1p2p3", rs[3].body)
    end)
  end)

  it("reads bodies by count and by line without passing their end", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /read3 HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabcdefgh"
                    .. "POST /lines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .. "5\r\na\r\nbc\r\n3\r\n\nd\n\r\n0\r\n\r\n"))
      local rs = read_responses(c, 2)
      c:close()
      assert.equal("abc|def|gh", rs[1].body)
      assert.equal("[a][bc][d]", rs[2].body)
    end)
  end)

  it("sends 100 Continue on the first body read, not before", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
      local line = assert(c:receive("*l"))
      assert.equal("HTTP/1.1 100 Continue", line)
      assert.equal("", c:receive("*l"))
      assert(c:send("body"))
      local rs = read_responses(c, 1)
      assert.equal("body", rs[1].body)
      -- the connection stays usable
      assert(c:send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"))
      rs = read_responses(c, 1)
      assert.equal("path=/again v=1.1", rs[1].body)
      c:close()
    end)
  end)

  it("answers without 100 Continue and closes when the handler ignores the body", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
      local rs, rest = read_responses(c, 2)
      c:close()
      assert.equal(1, #rs)
      assert.equal(200, rs[1].status)
      assert.equal("close", rs[1].headers.connection)
      assert.not_matches("100 Continue", rs[1].raw)
      assert.equal("", rest)
      assert.equal("closed", rs.err)
    end)
  end)

  it("answers an expectation other than 100-continue with 417 and closes", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: teapot\r\n\r\n"))
      local rs = read_responses(c, 2)
      c:close()
      assert.equal(1, #rs)
      assert.equal(417, rs[1].status)
      assert.equal("close", rs[1].headers.connection)
      assert.matches("unsupported expectation: teapot", rs[1].body, 1, true)
      -- a request without a body is refused as well
      c = connect(port)
      assert(c:send("GET /x HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"))
      rs = read_responses(c, 2)
      c:close()
      assert.equal(1, #rs)
      assert.equal(417, rs[1].status)
      assert.equal("close", rs[1].headers.connection)
      -- HTTP/1.0 expectations are ignored (RFC 9110 10.1.1), 100-continue too
      for _, expect in ipairs({"teapot", "100-continue"}) do
        c = connect(port)
        assert(c:send("POST /echo HTTP/1.0\r\nContent-Length: 4\r\nExpect: " .. expect .. "\r\n\r\nbody"))
        rs = read_responses(c, 1)
        c:close()
        assert.equal(200, rs[1].status)
        assert.equal("body", rs[1].body)
        assert.not_matches("100 Continue", rs[1].raw)
      end
    end)
  end)

  it("reads an expectation in any case, waits for none without a body, refuses a repeated one", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-Continue \r\n\r\n"))
      assert.equal("HTTP/1.1 100 Continue", c:receive("*l"))
      assert.equal("", c:receive("*l"))
      assert(c:send("hi"))
      assert.equal("hi", read_responses(c, 1)[1].body)
      -- nothing to wait for: no interim answer, and the connection stays
      assert(c:send("GET /again HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"))
      local rs = read_responses(c, 1)
      assert.equal(200, rs[1].status)
      assert.not_matches("100 Continue", rs[1].raw)
      assert.is_nil(rs[1].headers.connection)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        .. "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n"))
      rs = read_responses(c, 2)
      c:close()
      assert.equal(1, #rs)
      assert.equal(417, rs[1].status)
      assert.matches("unsupported expectation: 100-continue, 100-continue", rs[1].body, 1, true)
    end)
  end)

  it("discards an unread body before the next request", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
                    .. "POST /ignore-body HTTP/1.1\r\nHost: x\r\n"
                      .. "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                    .. "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 3)
      c:close()
      assert.equal("ignored your body", rs[1].body)
      assert.equal("ignored your body", rs[2].body)
      assert.equal("path=/after v=1.1", rs[3].body)
    end)
  end)

  it("never sends a body to HEAD but announces its length", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("HEAD /x HTTP/1.1\r\nHost: x\r\n"
        .. "\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 3, {true, true, false})
      c:close()
      assert.equal("13", rs[1].headers["content-length"])
      assert.equal("", rs[1].body)
      assert.not_matches("path=", rs[1].raw)
      assert.not_matches("one,", rs[2].raw)
      assert.equal("path=/y v=1.1", rs[3].body)
    end)
  end)

  it("sends neither Content-Length nor Transfer-Encoding with 204 and 304", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("GET /204 HTTP/1.1\r\nHost: x\r\n"
        .. "\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /z HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 3)
      c:close()
      assert.equal(204, rs[1].status)
      assert.equal(304, rs[2].status)
      for i = 1, 2 do
        assert.is_nil(rs[i].headers["content-length"])
        assert.is_nil(rs[i].headers["transfer-encoding"])
      end
      assert.not_matches("ignored", rs[1].raw)
      assert.equal("path=/z v=1.1", rs[3].body)
    end)
  end)

  it("keeps HTTP/1.1 connections alive and closes on Connection: close", function()
    with_server(app, nil, function(_, port)
      local c = connect(port)
      assert(c:send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 1)
      assert.is_nil(rs[1].headers.connection)
      assert(c:send("GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      rs = read_responses(c, 2)
      c:close()
      assert.equal("path=/2 v=1.1", rs[1].body)
      assert.equal("close", rs[1].headers.connection)
      assert.equal(1, #rs)
      assert.equal("closed", rs.err)
    end)
  end)

  it("serves a keep-alive connection that idled long enough to give its buffer back", function()
    with_server(app, {idle_timeout = 5}, function(_, port)
      local c = connect(port)
      assert(c:send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n"))
      assert.equal("path=/before v=1.1", read_responses(c, 1)[1].body)
      eventlet.sleep(1.3)
      assert(c:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nlater"))
      local rs = read_responses(c, 1)
      c:close()
      assert.equal("later", rs[1].body)
    end)
  end)

  it("keeps idle keep-alive connections without green threads, and serves them again", function()
    with_server(app, {idle_timeout = 5}, function(srv, port)
      local function served(n)   -- n connections, one request each, left open
        local cs = {}
        for i = 1, n do
          cs[i] = connect(port)
          assert(cs[i]:send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n"))
          assert.equal("path=/before v=1.1", read_responses(cs[i], 1)[1].body)
        end
        return cs
      end
      local many = served(20)
      eventlet.sleep(0.6)                    -- past the idle trim (0.25 s)
      local live = core.stats().live
      assert.is_true(live < 20)              -- threads of the server, not one a connection
      for _, c in ipairs(served(20)) do table.insert(many, c) end
      eventlet.sleep(0.6)
      assert.equal(live, core.stats().live)  -- 40 idle connections, as many threads as 20
      for conn, member in pairs(srv.conns) do
        assert.is_false(member)              -- tracked, dozing
        assert.is_false(conn.parser)         -- no parser either
      end
      for _, c in ipairs(many) do            -- each is served again
        assert(c:send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert.equal("path=/after v=1.1", read_responses(c, 1)[1].body)
        c:close()
      end
    end)
  end)

  it("closes a dozing connection at its idle timeout, and on stop", function()
    with_server(app, {idle_timeout = 0.5}, function(srv, port)
      local c = connect(port)
      assert(c:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
      read_responses(c, 1)
      local t0 = core.now()
      local data, err = c:receive(1)
      assert.is_nil(data)
      assert.equal("closed", err)
      assert.is_true(core.now() - t0 > 0.3)
      c:close()
      eventlet.sleep(0.05)
      assert.equal(0, srv.nconns)
    end)
    local srv
    with_server(app, {idle_timeout = 30}, function(server, port)
      srv = server
      local c = connect(port)
      assert(c:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
      read_responses(c, 1)
      eventlet.sleep(0.4)                    -- dozing now
      local t0 = core.now()
      server:stop({grace = 5})               -- closes it at once
      assert.is_true(core.now() - t0 < 1)
      local data, err = c:receive(1)
      assert.is_nil(data)
      assert.equal("closed", err)
      c:close()
    end)
    assert.equal(0, srv.nconns)
  end)

  it("speaks HTTP/1.0: close by default, keep-alive on request, close-delimited streams", function()
    with_server(app, nil, function(_, port)
      local raw = H.exchange(port, "GET /a HTTP/1.0\r\n\r\n")
      local res = H.parse(raw)
      assert.equal("path=/a v=1.0", res.body)
      assert.equal("close", res.headers.connection)

      local c = connect(port)
      assert(c:send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
      local rs = read_responses(c, 1)
      assert.equal("keep-alive", rs[1].headers.connection)
      assert(c:send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
      rs = read_responses(c, 1)
      c:close()
      assert.equal("one,two,three", rs[1].body)
      assert.is_nil(rs[1].headers["transfer-encoding"])
      assert.is_nil(rs[1].headers["content-length"])
      assert.equal("close", rs[1].headers.connection)
    end)
  end)

  it("adds Date and Server", function()
    with_server(app, nil, function(_, port)
      local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", res.headers.date)
      assert.equal("eventlet-lua", res.headers.server)
    end)
  end)
end)

describe("httpd handlers that take no res", function()
  -- A handler of one parameter (or none, or a site) gets no response
  -- object unless it asks through req; what it returns must go out exactly
  -- as from a handler that takes res.
  it("are told apart from those that take one", function()
    local lean = {}
    local site = {handle_request = function() return 200, {}, "" end}
    local callable = setmetatable({}, {__call = function() return 200, {}, "" end})
    for name, handler in pairs({req = function(_) end, none = function() end, site = site,
                                res = function(_, _) end, vararg = function(...) return ... end,
                                callable = callable}) do
      with_server(handler, nil, function(srv) lean[name] = srv.lean end)
    end
    with_server(function(_) end, {log = function() end}, function(srv) lean.logged = srv.lean end)
    assert.same({req = true, none = true, site = true, res = false, vararg = false, callable = false,
                 logged = false}, lean)
  end)

  it("answer alike through every kind of result, posthooks seeing the same", function()
    local hooked, hook_all
    local function results(req)
      if hook_all then   -- status and bytes, as a posthook sees them
        req:on_finish(function(_, res) hook_all[#hook_all + 1] = res.status .. " " .. res.bytes end)
      end
      local p = req.path
      if p == "/string" then return 201, {["X-A"] = "a"}, "made"
      elseif p == "/nil" then return nil
      elseif p == "/iter" then
        local i = 0
        return 200, {}, function() i = i + 1 if i <= 2 then return "p" .. i end end
      elseif p == "/list" then return 200, {}, {"x", "y"}
      elseif p == "/204" then return 204, {}, "ignored"
      elseif p == "/unread" then return 200, {}, "body left unread"
      elseif p == "/2007" then
        req:set_header("X-Site", "yes")
        return req:write("site")
      elseif p == "/bad-status" then return "bogus", {}, "x"
      end
      req:on_finish(function(_, res) hooked = res.status .. " " .. res.bytes end)
      return 202, {}, "hooked"
    end
    local paths = {"/string", "/nil", "/iter", "/list", "/204", "/2007", "/hook", "/bad-status"}
    local function summary(res)
      return {res.status, res.headers["x-a"], res.headers["x-site"], res.headers["content-length"],
              res.headers["transfer-encoding"], res.body}
    end
    local function run(handler)
      local out = {}
      hook_all = {}
      with_server(handler, nil, function(srv, port)
        assert.equal(debug.getinfo(handler, "u").nparams < 2, srv.lean)
        for _, path in ipairs(paths) do      -- one connection each, closed
          local raw = H.exchange(port, "GET " .. path .. " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          out[#out + 1] = summary(H.parse(raw))
        end
        out[#out + 1] = hook_all
        hook_all = nil
        local c = connect(port)                -- pipelined on one kept-alive connection, no posthooks
        local ask = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
        assert(c:send(ask:format("/string") .. ask:format("/nil") .. ask:format("/iter") .. ask:format("/204")
                      .. "POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabcdef"
                      .. ask:format("/2007") .. ask:format("/string")))
        for _, r in ipairs(read_responses(c, 7)) do out[#out + 1] = summary(r) end
        c:close()
      end)
      out[#out + 1] = hooked     -- what /hook's own posthook saw
      return out
    end
    local lean_out = run(function(req) return results(req) end)
    local full_out = run(function(req, _) return results(req) end)
    assert.same(full_out, lean_out)
    assert.same({201, "a", nil, "4", nil, "made"}, lean_out[1])
    assert.same({200, nil, nil, "0", nil, ""}, lean_out[2])
    assert.same({200, nil, nil, nil, "chunked", "p1p2"}, lean_out[3])
    assert.same({204, nil, nil, nil, nil, ""}, lean_out[5])
    assert.equal("yes", lean_out[6][3])
    assert.equal(500, lean_out[8][1])
    assert.equal(#paths, #lean_out[#paths + 1])   -- a posthook for each
    assert.matches("^201 %d+$", lean_out[#paths + 1][1])
    assert.same({200, nil, nil, "16", nil, "body left unread"}, lean_out[14])  -- its body skipped
    assert.same(lean_out[1], lean_out[16])     -- ...and the next request read right after it
    assert.equal(#paths + 1 + 7 + 1, #lean_out)
    assert.matches("^202 %d+$", lean_out[#lean_out])
  end)

  it("make no response object for a string answer, one per connection otherwise", function()
    local made, new = 0, Response.new
    local function count(conn) made = made + 1 return new(conn) end
    local function ask_twice(handler)
      made = 0
      Response.new = count
      local ok, err = pcall(with_server, handler, nil, function(_, port)
        local c = connect(port)
        assert(c:send(("GET / HTTP/1.1\r\nHost: x\r\n\r\n"):rep(2)))
        assert.equal(2, #read_responses(c, 2))
        c:close()
      end)
      Response.new = new
      assert(ok, err)
      return made
    end
    assert.equal(0, ask_twice(function() return 200, {}, "lean" end))
    assert.equal(1, ask_twice(function(_, _) return 200, {}, "full" end))
    assert.equal(2, ask_twice(function(req) return req:write("asked") end))   -- one per request asking
  end)

  it("refuse a kept request's answer once theirs is on its way", function()
    local late
    with_server(function(req)
      eventlet.spawn(function()        -- a watchdog: runs while the big body waits for the client
        late = {pcall(req.error, req, 504, "too slow")}
      end)
      return 200, {}, ("x"):rep(16 * 1024 * 1024)
    end, nil, function(_, port)
      local c = connect(port)
      assert(c:send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      eventlet.sleep(0.1)              -- the server's write is parked on a full socket
      local raw = c:receive("*a")
      c:close()
      local res = H.parse(raw)
      assert.equal(200, res.status)
      assert.equal(16 * 1024 * 1024, #res.body)
      assert.is_nil(raw:find("504", #raw - 64, true))   -- nothing after the body
    end)
    assert.is_false(late[1])
    assert.matches("answered already", late[2])
  end)

  it("keep no response object between requests, and a kept request cannot answer later", function()
    local kept
    with_server(function(req)
      kept = kept or req
      return 200, {}, "lean"
    end, nil, function(srv, port)
      local c = connect(port)
      assert(c:send(("GET / HTTP/1.1\r\nHost: x\r\n\r\n"):rep(2)))
      local rs = read_responses(c, 2)
      assert.equal("lean", rs[2].body)
      local conn = next(srv.conns)
      assert.is_false(conn.res)
      local late = {pcall(kept.write, kept, "late")}
      assert.is_false(late[1])
      assert.matches("this request has been answered already", late[2])
      c:close()
    end)
  end)
end)

describe("httpd handlers", function()
  it("turn an error before the head into a 500 that closes, traceback only with debug", function()
    local function boom() error("kaboom") end
    with_server(boom, nil, function(_, port)
      local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
      assert.equal(500, res.status)
      assert.equal("close", res.headers.connection)
      assert.not_matches("kaboom", res.body)
    end)
    with_server(boom, {debug = true}, function(_, port)
      local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
      assert.equal(500, res.status)
      assert.matches("kaboom", res.body)
      assert.matches("traceback", res.body)
    end)
  end)

  it("cut the connection on an error after the head went out", function()
    with_server(function(_, res)
      res:write("partial")
      error("late")
    end, nil, function(_, port)
      local raw = H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
      assert.matches("partial", raw)
      assert.not_matches("0\r\n\r\n$", raw)
      assert.not_matches("/next", raw)
    end)
  end)

  it("run posthooks after the response, in order", function()
    local seen = {}
    with_server(function(req)
      req:on_finish(function(_, res) seen[#seen + 1] = "first " .. res.status end)
      req:on_finish(function() seen[#seen + 1] = "second" end)
      return 201, {}, "made"
    end, nil, function(_, port)
      local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      assert.equal(201, res.status)
      assert.same({"first 201", "second"}, seen)
    end)
  end)

  it("serve the 2007 site protocol", function()
    local site, first, late, dozed = {}, nil, nil, nil
    function site.handle_request(_, req)
      if req.path == "/missing" then
        late = {pcall(first.write, first, "again")}  -- the first request, answered already
        return req:not_found()
      end
      first = req
      req:set_header("X-Site", "yes")
      req:write("site says " .. req:args().name)
    end
    with_server(site, nil, function(srv, port)
      local c = connect(port)
      assert(c:send("GET /hi?name=bob HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = read_responses(c, 2)
      eventlet.sleep(0.4)   -- the connection dozes off (0.25 s) and drops its response object
      local conn, thread = next(srv.conns)
      assert.is_false(thread)
      assert.is_false(conn.res)
      dozed = {pcall(first.write, first, "later")}
      c:close()
      assert.equal("site says bob", rs[1].body)
      assert.equal("yes", rs[1].headers["x-site"])
      assert.equal(404, rs[2].status)
    end)
    assert.is_false(late[1])
    assert.matches("this request has been answered already", late[2])
    assert.is_false(dozed[1])
    assert.matches("this request has been answered already", dozed[2])
  end)

  it("let an idle connection doze with no buffer, parser or response, and serve it on waking", function()
    local kept_res
    local function who(req, res)
      kept_res = kept_res or res
      return 200, {}, table.concat({req.path, req.remote_addr, tostring(req.remote_port > 0), req.scheme}, " ")
    end
    with_server(who, nil, function(srv, port)
      local held_before = core.stats().read_buffers
      local clients = {}
      for i = 1, 3 do
        clients[i] = connect(port)
        assert(clients[i]:send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert.equal("/first 127.0.0.1 true http", read_responses(clients[i], 1)[1].body)
      end
      eventlet.sleep(0.4)   -- past the 0.25 s an idle connection waits before dozing off
      local dozing = 0
      for conn, thread in pairs(srv.conns) do
        assert.is_false(thread)
        assert.is_false(conn.res)
        assert.is_false(conn.parser)
        assert.is_false(conn.peer)
        dozing = dozing + 1
      end
      assert.equal(3, dozing)
      -- each took a read buffer for its request and gave it back on dozing off
      -- (the clients read with recv(65536): buffers of their own, not the pool's)
      assert.equal(held_before, core.stats().read_buffers)
      local late = {pcall(kept_res.send_result, kept_res, 200, {}, "too late")}
      assert.is_false(late[1])
      assert.matches("response already finished", late[2])
      for i, c in ipairs(clients) do   -- waking: two pipelined requests each
        assert(c:send(("GET /again%d HTTP/1.1\r\nHost: x\r\n\r\n"):format(i):rep(2)))
        for _, r in ipairs(read_responses(c, 2)) do
          assert.equal(("/again%d 127.0.0.1 true http"):format(i), r.body)
        end
        c:close()
      end
      local deadline = core.now() + 2   -- the server sees the closes
      while core.stats().read_buffers ~= held_before and core.now() < deadline do eventlet.sleep(0.01) end
      assert.equal(held_before, core.stats().read_buffers)
    end)
  end)

  it("keep the raw header pairs when asked", function()
    local raw
    with_server(function(req)
      raw = req.headers_raw
      return 200, {}, tostring(req.headers_raw == nil)
    end, {headers_raw = true}, function(_, port)
      H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nx-one: 2\r\nConnection: close\r\n\r\n")
    end)
    assert.same({"Host", "x", "X-One", "1", "x-one", "2", "Connection", "close"}, raw)
    with_server(function(req) raw = req.headers_raw return 200, {}, "" end, nil, function(_, port)
      H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    end)
    assert.is_nil(raw)
  end)

  it("give the request its peer, scheme and parsed query", function()
    with_server(function(req)
      local pairs_ = req:query_pairs()
      return 200, {}, table.concat({req.remote_addr, tostring(req.remote_port > 0), req.scheme,
                                    pairs_[1][1], pairs_[1][2], pairs_[2][2]}, " ")
    end, nil, function(_, port)
      local res = H.parse(H.exchange(port, "GET /?a+b=c%21&x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      assert.equal("127.0.0.1 true http a b c! ", res.body)
      -- the first request of a connection carries them, the next ones inherit them
      local c = connect(port)
      assert(c:send(("GET /?p=1&q=2 HTTP/1.1\r\nHost: x\r\n\r\n"):rep(3)))
      local rs = read_responses(c, 3)
      c:close()
      for i = 1, 3 do assert.equal("127.0.0.1 true http p 1 2", rs[i].body) end
    end)
  end)
end)
