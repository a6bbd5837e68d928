--- eventlet.httpd.response: the `res` a handler writes to, and the one
-- place that decides how a response is framed on the wire.
--
--   res.status = 201; res:header("Content-Type", "text/plain")
--   res:write("part 1")          -- chunked (HTTP/1.1) or close-delimited (1.0)
--   res:finish("the end")        -- or res:finish() / return status, headers, body
--
-- The head, the Date/Server/Content-Length/Connection headers and the
-- first body bytes go out in one writev (eventlet.core.http_send).
local core = require "eventlet.core"

local http_send = core.http_send
local http_send_chunk = core.http_send_chunk
local http_reply_flags = core.http_reply_flags
local http_reply = core.http_reply
local type = type
local tostring = tostring
local concat = table.concat
local setmetatable = setmetatable
local error = error
local pairs = pairs
local next = next
local select = select
local str_lower = string.lower

-- Flags of core.http_send (src/http_write.h).
local F_CLOSE, F_KEEPALIVE, F_CHUNKED, F_NOBODY, F_NOLENGTH = 0x01, 0x02, 0x04, 0x08, 0x10
local SEEN_LENGTH, SEEN_CLOSES = 0x08, 0x40

local Response = {}
Response.__index = Response

--- The key under which headers holds name, compared case-insensitively:
-- a name key, or the index of a {name, value} pair.
local function find_header(headers, name)
  if headers[name] ~= nil then return name end
  if next(headers) == nil then return nil end   -- (the common first header: no lowering)
  local lname = str_lower(name)
  for k, v in pairs(headers) do
    if type(k) == "string" then
      if str_lower(k) == lname then return k end
    elseif type(v) == "table" and type(v[1]) == "string" and str_lower(v[1]) == lname then
      return k
    end
  end
  return nil
end

--- Response.new(conn) -> the res object of a connection, reused by its
-- requests one after another (reset() before each).
function Response.new(conn)
  return setmetatable({_conn = conn, _req = false, status = 200, headers = {}, _mode = false,
                       headers_sent = false, finished = false, bytes = 0}, Response)  -- 8 slots
end

--- Response.begin(conn, req) -> a response object made for req alone,
-- when a handler that takes no res asks for one (req:write() and kin) or
-- the server needs one; it becomes conn.res.
function Response.begin(conn, req)
  local res = Response.new(conn)
  res._req = req
  conn.res = res
  return res
end

--- reset(req): ready the object for the next request on the connection.
function Response:reset(req)
  self._req, self.status, self.bytes, self._mode = req, 200, 0, false
  self.headers_sent, self.finished = false, false
  local headers = self.headers
  if type(headers) ~= "table" or next(headers) ~= nil then self.headers = {} end
end

--- Whether conn must close after the response now going out, whatever
-- the request asked: it is closing already, a client waiting for 100
-- Continue got an answer instead, the server stops or keeps nothing alive.
local function must_close(conn)
  local server = conn.server
  return conn.closing or conn.continue_pending or server.stopping or server.keepalive == false
end

--- The framing flags of a response with status (a number or "404 Not
-- Found") on conn, to the request its parser headed last (decided in C,
-- where the status is checked too: http_reply_flags).
local function flags_for(conn, status)
  return http_reply_flags(conn.parser, status, must_close(conn))
end

--- Send a head (and a first body piece); record what went out.
local function send(self, status, headers, body, flags)
  local conn = self._conn
  local n, seen = http_send(conn.sock, status, headers, body, flags)
  self.headers_sent = true
  self.status = status
  if not n then
    conn.closing = true
    return nil, seen
  end
  self.bytes = self.bytes + n
  if seen & SEEN_CLOSES ~= 0 then conn.closing = true end
  return seen
end

--- header(name[, value]) -> value: set a header, replacing one of the
-- same name in any case (nil removes it; a list sends one line per item,
-- as Set-Cookie needs); without value, return the current one.  Names
-- go out as written.
function Response:header(name, ...)
  local headers, value = self.headers, ...
  local key = find_header(headers, name)
  if value == nil and select("#", ...) == 0 then
    if type(key) == "number" then return headers[key][2] end
    return key and headers[key]
  end
  if self.headers_sent then error("httpd: headers already sent", 2) end
  if key then headers[key] = nil end
  headers[name] = value
  return value
end

--- Start a streamed body: send the head with the right framing.
local function start_stream(self, first)
  local req, conn = self._req, self._conn
  local flags = flags_for(conn, self.status)
  if flags & F_NOBODY ~= 0 then
    self._mode = "none"
  elseif find_header(self.headers, "content-length") then
    self._mode = "raw"
  elseif req.version == "1.1" then
    self._mode = "chunked"
    flags = flags | F_CHUNKED
  else
    self._mode = "raw"            -- HTTP/1.0: delimited by closing
    conn.closing = true
    flags = (flags | F_CLOSE | F_NOLENGTH) & ~F_KEEPALIVE
  end
  local seen, err = send(self, self.status, self.headers, first, flags)
  if not seen then return nil, err end
  if self._mode == "raw" and seen & SEEN_LENGTH == 0 and flags & F_NOLENGTH == 0 then
    conn.closing = true
  end
  return true
end

--- write(chunk) -> true | nil, err: send part of the body, the head
-- first if it has not gone out yet.
function Response:write(chunk)
  if self.finished then error("httpd: response already finished", 2) end
  chunk = tostring(chunk)
  if not self.headers_sent then return start_stream(self, chunk) end
  if chunk == "" or self._mode == "none" then return true end
  local conn = self._conn
  local ok, err
  if self._mode == "chunked" then
    ok, err = http_send_chunk(conn.sock, chunk)
  else
    ok, err = conn.sock:send(chunk)
  end
  if not ok then conn.closing = true return nil, err end
  self.bytes = self.bytes + #chunk
  return true
end

--- finish([body]) -> true | nil, err: end the response.  Before any
-- write, body is the whole body (Content-Length is set); after writes it
-- is the last piece.
function Response:finish(body)
  if self.finished then return true end
  if not self.headers_sent then return self:send_whole(self.status, self.headers, body) end
  if body ~= nil and body ~= "" then
    local ok, err = self:write(body)
    if not ok then self.finished = true return nil, err end
  end
  self.finished = true
  if self._mode == "chunked" then
    local ok, err = http_send_chunk(self._conn.sock, "", true)
    if not ok then self._conn.closing = true return nil, err end
    self.bytes = self.bytes + 5
  end
  return true
end

--- send_whole(status, headers, body) -> true | nil, err: the whole
-- response in one write (Content-Length from body), framed in the same
-- C call (http_reply: flags_for and send in one).
function Response:send_whole(status, headers, body)
  if self.finished then error("httpd: response already finished", 2) end
  self.finished = true
  if type(body) ~= "string" then body = body == nil and "" or tostring(body) end
  local conn = self._conn
  local n, seen = http_reply(conn.sock, conn.parser, status, headers, body, must_close(conn))
  if n == false then error(seen, 2) end   -- the status or a header cannot go out: nothing did
  self.headers_sent, self.status = true, status
  if not n or seen & SEEN_CLOSES ~= 0 then conn.closing = true end
  if not n then return nil, seen end
  self.bytes = self.bytes + n
  return true
end

--- Send what a handler returned: status, headers, body where body is a
-- string, a list of strings, or an iterator function of pieces.
function Response:send_result(status, headers, body)
  if headers and next(self.headers) == nil and type(body) ~= "function" then
    if type(body) == "table" then body = concat(body) end
    return self:send_whole(status, headers, body)  -- the common case: no copy
  end
  if headers then
    for k, v in pairs(headers) do
      if type(k) == "string" then self:header(k, v)
      elseif type(v) == "table" then self:header(v[1], v[2]) end
    end
  end
  self.status = status
  if type(body) == "function" then
    for piece in body do
      local ok, err = self:write(piece)
      if not ok then return nil, err end
    end
    return self:finish()
  end
  if type(body) == "table" then body = concat(body) end
  return self:finish(body)
end

--- Send a plain-text error answer that closes the connection (bad
-- request, limits, handler failure before the head went out).
function Response:fail(status, text)
  self._conn.closing = true
  self.headers = {["Content-Type"] = "text/plain; charset=utf-8"}
  self.status = status
  return self:finish(text or "")
end

Response.find_header = find_header
Response.must_close = must_close

return Response
