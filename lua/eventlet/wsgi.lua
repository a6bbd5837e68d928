--- eventlet.wsgi: modern eventlet's names over eventlet.httpd, so an
-- eventlet user finds what they know.
--
--   local wsgi = require "eventlet.wsgi"
--   wsgi.server(eventlet.listen("127.0.0.1:8090"), function(environ, start_response)
--     start_response("200 OK", {{"Content-Type", "text/plain"}})
--     return {"Hello from ", environ.PATH_INFO, "\n"}
--   end)
--
-- server() blocks like eventlet.wsgi.server (SIGTERM or a kill of its
-- thread stops it gracefully).  The app gets a WSGI-shaped environ and a
-- start_response(status, headers) and returns a list of strings, a string
-- or an iterator function.
local httpd = require "eventlet.httpd"
local httpdate = require "eventlet.httpdate"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local error = error
local concat = table.concat
local str_upper = string.upper
local str_gsub = string.gsub
local str_find = string.find
local setmetatable = setmetatable

local _M = {format_date_time = httpdate.format}

--- The wsgi.input object: reads the request body, never past its end.
local Input = {}
Input.__index = Input

--- read([n]) -> up to n bytes ("" at the end); all of the rest without n.
function Input:read(n)
  local req = self._req
  if n == nil or n < 0 then return req:read_body() or "" end
  return req:read(n) or ""
end

--- readline() -> the next line with its "\n" ("" at the end).
function Input:readline()
  local req, parts = self._req, {}
  while true do
    local c = req:read(1)
    if not c then break end
    parts[#parts + 1] = c
    if c == "\n" then break end
  end
  return concat(parts)
end

--- Iterate over the body's lines.
function Input:lines()
  return self._req:lines()
end

--- The CGI name of a header: HTTP_ACCEPT_ENCODING.
local function cgi_name(name)
  return "HTTP_" .. str_upper((str_gsub(name, "-", "_")))
end

--- The environ of a request (eventlet's keys).
local function make_environ(req, server, extra)
  local host, port = server:address()
  local env = {
    REQUEST_METHOD = req.method, SCRIPT_NAME = "", PATH_INFO = req.path,
    RAW_PATH_INFO = req.raw_path, SERVER_PROTOCOL = "HTTP/" .. req.version,
    SERVER_NAME = tostring(host), SERVER_PORT = tostring(port), REMOTE_ADDR = req.remote_addr,
    REMOTE_PORT = tostring(req.remote_port), GATEWAY_INTERFACE = "CGI/1.1",
    ["wsgi.version"] = {1, 0}, ["wsgi.url_scheme"] = req.scheme, ["wsgi.input"] = setmetatable({_req = req}, Input),
    ["wsgi.errors"] = io.stderr, ["wsgi.multithread"] = true, ["wsgi.multiprocess"] = false,
    ["wsgi.run_once"] = false, ["eventlet.posthooks"] = {}, headers_raw = req.headers_raw,
    ["eventlet.request"] = req,
  }
  if req.query then env.QUERY_STRING = req.query end
  if req.scheme == "https" then env.HTTPS = "on" end
  for name, value in pairs(req.headers) do
    if name == "content-type" then env.CONTENT_TYPE = value
    elseif name == "content-length" then env.CONTENT_LENGTH = value
    elseif not str_find(name, "_", 1, true) then env[cgi_name(name)] = value end  -- "_" names: spoofing
  end
  if extra then for k, v in pairs(extra) do env[k] = v end end
  return env
end

--- Turn a WSGI app into an httpd handler.
local function handler_for(app, extra, get_server)
  return function(req, res)
    local env = make_environ(req, get_server(), extra)
    local started = false
    local function start_response(status, headers, exc_info)
      if started and not exc_info then error("wsgi: start_response called twice", 2) end
      if exc_info and res.headers_sent then error(exc_info, 0) end
      started = true
      res.status = status
      res.headers = {}
      for _, pair in ipairs(headers or {}) do res.headers[#res.headers + 1] = pair end
      return function(data) res:write(data) end
    end
    local body = app(env, start_response)
    if not started then error("wsgi: the app did not call start_response", 0) end
    for _, hook in ipairs(env["eventlet.posthooks"]) do
      req:on_finish(function() hook[1](env, table.unpack(hook, 2)) end)
    end
    if type(body) == "string" then return res:finish(body) end
    if type(body) == "table" then
      if not res.headers_sent then return res:finish(concat(body)) end
      for _, piece in ipairs(body) do res:write(piece) end
      return res:finish()
    end
    if type(body) == "function" then
      for piece in body do res:write(piece) end
    end
    return res:finish()
  end
end

--- Server(sock, app[, opts]) -> an eventlet.httpd server for the app (not
-- yet serving: :serve(), :start(), :stop{grace}).  opts take eventlet's names --
-- log (false to silence, a file or function), log_output, environ (merged
-- into every environ), max_size (connections), keepalive (false: close
-- after each response; a number: the idle timeout), url_length_limit,
-- log_x_forwarded_for, debug, socket_timeout -- and any eventlet.httpd
-- option.
function _M.Server(sock, app, opts)
  opts = opts or {}
  local o, srv = {}, nil
  for k, v in pairs(opts) do o[k] = v end
  if opts.log_output == false then o.log = false end
  o.max_connections = opts.max_size or opts.max_connections or 1024
  if o.headers_raw == nil then o.headers_raw = true end  -- environ.headers_raw
  o.max_request_line = opts.url_length_limit or opts.max_request_line
  if opts.socket_timeout then
    o.body_timeout, o.write_timeout = opts.socket_timeout, opts.socket_timeout
    o.header_timeout = opts.socket_timeout
  end
  if type(opts.keepalive) == "number" then o.idle_timeout = opts.keepalive
  end
  local handler = handler_for(app, opts.environ, function() return srv end)
  local err
  srv, err = httpd.server(sock, handler, o)
  if not srv then error("wsgi.server: " .. tostring(err), 3) end
  return srv
end

--- server(sock, app[, opts]): serve the WSGI-style app on a listening
-- socket (or address) until stopped (eventlet.wsgi.server).
function _M.server(sock, app, opts)
  return _M.Server(sock, app, opts):serve()
end

_M.Input = Input

return _M
