--- eventlet.httpd.log: the access log in the combined format and the
-- server's own messages (startup, errors).
--
--   127.0.0.1 - - [22/Nov/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 14 "-" "curl/8.5.0" 0.000113
--
-- The combined format plus eventlet's wall-clock seconds at the end.
-- With log_x_forwarded_for (the default, as in eventlet) the client is
-- "X-Forwarded-For without spaces,peer".  Control bytes, '"' and '\' a
-- client sent are written as \xNN.  `log` may be false (silent), a
-- file (anything with :write) or a function(line, req, res).
local core = require "eventlet.core"

local access_line = core.http_access_line
local log_to_file = core.http_log_to_file
local type = type
local io_stderr = io.stderr

local _M = {}

--- One access-log line for req answered by res (made in C:
-- src/http_log.c), started: core.now() when the request began.
function _M.line(server, req, res, started)
  return access_line(req, res.status, res.bytes, started, server.log_x_forwarded_for)
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

--- Log a request (access log): to a Lua file in one write from C, else
-- through _M.write.
function _M.access(server, req, res, started)
  local log = server.log
  if not log or log_to_file(log, req, res, started, server.log_x_forwarded_for) then return end
  _M.write(server, _M.line(server, req, res, started), req, res)
end

--- The default destination: stderr.
_M.default = io_stderr

return _M
