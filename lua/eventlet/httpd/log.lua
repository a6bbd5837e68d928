--- eventlet.httpd.log: the access log in the combined format and the
-- server's own messages (startup, errors).
--
--   127.0.0.1 - - [22/Nov/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 14 "-" "curl/8.5.0" 0.000113
--
-- The combined format plus eventlet's wall-clock seconds at the end.
-- With log_x_forwarded_for (the default, as in eventlet) the client is
-- "X-Forwarded-For without spaces,peer".  `log` may be false (silent), a
-- file (anything with :write) or a function(line, req, res).
local core = require "eventlet.core"

local os_date = os.date
local floor = math.floor
local format = string.format
local type = type
local tostring = tostring
local io_stderr = io.stderr

local _M = {}

local stamp_at, stamp = -1, nil

--- The log's time stamp for now, formatted once per second.
local function timestamp()
  local now = floor(core.time())
  if now ~= stamp_at then
    stamp_at = now
    stamp = os_date("!%d/%b/%Y:%H:%M:%S +0000", now)
  end
  return stamp
end

--- Quote a header value for the log ("-" when absent).
local function quoted(v)
  if v == nil then return "\"-\"" end
  return "\"" .. v:gsub("[\"\\%c]", function(c) return format("\\x%02x", c:byte()) end) .. "\""
end

--- The client column: the peer, behind X-Forwarded-For when asked.
local function client(server, req)
  local peer = req.remote_addr or "-"
  if server.log_x_forwarded_for then
    local xff = req.headers["x-forwarded-for"]
    if xff then return (xff:gsub("%s", "")) .. "," .. peer end
  end
  return peer
end

--- One access-log line for req answered by res.
function _M.line(server, req, res, started)
  local line = req.method and req:request_line() or "-"
  return format("%s - - [%s] %s %s %d %s %s %.6f", client(server, req), timestamp(),
                quoted(line), tostring(res.status):match("^%d+") or "-", res.bytes or 0,
                quoted(req.headers and req.headers.referer),
                quoted(req.headers and req.headers["user-agent"]), core.time() - started)
end

--- Write a line to the server's log destination, if any.
function _M.write(server, line, req, res)
  local log = server.log
  if not log then return end
  if type(log) == "function" then
    log(line, req, res)
  else
    log:write(line, "\n")
  end
end

--- Log a request (access log).
function _M.access(server, req, res, started)
  if not server.log then return end
  _M.write(server, _M.line(server, req, res, started), req, res)
end

--- The default destination: stderr.
_M.default = io_stderr

return _M
