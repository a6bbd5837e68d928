-- TLS: our client and server both ways, verification and its failures,
-- client certificates, PEM strings, ALPN, versions, session reuse,
-- STARTTLS, handshake timeouts, a client that never handshakes, and
-- interop with openssl s_server / s_client and curl.  Certificates are
-- made by the openssl CLI (spec/net_support.lua).
local eventlet = require "eventlet"
local tls = require "eventlet.tls"
local ns = require "net_support"

local certs = ns.certs()

-- A TLS echo server (serve on a wrapped listener); returns port, stop().
local function tls_server(opts, handler)
  local o = {server = true, cert = certs.server_cert, key = certs.server_key}
  for k, v in pairs(opts or {}) do o[k] = v end
  local l = assert(eventlet.listen("127.0.0.1:0"))
  assert(eventlet.wrap_ssl(l, o))
  local _, port = l:getsockname()
  local errors = {}
  local gt = eventlet.spawn(eventlet.serve, l, handler or function(conn)
    while true do
      local line = conn:receive()
      if not line then return end
      conn:send(line .. "\n")
    end
  end, {on_error = function(e) errors[#errors + 1] = e end})
  return port, function() l:close() gt:wait() end, errors
end

-- Connect with TLS to localhost:port with client options.
local function tls_connect(port, opts, host)
  return eventlet.connect((host or "localhost") .. ":" .. port, {tls = opts, timeout = 5})
end

describe("eventlet.tls", function()
  local fds_before, fds_after = ns.fd_guard()
  before_each(fds_before)
  after_each(fds_after)

  it("our client talks to our server, verified against our CA", function()
    local port, stop = tls_server()
    local c = assert(tls_connect(port, {cafile = certs.ca_cert}))
    c:send("hello over tls\n")
    assert.equal("hello over tls", c:receive())
    local info = c:tlsinfo()
    assert.equal("TLSv1.3", info.version)
    assert.is_true(info.verified)
    assert.matches("CN%s*=%s*localhost", info.peer)
    assert.matches("tls", tostring(c))
    -- big payloads both ways cross many records
    local big = string.rep("0123456789abcdef", 65536) -- 1 MB, one line
    local w = eventlet.spawn(function() return c:send(big .. "\n") end)
    assert.equal(big, c:receive())
    assert.equal(#big + 1, w:wait())
    c:close()
    stop()
  end)

  it("verifies by default against the system store and fails clearly", function()
    local port, stop = tls_server()
    local c, err = tls_connect(port, true)
    assert.is_nil(c)
    assert.matches("^certificate verify failed: ", err)
    c, err = tls_connect(port, {cafile = certs.ca_cert, hostname = "wrong.example"})
    assert.is_nil(c)
    assert.equal("certificate verify failed: hostname mismatch", err)
    c, err = tls_connect(port, {cafile = certs.ca_cert}, "127.0.0.1")   -- IP SAN
    assert.truthy(c, err)
    c:close()
    stop()
    port, stop = tls_server({cert = certs.self_cert, key = certs.self_key})
    c, err = tls_connect(port, {cafile = certs.ca_cert})
    assert.is_nil(c)
    assert.matches("self%-signed certificate", err)
    c = assert(tls_connect(port, {verify = false}))
    c:send("unverified\n")
    assert.equal("unverified", c:receive())
    assert.is_false(c:tlsinfo().verified)
    c:close()
    stop()
  end)

  it("asks for client certificates when the server verifies", function()
    local seen
    local port, stop, errors = tls_server({verify = true, cafile = certs.ca_cert}, function(conn)
      local line = conn:receive()
      if line then seen = conn:tlsinfo().peer; conn:send("ok\n") end
    end)
    local c = tls_connect(port, {cafile = certs.ca_cert})
    -- TLS 1.3: the client learns of the rejection at its first read
    if c then
      c:send("x\n")
      local r, err = c:receive()
      assert.is_nil(r)
      assert.is_string(err)
      c:close()
    end
    c = assert(tls_connect(port, {cafile = certs.ca_cert, cert = certs.client_cert,
                                  key = certs.client_key}))
    c:send("with cert\n")
    assert.equal("ok", c:receive())
    assert.matches("CN%s*=%s*client", seen)
    c:close()
    stop()
    assert.is_table(errors)
  end)

  it("takes certificates, keys and CAs as PEM strings", function()
    local port, stop = tls_server({cert = false, key = false,
      cert_pem = ns.slurp(certs.server_cert), key_pem = ns.slurp(certs.server_key)})
    local c = assert(tls_connect(port, {ca_pem = ns.slurp(certs.ca_cert)}))
    c:send("pem\n")
    assert.equal("pem", c:receive())
    c:close()
    stop()
    local ctx, err = tls.context({server = true, cert_pem = "not a pem", key_pem = "nor this"})
    assert.is_nil(ctx)
    assert.matches("^certificate: ", err)
  end)

  it("negotiates ALPN and protocol versions", function()
    local port, stop = tls_server({alpn = {"h2", "http/1.1"}, max_version = "tls1.2"})
    local c = assert(tls_connect(port, {cafile = certs.ca_cert, alpn = {"http/1.1"}}))
    local info = c:tlsinfo()
    assert.equal("http/1.1", info.alpn)
    assert.equal("TLSv1.2", info.version)
    c:close()
    local c2, err = tls_connect(port, {cafile = certs.ca_cert, min_version = "tls1.3"})
    assert.is_nil(c2)
    assert.is_string(err)
    stop()
    assert.has_error(function() tls.context({min_version = "ssl2"}) end)
  end)

  it("resumes sessions", function()
    local port, stop = tls_server()
    local ctx = assert(tls.context({cafile = certs.ca_cert}))
    local c = assert(tls_connect(port, {context = ctx}))
    c:send("first\n")
    assert.equal("first", c:receive())   -- TLS 1.3 tickets arrive after the handshake
    local session = assert(c:getsession())
    assert.is_false(c:tlsinfo().reused)
    c:close()
    local c2 = assert(tls_connect(port, {context = ctx, session = session}))
    assert.is_true(c2:tlsinfo().reused)
    c2:close()
    stop()
  end)

  it("upgrades with starttls on both sides", function()
    local l = assert(eventlet.listen("127.0.0.1:0"))
    local _, port = l:getsockname()
    local server = eventlet.spawn(function()
      local conn = assert(l:accept())
      assert.equal("STARTTLS", conn:receive())
      conn:send("GO\n")
      assert(conn:starttls({server = true, cert = certs.server_cert, key = certs.server_key}))
      conn:send("secret: " .. conn:receive() .. "\n")
      conn:close()
    end)
    local c = assert(eventlet.connect("127.0.0.1:" .. port))
    c:send("STARTTLS\n")
    assert.equal("GO", c:receive())
    assert(c:starttls({cafile = certs.ca_cert, hostname = "localhost"}))
    c:send("42\n")
    assert.equal("secret: 42", c:receive())
    -- the server closed with close_notify: a clean end of stream
    assert.equal("", c:receive("*a"))
    c:close()
    server:wait()
    l:close()
  end)

  it("times out a handshake the peer never answers", function()
    local l = assert(eventlet.listen("127.0.0.1:0"))
    local _, port = l:getsockname()
    local t0 = eventlet.now()
    local c, err = tls_connect(port, {cafile = certs.ca_cert, timeout = 0.2}, "127.0.0.1")
    assert.is_nil(c)
    assert.equal("timeout", err)
    assert.is_true(eventlet.now() - t0 < 3)
    local s = assert(l:accept())
    s:close()
    l:close()
  end)

  it("a client that never handshakes stalls nobody but its own handler", function()
    local port, stop = tls_server(nil, function(conn)
      conn:settimeout(0.3)
      local line, err = conn:receive()
      if not line then error("handler: " .. err) end
      conn:send(line .. "\n")
    end)
    local silent = assert(eventlet.connect("127.0.0.1:" .. port))   -- plain TCP, says nothing
    eventlet.sleep(0.05)
    local c = assert(tls_connect(port, {cafile = certs.ca_cert}))
    c:send("served\n")
    assert.equal("served", c:receive())
    c:close()
    -- the silent one is dropped when its handler's read times out
    silent:settimeout(3)
    assert.same({nil, "closed"}, {silent:recv(100)})
    silent:close()
    stop()
  end)

  it("reports garbage from a plaintext peer as the OpenSSL reason", function()
    local l = assert(eventlet.listen("127.0.0.1:0"))
    local _, port = l:getsockname()
    local gt = eventlet.spawn(function()
      local s = assert(l:accept())
      s:send("HTTP/1.0 400 Bad Request\r\n\r\nthis is not tls at all\r\n")
      s:receive("*a")
      s:close()
    end)
    local c, err = tls_connect(port, {cafile = certs.ca_cert}, "127.0.0.1")
    assert.is_nil(c)
    assert.is_string(err)
    assert.is_nil(err:match("timeout"))
    gt:wait()
    l:close()
  end)

  it("interoperates with openssl s_server", function()
    local port = ns.free_port()
    local job = ns.spawn_cmd(("openssl s_server -accept 127.0.0.1:%d -cert %s -key %s -www -naccept 1")
      :format(port, certs.server_cert, certs.server_key))
    local c, err
    for _ = 1, 100 do
      c, err = tls_connect(port, {cafile = certs.ca_cert})
      if c or err ~= "connection refused" then break end
      eventlet.sleep(0.05)
    end
    assert.truthy(c, err)
    c:send("GET / HTTP/1.0\r\n\r\n")
    local page = c:receive("*a")
    assert.matches("HTTP/1.0 200 ok", page)
    assert.matches("s_server", page)
    c:close()
    local status = ns.wait_cmd(job, 10)
    ns.kill_cmd(job)
    assert.equal(0, status)
  end)

  it("interoperates with openssl s_client", function()
    local port, stop = tls_server()
    local job = ns.spawn_cmd(("echo hello-from-s_client | openssl s_client -connect 127.0.0.1:%d " ..
      "-servername localhost -verify_hostname localhost -CAfile %s -verify_return_error -quiet")
      :format(port, certs.ca_cert))
    -- s_client never closes by itself: wait for the echo, then end it
    local out
    for _ = 1, 200 do
      out = ns.slurp(job.out) or ""
      if out:find("hello-from-s_client", 1, true) then break end
      eventlet.sleep(0.05)
    end
    ns.kill_cmd(job)
    assert.matches("hello%-from%-s_client", out)
    stop()
  end)

  it("serves curl over https", function()
    local port, stop = tls_server({alpn = {"http/1.1"}}, function(conn)
      repeat local line = conn:receive() until line == "" or line == nil
      conn:send("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello, curl\n")
    end)
    local job = ns.spawn_cmd(("curl -4 -sS --cacert %s https://localhost:%d/"):format(certs.ca_cert, port))
    local status, out = ns.wait_cmd(job, 15)
    ns.kill_cmd(job)
    assert.equal(0, status, out)
    assert.equal("hello, curl\n", out)
    stop()
  end)
end)
