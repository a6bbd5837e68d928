-- eventlet.wsgi: modern eventlet's server names over eventlet.httpd.
local eventlet = require "eventlet"
local wsgi = require "eventlet.wsgi"
local H = require "helpers.httpd"

-- Run fn(port) against a wsgi server for app.
local function with_wsgi(app, opts, fn)
  opts = opts or {}
  opts.log = false
  local sock = assert(eventlet.listen("127.0.0.1:0"))
  local srv = wsgi.Server(sock, app, opts)
  srv:start()
  local _, port = srv:address()
  local ok, err = pcall(fn, port)
  srv:stop({grace = 1})
  srv._thread:wait()
  if not ok then error(err, 0) end
end

describe("eventlet.wsgi", function()
  it("gives the app a WSGI environ and start_response", function()
    local seen
    with_wsgi(function(environ, start_response)
      seen = environ
      local body = environ["wsgi.input"]:read()
      start_response("201 Created", {{"Content-Type", "text/plain"}, {"X-A", "1"}})
      return {"got ", body, " at ", environ.PATH_INFO}
    end, {environ = {extra = "yes"}}, function(port)
      local res = H.parse(H.exchange(port, "POST /a%20b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/x\r\n"
                                           .. "X_Spoof: no\r\nAccept-Encoding: gz\r\nContent-Length: 3\r\n"
                                           .. "Connection: close\r\n\r\nabc"))
      assert.equal(201, res.status)
      assert.equal("got abc at /a b", res.body)
      assert.equal("15", res.headers["content-length"])
      assert.equal("1", res.headers["x-a"])
    end)
    assert.equal("POST", seen.REQUEST_METHOD)
    assert.equal("/a%20b?q=1", seen.RAW_PATH_INFO)
    assert.equal("q=1", seen.QUERY_STRING)
    assert.equal("text/x", seen.CONTENT_TYPE)
    assert.equal("3", seen.CONTENT_LENGTH)
    assert.equal("gz", seen.HTTP_ACCEPT_ENCODING)
    assert.is_nil(seen.HTTP_X_SPOOF)
    assert.equal("http", seen["wsgi.url_scheme"])
    assert.equal("127.0.0.1", seen.REMOTE_ADDR)
    assert.equal("yes", seen.extra)
    assert.equal("", seen.SCRIPT_NAME)
  end)

  it("streams iterator bodies chunked and runs posthooks", function()
    local hooked
    with_wsgi(function(environ, start_response)
      environ["eventlet.posthooks"][1] = {function(env, tag) hooked = tag .. env.PATH_INFO end, "done "}
      start_response("200 OK", {})
      local i = 0
      return function() i = i + 1 if i <= 2 then return "part" .. i end end
    end, nil, function(port)
      local c = H.connect(port)
      assert(c:send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n"))
      local rs = H.read_responses(c, 1)
      c:close()
      assert.equal("part1part2", rs[1].body)
      assert.is_true(rs[1].chunked)
    end)
    assert.equal("done /s", hooked)
  end)

  it("reads lines from wsgi.input and closes with keepalive = false", function()
    with_wsgi(function(environ, start_response)
      local input = environ["wsgi.input"]
      local a, b, c = input:readline(), input:readline(), input:readline()
      start_response("200 OK", {{"Content-Length", "7"}})
      local write = start_response("200 OK", {{"Content-Length", "7"}}, "retry")
      write(a:sub(1, 2) .. b:sub(1, 2))
      return {c == "" and "end" or "?"}
    end, {keepalive = false}, function(port)
      local c = H.connect(port)
      assert(c:send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nx\nyy\n"))
      local rs = H.read_responses(c, 2)
      c:close()
      assert.equal(1, #rs)
      assert.equal("x\nyyend", rs[1].body)
      assert.equal("close", rs[1].headers.connection)
    end)
  end)

  it("keeps format_date_time", function()
    assert.equal("Sun, 06 Nov 1994 08:49:37 GMT", wsgi.format_date_time(784111777))
  end)
end)
