-- A handler result that cannot be sent is the handler's error: the client
-- gets a 500 on a live server, the error goes to error_log, nothing dies.
local httpd = require "eventlet.httpd"
local httpc = require "eventlet.httpc"

-- Handlers of both kinds, made from fn(req): one that takes res answers
-- inside its protected call, one that does not (server.lean) after it.
local KINDS = {lean = function(fn) return function(req) return fn(req) end end,
               full = function(fn) return function(req, _) return fn(req) end end}

describe("httpd handler results", function()
  for kind, wrap in pairs(KINDS) do
    it("answers 500 for a status or header that cannot be sent, and keeps serving (" .. kind .. ")",
       function()
      local results = {
        ["/words"] = {"just a string"},
        ["/words-body"] = {"OK then", {}, "x"},
        ["/low"] = {99},
        ["/crlf"] = {200, {["X-Bad"] = "a\r\nInjected: yes"}, "x"},
        ["/split"] = {"200 OK\r\nInjected: yes", {}, "x"},   -- response splitting by status
        ["/float"] = {200.5, {}, "x"},
        ["/ok"] = {200, {}, "fine"},
        ["/named"] = {"404 Not Found", {}, "gone"},
      }
      local logged = {}
      local srv = assert(httpd.server("127.0.0.1:0", wrap(function(req)
        return table.unpack(results[req.path])
      end), {log = false, error_log = function(line) logged[#logged + 1] = line end}))
      assert.equal(kind == "lean", srv.lean)
      srv:start()
      local client <close> = httpc.client{base_url = srv:url()}
      for _, path in ipairs({"/words", "/low", "/crlf", "/words-body", "/split", "/float"}) do
        local resp = assert(client:get(path))
        assert.equal(500, resp.status)
        assert.is_nil(resp.headers["injected"])
      end
      assert.equal("fine", assert(client:get("/ok")).body)
      local named = assert(client:get("/named"))
      assert.equal(404, named.status)
      assert.equal("gone", named.body)
      assert.equal(6, #logged)
      assert.matches("invalid status OK then", logged[4])
      assert.matches("error handling GET /low", logged[2])
      assert.matches("error handling GET /split", logged[5])
      assert.matches("invalid status 200.5", logged[6])
      srv:stop{grace = 1}
    end)
  end
end)

describe("httpd when the send of an answer fails part way", function()
  -- A handler leaves a Timeout armed and returns a body larger than the
  -- socket buffers to a client that does not read yet: the Timeout fires
  -- in the middle of the send.  Part of the response is out, so the
  -- connection must end without a 500 after it, the error be logged, the
  -- posthooks run -- and the server serve on.
  local H = require "spec.helpers.httpd"
  local eventlet = require "eventlet"
  local BIG = string.rep("x", 8 * 1024 * 1024)
  for kind, wrap in pairs(KINDS) do
    it("ends the connection, logs the error and runs posthooks (" .. kind .. ")", function()
      local logged, hooks = {}, 0
      local handler = wrap(function(req)
        if req.path == "/big" then
          req:on_finish(function() hooks = hooks + 1 end)
          eventlet.Timeout(0.05)   -- left armed: it fires while the body goes out
          return 200, {}, BIG
        end
        return 200, {}, "small"
      end)
      local opts = {error_log = function(line) logged[#logged + 1] = line end}
      H.with_server(handler, opts, function(srv, port)
        assert.equal(kind == "lean", srv.lean)
        local c = H.connect(port)
        assert(c:send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"))
        eventlet.sleep(0.3)        -- not reading: the server's send parks, the Timeout fires
        local raw, err, partial = c:receive("*a")
        c:close()
        raw = raw or partial
        assert.is_nil(err)         -- a close, not a timeout of ours: the connection ended
        assert.matches("^HTTP/1.1 200 OK\r\n", raw)
        assert.is_nil(raw:find("HTTP/1.1 500", 1, true))
        assert.is_true(#raw < #BIG, "the whole body went out: the test proved nothing")
        assert.equal(1, hooks)
        assert.equal(1, #logged)
        assert.matches("error handling GET /big: .*[Tt]imeout", logged[1])
        local resp = H.parse(H.exchange(port, "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert.equal("small", resp.body)
      end)
    end)
  end
end)

describe("httpd when its listener is closed under it", function()
  it("drains like stop(): idle keep-alive connections end at once", function()
    local eventlet = require "eventlet"
    local l = assert(eventlet.listen("127.0.0.1:0"))
    local srv = assert(httpd.server(l, function() return 200, {}, "hi" end, {log = false}))
    local serving = eventlet.spawn(srv.serve, srv)
    local client <close> = httpc.client{base_url = srv:url()}
    assert.equal("hi", assert(client:get("/")).body)   -- leaves an idle keep-alive
    local t0 = eventlet.core.now()
    l:close()
    serving:wait()
    assert.is_true(eventlet.core.now() - t0 < 5)
    assert.is_true(srv.stopped)
  end)

  it("sets, replaces in any case, reads and removes headers through res:header()", function()
    local H = require "helpers.httpd"
    local seen = {}
    local function handler(_, res)
      res:header("X-Case", "first")
      res:header("x-case", "second")          -- replaces, named as written last
      res.headers[#res.headers + 1] = {"X-Pair", "p"}
      seen.pair = res:header("x-pair")        -- a {name, value} pair, found in any case
      res:header("X-PAIR", "q")               -- and replaced
      res:header("X-Gone", "g")
      res:header("x-gone", nil)               -- removed
      seen.case, seen.gone = res:header("X-CASE"), res:header("X-Gone")
      seen.set = res:header("Set-Cookie", {"a=1", "b=2"})
      res:finish("done")
    end
    H.with_server(handler, nil, function(_, port)
      local raw = H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert.truthy(raw:find("\r\nx-case: second\r\n", 1, true))
      assert.falsy(raw:find("first", 1, true))
      assert.truthy(raw:find("\r\nX-PAIR: q\r\n", 1, true))
      assert.falsy(raw:find("X-Pair", 1, true))
      assert.falsy(raw:lower():find("x-gone", 1, true))
      assert.truthy(raw:find("\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n", 1, true))
      assert.equal("p", seen.pair)
      assert.equal("second", seen.case)
      assert.is_nil(seen.gone)
      assert.same({"a=1", "b=2"}, seen.set)
    end)
  end)
end)
