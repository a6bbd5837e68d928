--- eventlet.httpd.request: what a handler's `req` can do.
-- The fields come from C (eventlet.core.http_read_head): method, path,
-- raw_path, query, version, headers, headers_raw, keep_alive,
-- content_length, chunked, upgrade.  remote_addr, remote_port, scheme
-- and the private connection record `_conn` come from the metatable the
-- server gives a connection's requests (chained to this module's).
-- Bodies are streamed: read(n), read(), read_body(), lines() never read
-- past the end of this request's body, whatever the client pipelined.
local core = require "eventlet.core"
local Response = require "eventlet.httpd.response"

local http_read_body = core.http_read_body
local type = type
local concat = table.concat
local str_find = string.find
local str_sub = string.sub
local str_gsub = string.gsub
local str_char = string.char
local tonumber = tonumber
local ipairs = ipairs
local tostring = tostring

local Request = {_pending = ""}   -- decoded body bytes not yet returned
Request.__index = Request

--- Whether the body has been read to its end (or there is none).
local function done(req)
  return req._done or not req.has_body
end

local CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n"

--- Decode the next piece of the body into the request, sending the
-- interim 100 Continue first when the client waits for it.
-- @return the piece (maybe ""), or nil, err
local function fill(req)
  local conn = req._conn
  local sock = conn.sock
  if conn.continue_pending then
    conn.continue_pending = false
    local ok, err = sock:send(CONTINUE)
    if not ok then conn.closing = true return nil, err end
  end
  sock:settimeout(conn.server.body_timeout)
  local data, ended, reason = http_read_body(conn.parser, sock)
  sock:settimeout(conn.server.write_timeout)
  if data == nil then
    conn.closing = true
    if type(ended) == "number" then
      req.body_error = {status = ended, reason = reason}
      return nil, reason
    end
    -- the client stopped sending: what a failing handler answers with
    req.body_error = ended == "timeout" and {status = 408, reason = "request body not received in time"}
                     or {status = 400, reason = "request body incomplete (" .. tostring(ended) .. ")"}
    return nil, ended
  end
  if ended then req._done = true end
  return data
end

--- read([n]) -> up to n bytes of the body (fewer only at its end), or
-- without n the next piece as it arrives; nil at the end of the body;
-- nil, err when the client failed ("closed", "timeout", a framing error).
function Request:read(n)
  local buf = self._pending
  if n == nil then
    if buf ~= "" then self._pending = "" return buf end
    while not done(self) do
      local piece, err = fill(self)
      if not piece then return nil, err end
      if piece ~= "" then return piece end
    end
    return nil
  end
  while #buf < n and not done(self) do
    local piece, err = fill(self)
    if not piece then return nil, err end
    buf = buf .. piece
  end
  if buf == "" then self._pending = "" return nil end
  self._pending = str_sub(buf, n + 1)
  return str_sub(buf, 1, n)
end

--- read_body() -> the whole body ("" when there is none), kept in
-- req.body for later calls; nil, err when the client failed.
function Request:read_body()
  if self.body then return self.body end
  local parts, n = {self._pending}, 1
  self._pending = ""
  while not done(self) do
    local piece, err = fill(self)
    if not piece then return nil, err end
    n = n + 1
    parts[n] = piece
  end
  self.body = concat(parts)
  return self.body
end

--- lines() -> iterator over the body's lines (without "\n" or "\r\n").
function Request:lines()
  return function()
    while true do
      local buf = self._pending
      local nl = str_find(buf, "\n", 1, true)
      if nl then
        self._pending = str_sub(buf, nl + 1)
        return (str_gsub(str_sub(buf, 1, nl - 1), "\r$", ""))
      end
      if done(self) then
        self._pending = ""
        if buf == "" then return nil end
        return buf
      end
      local piece = fill(self)
      if not piece then return nil end
      self._pending = buf .. piece
    end
  end
end

--- discard() -> true once the rest of the body has been read and
-- dropped, or nil, err (the connection cannot be reused then).
function Request:discard()
  while not done(self) do
    local piece, err = fill(self)
    if not piece then return nil, err end
  end
  self._pending = ""
  return true
end

--- Percent-decode a query component ("+" is a space).
local function unescape(s)
  s = str_gsub(s, "+", " ")
  return (str_gsub(s, "%%(%x%x)", function(h) return str_char(tonumber(h, 16)) end))
end

--- query_pairs() -> list of {name, value} from the query string, decoded,
-- in order (a name without "=" has value "").
function Request:query_pairs()
  local pairs_ = {}
  local q = self.query
  if not q or q == "" then return pairs_ end
  for item in (q .. "&"):gmatch("([^&]*)&") do
    if item ~= "" then
      local name, value = item:match("^([^=]*)=?(.*)$")
      pairs_[#pairs_ + 1] = {unescape(name), unescape(value)}
    end
  end
  return pairs_
end

--- args() -> table name -> value (the first when repeated) of the query.
function Request:args()
  if self._args then return self._args end
  local args = {}
  for _, p in ipairs(self:query_pairs()) do
    if args[p[1]] == nil then args[p[1]] = p[2] end
  end
  self._args = args
  return args
end

--- get_header(name[, default]) -> the header value (case-insensitive).
function Request:get_header(name, default)
  local v = self.headers[name]
  if v == nil then return default end
  return v
end

--- on_finish(fn): run fn(req, res) after the response went out
-- (eventlet's posthooks).
function Request:on_finish(fn)
  local hooks = self.posthooks
  if not hooks then hooks = {} self.posthooks = hooks end
  hooks[#hooks + 1] = fn
end

--- request_line() -> "GET /path HTTP/1.1" as received.
function Request:request_line()
  return self.method .. " " .. self.raw_path .. " HTTP/" .. self.version
end

-- The 2007 httpd site protocol: a site's handle_request(req) answers
-- through the request itself.

--- The response object answering req: the connection's, while it is
-- this request's -- made at the first ask under a handler that takes no
-- res (conn.res holds the request until then) -- and a request kept past
-- its answer cannot answer again.
local function response_of(req)
  local conn = req._conn
  local res = conn.res   -- false while the connection dozes
  if res == req then return Response.begin(conn, req) end   -- a lean handler's first ask
  if not res or res._req ~= req then error("httpd: this request has been answered already", 3) end
  return res
end

--- response(status[, headers[, body]]): send the whole response.
function Request:response(status, headers, body)
  return response_of(self):send_result(status, headers, body)
end

--- write(body): send a 200 response with this body (one write).
function Request:write(body)
  local res = response_of(self)
  return res:send_result(res.status, nil, body)
end

--- set_header(name, value): an outgoing header for response()/write().
function Request:set_header(name, value)
  response_of(self):header(name, value)
end

--- not_found(): a plain 404.
function Request:not_found()
  return response_of(self):send_result(404, {["Content-Type"] = "text/plain"}, "Not Found\n")
end

--- error(status[, body]): a plain error response (default 500).
function Request:error(status, body)
  return response_of(self):send_result(status or 500, {["Content-Type"] = "text/plain"}, body or "")
end

return Request
