--- Servers for the httpc specs, all on loopback: nginx (Debian's) with a
-- config written to a temp dir, certificates made with the openssl CLI,
-- and small servers written with eventlet itself whose every byte the
-- spec controls (connection counting, stalls, malformed answers, proxy).
local eventlet = require "eventlet"
local net_support = require "net_support"

local _M = {}

-- Run a shell command; raise with its output when it fails.
local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local ok = p:close()
  if not ok then error("command failed: " .. cmd .. "\n" .. out, 2) end
  return out
end
_M.sh = sh

--- A fresh temporary directory.
function _M.tmpdir()
  return (sh("mktemp -d /tmp/httpc-spec.XXXXXX"):gsub("%s+$", ""))
end

--- Write s to path.
function _M.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

--- Remove a directory tree.
function _M.rmtree(dir)
  if dir and dir:match("^/tmp/httpc%-spec") then sh("rm -rf " .. dir) end
end

--- A free TCP port on 127.0.0.1 (the network specs' helper).
_M.free_port = net_support.free_port

--- A CA, a server certificate for DNS:localhost only (so 127.0.0.1 is a
-- name mismatch; net_support's covers both) signed by it, and a client
-- certificate, in dir: ca.pem, server.pem/key, client.pem/key.
function _M.certs(dir)
  local q = "cd " .. dir .. " && "
  sh(q .. "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=spec-ca"
     .. " -keyout ca.key -out ca.pem")
  for _, name in ipairs({"server", "client"}) do
    sh(q .. "openssl req -newkey rsa:2048 -nodes -subj /CN=" .. name
       .. " -keyout " .. name .. ".key -out " .. name .. ".csr")
    _M.write(dir .. "/" .. name .. ".ext", name == "server"
      and "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"
      or "extendedKeyUsage=clientAuth\n")
    sh(q .. "openssl x509 -req -in " .. name .. ".csr -CA ca.pem -CAkey ca.key"
       .. " -CAcreateserial -days 2 -extfile " .. name .. ".ext -out " .. name .. ".pem")
  end
  return {ca = dir .. "/ca.pem", cert = dir .. "/server.pem", key = dir .. "/server.key",
          client_cert = dir .. "/client.pem", client_key = dir .. "/client.key"}
end

-- Wait until nginx accepts on 127.0.0.1:port; raise with its log if not.
local function wait_listening(port, dir)
  if net_support.wait_port(port, 5) then return true end
  local f = io.open(dir .. "/error.log")
  error("nginx did not start on port " .. port .. ": " .. (f and f:read("a") or ""))
end

-- Objects the specs hold in to-be-closed variables.
local closing = {__close = function(self) self.close() end}

--- Start nginx with `locations` (server-block directives) on a plain and a
-- TLS port; it daemonizes (no child watcher stays armed between tests).
-- @return {port, tls_port, dir, certs, url(path), tls_url(path[, host]),
--   close()}
function _M.nginx(locations)
  local dir = _M.tmpdir()
  local certs = _M.certs(dir)
  local port, tls_port = _M.free_port(), _M.free_port()
  sh("mkdir -p " .. dir .. "/www " .. dir .. "/tmp")
  local conf = ([[
daemon on;
master_process off;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path DIR/tmp/body;
  proxy_temp_path DIR/tmp/proxy;
  fastcgi_temp_path DIR/tmp/fcgi;
  uwsgi_temp_path DIR/tmp/uwsgi;
  scgi_temp_path DIR/tmp/scgi;
  default_type text/plain;
  keepalive_requests 1000;
  server {
    listen 127.0.0.1:PORT;
    listen 127.0.0.1:TLSPORT ssl;
    ssl_certificate DIR/server.pem;
    ssl_certificate_key DIR/server.key;
    ssl_client_certificate DIR/ca.pem;
    ssl_verify_client optional;
    root DIR/www;
    LOCATIONS
  }
}
]]):gsub("LOCATIONS", function() return locations end):gsub("TLSPORT", tls_port)
    :gsub("PORT", port):gsub("DIR", dir)
  _M.write(dir .. "/nginx.conf", conf)
  sh("nginx -p " .. dir .. " -c " .. dir .. "/nginx.conf -e " .. dir .. "/error.log")
  wait_listening(port, dir)
  local n = setmetatable({port = port, tls_port = tls_port, dir = dir, certs = certs}, closing)
  function n.url(path) return "http://127.0.0.1:" .. port .. path end
  function n.tls_url(path, host) return "https://" .. (host or "localhost") .. ":" .. tls_port .. path end
  function n.close()
    os.execute("kill -TERM $(cat " .. dir .. "/nginx.pid) 2>/dev/null")
    for _ = 1, 100 do
      local pidfile = io.open(dir .. "/nginx.pid")
      if not pidfile then break end
      pidfile:close()  -- never leave an fd for a later fd-count check
      eventlet.sleep(0.02)
    end
    _M.rmtree(dir)
  end
  return n
end

--- A server of our own on 127.0.0.1: handler(conn, srv) runs in a green
-- thread per accepted connection.  srv.accepted counts connections;
-- srv.active / srv.max_active track concurrency; srv:close() stops
-- everything.  opts.backlog for listen.
function _M.server(handler, opts)
  local l = assert(eventlet.listen("127.0.0.1:0", opts))
  local _, port = l:getsockname()
  local srv = setmetatable({port = port, accepted = 0, active = 0, max_active = 0,
                            conns = {}, threads = {}}, closing)
  function srv.url(path) return "http://127.0.0.1:" .. port .. (path or "/") end
  srv.loop = eventlet.spawn(function()
    while true do
      local conn = l:accept()
      if not conn then return end
      srv.accepted = srv.accepted + 1
      srv.conns[#srv.conns + 1] = conn
      srv.threads[#srv.threads + 1] = eventlet.spawn(function()
        srv.active = srv.active + 1
        if srv.active > srv.max_active then srv.max_active = srv.active end
        pcall(handler, conn, srv)
        srv.active = srv.active - 1
        conn:close()
      end)
    end
  end)
  srv.listener = l
  function srv.close()
    l:close()
    srv.loop:kill()
    for _, c in ipairs(srv.conns) do c:close() end
    for _, t in ipairs(srv.threads) do t:kill() end
    eventlet.sleep(0)
  end
  return srv
end

--- Read one request off conn: {method, target, version, headers (lower
-- case names), body}, or nil at end of stream.  Chunked bodies decoded.
function _M.read_request(conn)
  local line = conn:receive("*l")
  if not line or line == "" then return nil end
  local method, target, version = line:match("^(%S+) (%S+) HTTP/(%d%.%d)$")
  local req = {method = method, target = target, version = version, headers = {}}
  while true do
    local h = assert(conn:receive("*l"))
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    req.headers[name:lower()] = value
  end
  if req.headers["content-length"] then
    req.body = assert(conn:receive(tonumber(req.headers["content-length"])))
  elseif req.headers["transfer-encoding"] == "chunked" then
    local parts = {}
    while true do
      local size = tonumber(assert(conn:receive("*l")), 16)
      if size == 0 then assert(conn:receive("*l")) break end
      parts[#parts + 1] = assert(conn:receive(size))
      assert(conn:receive("*l"))
    end
    req.body = table.concat(parts)
    req.chunked = true
  end
  return req
end

--- Write a response with Content-Length (headers: name -> value).
function _M.respond(conn, status, headers, body)
  body = body or ""
  local lines = {"HTTP/1.1 " .. status .. " X\r\n"}
  for name, value in pairs(headers or {}) do lines[#lines + 1] = name .. ": " .. value .. "\r\n" end
  lines[#lines + 1] = "Content-Length: " .. #body .. "\r\n\r\n"
  lines[#lines + 1] = body
  return conn:send(table.concat(lines))
end

--- A keep-alive server answering each request with answer(req, srv) ->
-- status, headers, body (default: 200 and a description of the request).
function _M.http_server(answer)
  return _M.server(function(conn, srv)
    while true do
      local req = _M.read_request(conn)
      if not req then return end
      local status, headers, body
      if answer then
        status, headers, body = answer(req, srv, conn)
        if status == nil then return end
      else
        status, body = 200, req.method .. " " .. req.target .. " " .. (req.body or "")
      end
      _M.respond(conn, status, headers, body)
    end
  end)
end

-- Copy bytes from one socket to the other until either side closes.
local function pipe(from, to)
  while true do
    local data = from:recv(65536)
    if not data or not to:send(data) then break end
  end
  from:close()
  to:close()
end

--- An HTTP proxy written with eventlet: absolute-URI requests are
-- forwarded (one per connection, Connection: close), CONNECT opens a
-- tunnel.  proxy.seen lists "METHOD target" lines; proxy.auth the last
-- Proxy-Authorization.
function _M.proxy()
  local seen = {}
  local srv
  srv = _M.server(function(conn)
    local req = _M.read_request(conn)
    if not req then return end
    seen[#seen + 1] = req.method .. " " .. req.target
    srv.auth = req.headers["proxy-authorization"]
    if req.method == "CONNECT" then
      local up = eventlet.connect(req.target, {timeout = 5})
      if not up then conn:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n") return end
      conn:send("HTTP/1.1 200 Connection established\r\n\r\n")
      local t = eventlet.spawn(pipe, up, conn)
      pipe(conn, up)
      t:wait()
      return
    end
    local host, port, path = req.target:match("^http://([^:/]+):?(%d*)(.*)$")
    local up = assert(eventlet.connect(host .. ":" .. (port ~= "" and port or 80), {timeout = 5}))
    local out = {req.method .. " " .. (path ~= "" and path or "/") .. " HTTP/1.1\r\nHost: x\r\n"}
    for name, value in pairs(req.headers) do
      if not ({["proxy-authorization"] = 1, connection = 1, ["content-length"] = 1,
               ["transfer-encoding"] = 1})[name] then
        out[#out + 1] = name .. ": " .. value .. "\r\n"
      end
    end
    out[#out + 1] = "connection: close\r\ncontent-length: " .. #(req.body or "") .. "\r\n\r\n"
    out[#out + 1] = req.body or ""
    up:send(table.concat(out))
    pipe(up, conn)
  end)
  srv.seen = seen
  return srv
end

return _M
