--- Support for the network specs: connected pairs, open-fd counting, certificates made
-- with the openssl CLI, and shell commands run in the background (so a
-- server in this process can answer them) and polled from green threads.
local eventlet = require "eventlet"

local _M = {}

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local id = f:read("*n")
  f:close()
  return id
end
local PID = pid()

local LISTING = os.tmpname()

--- What this process has open: a count and a listing (fd -> target).
-- The listing is written to a file by os.execute, which (unlike popen)
-- opens nothing in this process while it runs.
--- A connected TCP pair over 127.0.0.1: client, server side, listener.
function _M.pair()
  local l = assert(eventlet.listen("127.0.0.1:0"))
  local _, port = l:getsockname()
  local c = assert(eventlet.connect("127.0.0.1:" .. port))
  local s = assert(l:accept())
  return c, s, l
end

function _M.fd_count()
  os.execute("ls -l /proc/" .. PID .. "/fd | awk 'NR>1{print $9, $11}' > " .. LISTING)
  local f = assert(io.open(LISTING))
  local raw = f:read("a")
  f:close()
  local lines = {}
  for line in raw:gmatch("[^\n]+") do
    if not line:find(LISTING, 1, true) then lines[#lines + 1] = line end
  end
  return #lines, table.concat(lines, "\n")
end

--- Two functions for before_each/after_each: the second fails a test
-- that leaves more fds open than it found (after a full collection),
-- listing both sets.
function _M.fd_guard()
  local before, list_before
  return function() before, list_before = _M.fd_count() end, function()
    collectgarbage()
    local n, list = _M.fd_count()
    assert(before == n, ("fds leaked: %d before, %d after\n%s\n-- now --\n%s")
      :format(before, n, list_before, list))
  end
end

--- Run a shell command, failing loudly.
local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  assert(ok, "command failed: " .. cmd)
end

local certs
--- Certificates under a temp dir (made once): a CA, a server cert for
-- localhost/127.0.0.1/::1 signed by it, a client cert signed by it, and a
-- self-signed cert for localhost.
function _M.certs()
  if certs then return certs end
  local dir = os.tmpname()
  os.remove(dir)
  sh("mkdir -p " .. dir)
  local c = {dir = dir}
  for _, n in ipairs{"ca", "server", "client", "self", "other"} do
    c[n .. "_cert"] = dir .. "/" .. n .. ".pem"
    c[n .. "_key"] = dir .. "/" .. n .. ".key"
  end
  local o = "openssl req -newkey rsa:2048 -nodes -sha256 -days 2 "
  sh(o .. "-x509 -subj /CN=eventlet-test-ca -keyout " .. c.ca_key .. " -out " .. c.ca_cert ..
     " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign")
  local ext = dir .. "/san.ext"
  local f = assert(io.open(ext, "w"))
  f:write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
  f:close()
  for _, n in ipairs{"server", "client"} do
    sh(o .. "-subj /CN=" .. (n == "server" and "localhost" or "client") .. " -keyout " ..
       c[n .. "_key"] .. " -out " .. dir .. "/" .. n .. ".csr")
    sh("openssl x509 -req -sha256 -days 2 -in " .. dir .. "/" .. n .. ".csr -CA " .. c.ca_cert ..
       " -CAkey " .. c.ca_key .. " -CAcreateserial -extfile " .. ext .. " -out " .. c[n .. "_cert"])
  end
  sh(o .. "-x509 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " ..
     c.self_key .. " -out " .. c.self_cert)
  sh(o .. "-x509 -subj /CN=other.example -addext subjectAltName=DNS:other.example -keyout " ..
     c.other_key .. " -out " .. c.other_cert)
  certs = c
  return c
end

--- Read a whole file (nil if missing).
function _M.slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Start a shell command in the background; its stdout goes to
-- job.out, its exit status to job.done when it ends.
function _M.spawn_cmd(cmd)
  local base = os.tmpname()
  local job = {out = base .. ".out", done = base .. ".done", pidfile = base .. ".pid", base = base}
  os.execute(("(unset LD_PRELOAD; %s > %s 2>&1; echo $? > %s) </dev/null >/dev/null 2>&1 & echo $! > %s")
    :format(cmd, job.out, job.done, job.pidfile))
  return job
end

--- Wait (green) for a background command to end: exit status, output.
function _M.wait_cmd(job, timeout)
  local deadline = eventlet.now() + (timeout or 20)
  while eventlet.now() < deadline do
    local done = _M.slurp(job.done)
    if done and done:match("%d") then
      return tonumber(done:match("%d+")), _M.slurp(job.out)
    end
    eventlet.sleep(0.02)
  end
  return nil, _M.slurp(job.out)
end

--- Stop a background command (its shell and children) and clean up.
function _M.kill_cmd(job)
  local p = _M.slurp(job.pidfile)
  local child = p and p:match("%d+")
  if child then
    os.execute(("unset LD_PRELOAD; pkill -P %s 2>/dev/null; kill %s 2>/dev/null"):format(child, child))
  end
  for _, f in ipairs{job.out, job.done, job.pidfile, job.base} do os.remove(f) end
end

--- Wait (green) until something listens on 127.0.0.1:port.
function _M.wait_port(port, timeout)
  local deadline = eventlet.now() + (timeout or 10)
  while eventlet.now() < deadline do
    local s = eventlet.connect("127.0.0.1:" .. port)
    if s then s:close() return true end
    eventlet.sleep(0.05)
  end
  return false
end

--- A free TCP port on 127.0.0.1 (bound and released).
function _M.free_port()
  local l = assert(eventlet.listen("127.0.0.1:0"))
  local _, port = l:getsockname()
  l:close()
  return port
end

return _M
