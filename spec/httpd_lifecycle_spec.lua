-- The server's life: graceful stop, TLS listeners, curl as a real
-- client, the access log, SIGTERM under the host.
local eventlet = require "eventlet"
local httpd = require "eventlet.httpd"
local processes = require "eventlet.processes"
local support = require "net_support"
local H = require "helpers.httpd"

local with_server, connect, read_responses = H.with_server, H.connect, H.read_responses

local function app(req)
  if req.path == "/slow" then eventlet.sleep(0.4) end
  if req.path == "/forever" then eventlet.sleep(60) end
  if req.method == "POST" or req.method == "PUT" then
    local body = assert(req:read_body())
    return 200, {["Content-Type"] = "text/plain"}, req.method .. " " .. #body .. " " .. body:sub(1, 8)
  end
  return 200, {["Content-Type"] = "text/plain"}, req.scheme .. " " .. req.path
end

-- A started server (not stopped by a helper: the tests stop it).
local function start(opts)
  opts = opts or {}
  opts.log = opts.log or false
  opts.error_log = false
  local srv = assert(httpd.server("127.0.0.1:0", app, opts))
  srv:start()
  local _, port = srv:address()
  return srv, port
end

describe("httpd stop", function()
  it("closes idle and dozing keep-alives at once, lets in-flight requests (a head begun) finish with close", function()
    local srv, port = start()
    local idle = connect(port)
    assert(idle:send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert.equal(1, #read_responses(idle, 1))
    local dozing = connect(port)
    assert(dozing:send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert.equal(1, #read_responses(dozing, 1))
    eventlet.sleep(0.4)                -- past 0.25 s: it waits without a thread
    local busy = connect(port)
    assert(busy:send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
    local half = connect(port)           -- a head begun is a request in flight
    assert(half:send("GET /half HTTP/1.1\r\nHo"))
    eventlet.sleep(0.1)
    local t0 = eventlet.now()
    local stopper = eventlet.spawn(function() srv:stop({grace = 5}) return eventlet.now() end)
    -- the idle and dozing connections are closed without waiting for the slow one
    for _, c in ipairs({idle, dozing}) do
      local data, err = c:recv(100)
      assert.is_nil(data)
      assert.equal("closed", err)
      c:close()
    end
    assert.is_true(eventlet.now() - t0 < 0.3)
    assert(half:send("st: x\r\n\r\n"))
    local hs = read_responses(half, 1)
    half:close()
    assert.equal("http /half", hs[1].body)
    assert.equal("close", hs[1].headers.connection)
    local rs = read_responses(busy, 1)
    busy:close()
    assert.equal("http /slow", rs[1].body)
    assert.equal("close", rs[1].headers.connection)
    local stopped_at = stopper:wait()
    assert.is_true(stopped_at - t0 < 2)
    srv._thread:wait()
    -- nothing listens any more
    assert.is_nil(eventlet.connect("127.0.0.1:" .. port))
  end)

  it("cancels what is still running after the grace period", function()
    local srv, port = start()
    local c = connect(port)
    assert(c:send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"))
    eventlet.sleep(0.1)
    local t0 = eventlet.now()
    srv:stop({grace = 0.2})
    assert.is_true(eventlet.now() - t0 < 2)
    local data, err = c:receive("*a")
    c:close()
    assert.equal("", data or "")
    assert.is_true(err == nil or err == "closed" or err == "connection reset by peer")
    srv._thread:wait()
  end)

  it("can be stopped from inside a handler", function()
    local srv
    srv = assert(httpd.server("127.0.0.1:0", function()
      srv:stop({grace = 1})
      return 200, {}, "bye"
    end, {log = false}))
    srv:start()
    local _, port = srv:address()
    local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert.equal("bye", res.body)
    assert.equal("close", res.headers.connection)
    srv._thread:wait()
    assert.is_true(srv.stopped)
  end)
end)

describe("httpd over TLS", function()
  local certs
  setup(function() certs = support.certs() end)

  it("serves https through wrap_ssl and survives plain HTTP and bad handshakes", function()
    local srv, port = start({tls = {server = true, cert = certs.server_cert, key = certs.server_key}})
    assert.equal("https", srv.scheme)
    assert.matches("^https://127%.0%.0%.1:%d+$", srv:url())
    -- plain HTTP to the TLS port: that connection fails, the server lives
    local plain = connect(port)
    assert(plain:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    local got = plain:receive("*a")
    plain:close()
    assert.not_matches("^HTTP/1.1 200", got or "")
    -- a client that gives up in the middle of the handshake
    local quitter = connect(port)
    assert(quitter:send("\22\3\1\0\5hello"))
    quitter:close()
    -- a real TLS client, two requests on one connection
    local c = assert(eventlet.connect("127.0.0.1:" .. port,
                                      {tls = {cafile = certs.ca_cert, hostname = "localhost"}}))
    c:settimeout(5)
    assert(c:send("GET /secure HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))
    local rs = read_responses(c, 2)
    c:close()
    assert.equal("https /secure", rs[1].body)
    assert.equal("POST 3 abc", rs[2].body)
    srv:stop({grace = 1})
    srv._thread:wait()
  end)

  it("answers curl over https", function()
    local srv, port = start({tls = {server = true, cert = certs.server_cert, key = certs.server_key}})
    local out, _, code = processes.run({"curl", "-sS", "--cacert", certs.ca_cert,
                                        "https://localhost:" .. port .. "/tls"}, {timeout = 20})
    srv:stop({grace = 1})
    srv._thread:wait()
    assert.equal(0, code)
    assert.equal("https /tls", out)
  end)
end)

describe("httpd and curl", function()
  it("serves curl: keep-alive reuse, chunked upload, 100-continue, HEAD", function()
    with_server(app, nil, function(_, port)
      local base = "http://127.0.0.1:" .. port
      -- two URLs in one curl: the second reuses the connection
      local out, err, code = processes.run({"curl", "-sS", "-v", base .. "/a", base .. "/b"},
                                           {timeout = 20})
      assert.equal(0, code)
      assert.equal("http /ahttp /b", out)
      assert.matches("Re%-using existing connection", err)
      -- a chunked upload that waits for 100 Continue
      out, err, code = processes.run({"curl", "-sS", "-v", "-H", "Transfer-Encoding: chunked",
                                      "-H", "Expect: 100-continue", "--data-binary", "@-",
                                      base .. "/up"}, {input = ("x"):rep(100000), timeout = 20})
      assert.equal(0, code)
      assert.equal("POST 100000 xxxxxxxx", out)
      assert.matches("HTTP/1.1 100 Continue", err)
      -- HEAD
      out, _, code = processes.run({"curl", "-sS", "-I", base .. "/h"}, {timeout = 20})
      assert.equal(0, code)
      assert.matches("^HTTP/1.1 200 OK\r\n", out)
      assert.matches("Content%-Length: 7\r\n", out)
    end)
  end)
end)

describe("httpd and wrk", function()
  it("answers a wrk run without errors, keep-alive and Connection: close", function()
    with_server(app, nil, function(srv)
      for _, extra in ipairs({{}, {"-H", "Connection: close"}}) do
        local cmd = {"wrk", "-t1", "-c20", "-d1s", srv:url() .. "/wrk"}
        for i, a in ipairs(extra) do table.insert(cmd, 1 + i, a) end
        local out, _, code = processes.run(cmd, {timeout = 30})
        assert.equal(0, code)
        local n = tonumber(out:match("(%d+) requests in"))
        assert.is_true(n > 100, out)
        assert.not_matches("Non%-2xx", out)
        assert.not_matches("Socket errors", out)
      end
    end)
  end)
end)

describe("httpd access log", function()
  it("writes the combined format with X-Forwarded-For and a startup line", function()
    local lines = {}
    with_server(app, {log = function(line) lines[#lines + 1] = line end}, function(_, port)
      H.exchange(port, "GET /logged?x=1 HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\nUser-Agent: spec \"ua\"\r\n"
                       .. "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nConnection: close\r\n\r\n")
    end)
    assert.matches("^%(%d+%) httpd starting up on http://127%.0%.0%.1:%d+$", lines[1])
    assert.matches('^10%.0%.0%.1,10%.0%.0%.2,127%.0%.0%.1 %- %- %[%d%d/%a%a%a/%d%d%d%d:%d%d:%d%d:%d%d %+0000%] '
                   .. '"GET /logged%?x=1 HTTP/1%.1" 200 %d+ "http://r/" "spec \\x22ua\\x22" %d+%.%d+$', lines[2])
    assert.equal("httpd exiting", lines[3])
  end)

  it("writes what a client sent that could break the line as \\xNN, in every column", function()
    local lines = {}
    local status = function() return "404 Not Found", {}, "no" end
    with_server(status, {log = function(line) lines[#lines + 1] = line end}, function(_, port)
      H.exchange(port, "GET /q HTTP/1.1\r\nHost: x\r\nUser-Agent: a\tb\\c\r\n"
                       .. "X-Forwarded-For: 10.0.0.1\"x\r\nConnection: close\r\n\r\n")
    end)
    assert.matches('^10%.0%.0%.1\\x22x,127%.0%.0%.1 %- %- %[.-%] "GET /q HTTP/1%.1" 404 %d+ "%-" '
                   .. '"a\\x09b\\x5cc" %d+%.%d+$', lines[2])
  end)

  it("makes a line of whatever a request lacks, with - in its place", function()
    local core = require "eventlet.core"
    assert.matches('^%- %- %- %[.-%] "%-" %- 0 "%-" "%-" 0%.000000$',
                   core.http_access_line({remote_addr = false}, {}, 2.5))
    assert.matches('^%- %- %- %[.-%] "%-" 431 7 "%-" "%-" %d+%.%d+$',
                   core.http_access_line({headers = {}}, 431, 7, core.now(), true))
    local long = string.rep("9", 30)   -- written as string.format's %s, %d, %.6f would
    assert.matches('^5 %- %- %[.-%] "%-" ' .. long .. ' %-5 "%-" "%-" %-%d%.%d%d%d%d%d%d$',
                   core.http_access_line({remote_addr = 5}, long .. " Odd", -5, core.time() + 1))
  end)

  it("has nothing to log but its exit when stopped before its serve thread ran", function()
    local lines = {}
    local srv = start({log = function(line) lines[#lines + 1] = line end})
    srv:stop()
    srv._thread:wait()    -- raised "attempt to index a nil value" (the closed listener's address)
    assert.same({"httpd exiting"}, lines)
  end)

  it("is silent with log = false and can skip X-Forwarded-For", function()
    local lines = {}
    with_server(app, {log = function(line) lines[#lines + 1] = line end, log_x_forwarded_for = false},
                function(_, port)
      H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: close\r\n\r\n")
    end)
    assert.matches("^127%.0%.0%.1 %- %- ", lines[2])
    with_server(app, {log = false}, function(_, port)
      H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    end)
  end)
end)

describe("httpd under the host", function()
  it("stops gracefully on SIGTERM", function()
    local p <close> = assert(processes.spawn({"./eventlet-lua", "examples/hello.lua", "127.0.0.1:0",
                                              env = {HELLO_LOG = "1", PATH = os.getenv("PATH")},
                                              stdout = "null", stderr = "pipe"}))
    p:settimeout(10)
    p.stderr:settimeout(10)
    local line = assert(p.stderr:receive("*l"))
    local port = tonumber(line:match(":(%d+)$"))
    assert.is_number(port)
    local res = H.parse(H.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert.equal("Hello, World!\n", res.body)
    assert(p:kill("TERM"))
    local code, how, sig = p:wait(10)
    local rest = p.stderr:receive("*a")
    p:close()
    assert.is_nil(code)
    assert.equal("signal", how)
    assert.equal(15, sig)
    assert.matches("httpd exiting", rest)
  end)
end)
