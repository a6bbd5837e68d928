-- eventlet.httpc against servers written in the spec with eventlet, so
-- every byte and every accepted connection is under the spec's control:
-- keep-alive reuse and pool limits (counted connections), the retry of a
-- dead pooled connection, chunked both ways, malformed and truncated
-- answers, each kind of timeout, and proxies (plain and CONNECT).
local eventlet = require "eventlet"
local httpc = require "eventlet.httpc"
local support = require "httpc_support"

describe("httpc connections", function()
  it("reuses a keep-alive connection and counts one accept", function()
    local srv <close> = support.http_server()
    local client <close> = httpc.client()
    for i = 1, 5 do
      local resp = assert(client:get(srv.url("/n" .. i)))
      assert.equal("GET /n" .. i .. " ", resp.body)
    end
    assert.equal(1, srv.accepted)
  end)

  it("opens no more than pool_size connections per origin", function()
    local srv <close> = support.http_server(function(req)
      eventlet.sleep(0.05)
      return 200, nil, req.target
    end)
    local client <close> = httpc.client({pool_size = 2})
    local threads = {}
    for i = 1, 6 do
      threads[i] = eventlet.spawn(function() return assert(client:get(srv.url("/" .. i))).body end)
    end
    for i = 1, 6 do assert.equal("/" .. i, threads[i]:wait()) end
    assert.equal(2, srv.accepted)
    assert.equal(2, srv.max_active)
    local idle, live = client.pool:count("http://127.0.0.1:" .. srv.port)
    assert.same({2, 2}, {idle, live})
  end)

  it("notices a pooled connection the server closed while it was idle", function()
    -- answers one request per connection, announcing keep-alive, then closes
    local srv <close> = support.server(function(conn)
      local req = support.read_request(conn)
      support.respond(conn, 200, nil, req.method .. " " .. req.target)
    end)
    local client <close> = httpc.client()
    assert.equal("GET /1", assert(client:get(srv.url("/1"))).body)
    eventlet.sleep(0.05)
    -- a POST is never retried, so it must not be sent on the dead connection
    assert.equal("POST /2", assert(client:post(srv.url("/2"), {body = "x"})).body)
    assert.equal(2, srv.accepted)
  end)

  it("retries an idempotent request once when a pooled connection dies under it", function()
    -- answers the first request of each connection; at the second it reads
    -- the request and hangs up without a word (the keep-alive race)
    local srv <close> = support.server(function(conn)
      local req = support.read_request(conn)
      support.respond(conn, 200, nil, req.method .. " " .. req.target)
      support.read_request(conn)
    end)
    local client <close> = httpc.client()
    assert.equal("GET /1", assert(client:get(srv.url("/1"))).body)
    assert.equal("GET /2", assert(client:get(srv.url("/2"))).body)
    assert.equal(2, srv.accepted)
    assert.equal("PUT /3", assert(client:put(srv.url("/3"), {body = "x"})).body)
    assert.equal(3, srv.accepted)
    -- POST is not idempotent: the failure is reported, not retried
    assert.same({nil, "closed"}, {client:post(srv.url("/4"), {body = "x"})})
    assert.equal(3, srv.accepted)
  end)

  it("keeps credentials on same-origin redirects and drops them across origins", function()
    local other <close> = support.http_server(function(req)
      return 200, nil, "other got " .. tostring(req.headers.authorization) .. " "
        .. tostring(req.headers.cookie) .. " " .. tostring(req.headers["x-kept"])
    end)
    local srv <close> = support.http_server(function(req)
      if req.target == "/away" then return 302, {Location = other.url("/landed")}, "" end
      if req.target == "/here" then return 307, {Location = "/landed"}, "" end
      return 200, nil, "same got " .. tostring(req.headers.authorization)
    end)
    local client <close> = httpc.client({headers = {Cookie = "c=1"}})
    local h = {Authorization = "Bearer secret", ["X-Kept"] = "yes"}
    assert.equal("same got Bearer secret", assert(client:get(srv.url("/here"), {headers = h})).body)
    assert.equal("other got nil nil yes", assert(client:get(srv.url("/away"), {headers = h})).body)
    -- the client's default headers are stripped the same way
    assert.equal("other got nil nil nil", assert(client:get(srv.url("/away"))).body)
  end)

  it("sends chunked uploads and reads chunked answers", function()
    local srv <close> = support.server(function(conn)
      while true do
        local req = support.read_request(conn)
        if not req then return end
        local body = (req.chunked and "chunked:" or "fixed:") .. req.body
        conn:send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i = 1, #body, 7 do
          local piece = body:sub(i, i + 6)
          conn:send(("%x;ext=1\r\n%s\r\n"):format(#piece, piece))
          eventlet.sleep(0)
        end
        conn:send("0\r\nX-Trailer: t\r\n\r\n")
      end
    end)
    local client <close> = httpc.client()
    local parts = {"alpha ", "", "beta ", "gamma"}
    local i = 0
    local resp = assert(client:post(srv.url("/"), {body = function() i = i + 1 return parts[i] end}))
    assert.equal("chunked:alpha beta gamma", resp.body)
    assert.equal("fixed:plain", assert(client:post(srv.url("/"), {body = "plain"})).body)
    assert.equal(1, srv.accepted)
  end)

  it("reads a body delimited by the server closing, and does not pool it", function()
    local srv <close> = support.server(function(conn)
      support.read_request(conn)
      conn:send("HTTP/1.1 200 OK\r\n\r\nuntil the end")
    end)
    local client <close> = httpc.client()
    assert.equal("until the end", assert(client:get(srv.url())).body)
    assert.equal("until the end", assert(client:get(srv.url())).body)
    assert.equal(2, srv.accepted)
  end)

  -- A server that answers every request with the raw bytes given (and
  -- hangs up after the first when `hang_up`).
  local function raw(answer, hang_up)
    return support.server(function(conn)
      while support.read_request(conn) do
        conn:send(answer)
        if hang_up then return end
      end
    end)
  end

  it("rejects malformed status lines, headers and framing", function()
    local client <close> = httpc.client()
    for _, answer in ipairs({
      "HTTP/1.1 OK\r\n\r\n",
      "SMTP ready\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
      "HTTP/1.1 200 OK\nbare: linefeeds\n\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    }) do
      local srv <close> = raw(answer)
      local ok, err = client:get(srv.url())
      assert.is_nil(ok)
      assert.matches("^malformed response: ", err)
    end
  end)

  it("skips 100 Continue, caps bodies, and reports a cut gzip stream", function()
    local client <close> = httpc.client()
    local srv <close> = raw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert.equal("ok", assert(client:get(srv.url())).body)
    local big <close> = raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" .. ("b"):rep(100))
    assert.same({nil, "body too large"}, {client:get(big.url(), {max_body = 50})})
    assert.equal(100, #assert(client:get(big.url(), {max_body = 100})).body)
    local gz = support.sh("printf '%0500d' 0 | gzip -c")
    gz = gz:sub(1, #gz - 12)
    local cut <close> = raw("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " .. #gz
                           .. "\r\n\r\n" .. gz)
    assert.same({nil, "truncated gzip body"}, {client:get(cut.url(), {gzip = true})})
    assert.equal(#gz, #assert(client:get(cut.url())).body)
  end)

  it("ends a head that stops midway with a clear error", function()
    local srv <close> = raw("HTTP/1.1 200 OK\r\nContent-", true)
    local client <close> = httpc.client()
    assert.same({nil, "malformed response: truncated head"}, {client:get(srv.url())})
  end)

  it("keeps HTTP/1.0 connections only when the server says keep-alive", function()
    local keep = false
    local srv <close> = support.server(function(conn)
      while support.read_request(conn) do
        conn:send("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n"
                  .. (keep and "Connection: keep-alive\r\n" or "") .. "\r\nok")
        if not keep then return end
      end
    end)
    local client <close> = httpc.client()
    assert.equal("ok", assert(client:get(srv.url())).body)
    assert.equal("ok", assert(client:get(srv.url())).body)
    assert.equal(2, srv.accepted)
    keep = true
    assert.equal("ok", assert(client:get(srv.url())).body)
    assert.equal("ok", assert(client:get(srv.url())).body)
    assert.equal(3, srv.accepted)
  end)

  it("answers HEAD without a body and keeps the connection", function()
    local srv <close> = support.server(function(conn)
      while true do
        local req = support.read_request(conn)
        if not req then return end
        if req.method == "HEAD" then   -- the length of the body a GET would get
          conn:send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nSet-Cookie: a=1, b\r\n"
                    .. "Set-Cookie: c=2\r\n\r\n")
        else
          support.respond(conn, 200, nil, "body of " .. req.target)
        end
      end
    end)
    local client <close> = httpc.client()
    local resp = assert(client:head(srv.url("/h")))
    assert.same({200, "", {"a=1, b", "c=2"}}, {resp.status, resp.body, resp.headers["Set-Cookie"]})
    assert.equal("body of /g", assert(client:get(srv.url("/g"))).body)
    assert.equal(1, srv.accepted)
  end)

  it("reports a truncated body and never reuses that connection", function()
    local srv <close> = raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", true)
    local client <close> = httpc.client()
    assert.same({nil, "truncated body"}, {client:get(srv.url())})
    assert.same({nil, "truncated body"}, {client:get(srv.url())})
    assert.equal(2, srv.accepted)
    assert.same({0, 0}, {client.pool:count("http://127.0.0.1:" .. srv.port)})
  end)

  it("limits the size of a response head", function()
    local big <close> = raw("HTTP/1.1 200 OK\r\nX-Big: " .. ("b"):rep(70000) .. "\r\n\r\n")
    local client <close> = httpc.client()
    assert.same({nil, "response head too large"}, {client:get(big.url())})
    local many = {}
    for i = 1, 200 do many[i] = "X-" .. i .. ": v\r\n" end
    local srv <close> = raw("HTTP/1.1 200 OK\r\n" .. table.concat(many) .. "\r\n")
    assert.same({nil, "response head too large"}, {client:get(srv.url())})
  end)

  it("times out reading from a server that never answers", function()
    local srv <close> = support.server(function(conn)
      support.read_request(conn)
      eventlet.sleep(10)
    end)
    local client <close> = httpc.client({timeout = {read = 0.2}})
    assert.same({nil, "timeout"}, {client:get(srv.url())})
  end)

  it("times out when a server stalls mid-body", function()
    local srv <close> = support.server(function(conn)
      support.read_request(conn)
      conn:send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
      eventlet.sleep(10)
    end)
    local client <close> = httpc.client({timeout = {read = 0.2}})
    assert.same({nil, "timeout"}, {client:get(srv.url())})
  end)

  it("times out sending to a server that never reads", function()
    local srv <close> = support.server(function() eventlet.sleep(10) end)
    local client <close> = httpc.client({timeout = {send = 0.2}})
    assert.same({nil, "timeout"}, {client:post(srv.url(), {body = ("x"):rep(64 * 1024 * 1024)})})
  end)

  it("times out connecting to a listener whose backlog is full", function()
    local l = assert(eventlet.listen("127.0.0.1:0", {backlog = 0}))
    local _, port = l:getsockname()
    local fillers = {}
    for i = 1, 8 do
      fillers[i] = eventlet.connect("127.0.0.1:" .. port, {timeout = 0.2})
    end
    local client <close> = httpc.client({timeout = {connect = 0.3}})
    assert.same({nil, "timeout"}, {client:get("http://127.0.0.1:" .. port .. "/")})
    for _, s in pairs(fillers) do s:close() end
    l:close()
  end)

  it("enforces a total deadline over a trickling answer", function()
    local srv <close> = support.server(function(conn)
      support.read_request(conn)
      conn:send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
      for _ = 1, 100 do
        conn:send("x")
        eventlet.sleep(0.05)
      end
    end)
    local client <close> = httpc.client({timeout = {read = 1, total = 0.3}})
    assert.same({nil, "timeout"}, {client:get(srv.url())})
    assert.same({0, 0}, {client.pool:count("http://127.0.0.1:" .. srv.port)})
  end)

  it("goes through an HTTP proxy, with credentials", function()
    local srv <close> = support.http_server()
    local proxy <close> = support.proxy()
    local client <close> = httpc.client({proxy = "http://user:secret@127.0.0.1:" .. proxy.port})
    local resp = assert(client:get(srv.url("/via?x=1")))
    assert.equal("GET /via?x=1 ", resp.body)
    assert.same({"GET " .. srv.url("/via?x=1")}, proxy.seen)
    assert.equal("Basic dXNlcjpzZWNyZXQ=", proxy.auth)
    assert.equal("GET /direct ", assert(client:get(srv.url("/direct"), {proxy = false})).body)
    assert.equal(1, #proxy.seen)
  end)

  it("tunnels https through CONNECT and verifies the origin's certificate", function()
    local nginx <close> = support.nginx('location /echo { return 200 "$request_method $request_uri"; }')
    local proxy <close> = support.proxy()
    local client <close> = httpc.client({proxy = {https = "127.0.0.1:" .. proxy.port},
                           tls = {cafile = nginx.certs.ca}})
    local resp = assert(client:get(nginx.tls_url("/echo?t=1")))
    assert.equal("GET /echo?t=1", resp.body)
    assert.same({"CONNECT localhost:" .. nginx.tls_port}, proxy.seen)
    local ok, err = client:get(nginx.tls_url("/echo", "127.0.0.1"))
    assert.is_nil(ok)
    assert.matches("certificate", err)
  end)
end)
