--- eventlet.httpc.wire: HTTP/1.1 on a connected socket — write a request
-- (fixed-length or chunked body), read a response head, and decide how
-- its body is framed.  Bodies are read by eventlet.httpc.body.
local headers = require "eventlet.httpc.headers"

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local tonumber = tonumber
local string_format = string.format
local table_concat = table.concat

local _M = {}

_M.MAX_HEAD = 65536   -- bytes of status line + headers accepted
_M.MAX_HEADERS = 100  -- header lines accepted

-- Methods whose requests carry a body by default (Content-Length: 0
-- when none is given, as curl does).
local BODY_METHODS = {POST = true, PUT = true, PATCH = true}

-- Header values must not smuggle a line break into the head.
local function check_value(name, value)
  value = tostring(value)
  if value:find("[\r\n]") then error("invalid header value for " .. name, 4) end
  return value
end

--- The request head as a string.  `target` is "/path?q" (or an absolute
-- URL through a plain-HTTP proxy); `h` a header table; `body` nil, a
-- string or an iterator function (sent chunked).
function _M.head(method, target, h, body)
  local lines = {method, " ", target, " HTTP/1.1\r\n"}
  local n = #lines
  for name, value in pairs(h) do
    if type(value) == "table" then
      for _, v in ipairs(value) do
        lines[n + 1], lines[n + 2], lines[n + 3], lines[n + 4] = name, ": ", check_value(name, v), "\r\n"
        n = n + 4
      end
    else
      lines[n + 1], lines[n + 2], lines[n + 3], lines[n + 4] = name, ": ", check_value(name, value), "\r\n"
      n = n + 4
    end
  end
  if h["content-length"] == nil and h["transfer-encoding"] == nil then
    if type(body) == "string" then
      lines[n + 1] = "Content-Length: " .. #body .. "\r\n"
    elseif body ~= nil then
      lines[n + 1] = "Transfer-Encoding: chunked\r\n"
    elseif BODY_METHODS[method] then
      lines[n + 1] = "Content-Length: 0\r\n"
    end
  end
  lines[#lines + 1] = "\r\n"
  return table_concat(lines)
end

--- Send a request: head and body.  An iterator body is sent chunked, one
-- chunk per value it yields, ended by nil.
-- @return true, or nil, err
function _M.send(sock, method, target, h, body)
  local head = _M.head(method, target, h, body)
  if type(body) == "string" then
    local ok, err
    if #body < 16384 then
      ok, err = sock:send(head .. body)
    else
      ok, err = sock:send(head)
      if ok then ok, err = sock:send(body) end
    end
    if not ok then return nil, err end
    return true
  end
  local ok, err = sock:send(head)
  if not ok or body == nil then return ok and true, err end
  while true do
    local chunk = body()
    if chunk == nil then break end
    chunk = tostring(chunk)
    if #chunk > 0 then
      ok, err = sock:send(string_format("%x\r\n", #chunk) .. chunk .. "\r\n")
      if not ok then return nil, err end
    end
  end
  ok, err = sock:send("0\r\n\r\n")
  if not ok then return nil, err end
  return true
end

local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"

-- Read one line of the head, counting bytes against the limit.
local function read_line(sock, state)
  local line, err = sock:receive("*l")
  if not line then return nil, err end
  state.bytes = state.bytes + #line + 2
  if state.bytes > state.max then return nil, "response head too large" end
  return line
end

-- Parse "Name: value" into the header table; nil, err when malformed.
local function parse_header(h, line)
  local name, value = line:match("^([^:]*):[ \t]*(.-)[ \t]*$")
  if not name or not name:match(TOKEN) then
    return nil, "malformed response: bad header line"
  end
  headers.add(h, name, value)
  return true
end

-- Read one head (status line and headers).  got_bytes tells the pool
-- whether the server answered anything at all.
local function read_one_head(sock, state)
  local line, err = read_line(sock, state)
  if not line then return nil, err end
  state.got = true
  local major, minor, status, reason = line:match("^HTTP/(%d)%.(%d) (%d%d%d) ?(.*)$")
  if not major then return nil, "malformed response: bad status line" end
  local resp = {status = tonumber(status), reason = reason,
                version = tonumber(major) + tonumber(minor) / 10, headers = headers.new()}
  local count = 0
  while true do
    line, err = read_line(sock, state)
    if not line then return nil, err == "closed" and "malformed response: truncated head" or err end
    if line == "" then return resp end
    count = count + 1
    if count > _M.MAX_HEADERS then return nil, "response head too large" end
    local ok, perr = parse_header(resp.headers, line)
    if not ok then return nil, perr end
  end
end

--- Read the response head, skipping interim 1xx responses (100 Continue).
-- @return resp {status, reason, version, headers}; or nil, err, got_bytes
function _M.read_head(sock, max_head)
  local state = {bytes = 0, max = max_head or _M.MAX_HEAD, got = false}
  while true do
    local resp, err = read_one_head(sock, state)
    if not resp then return nil, err, state.got end
    if resp.status >= 200 or resp.status == 101 then return resp end
    state.bytes = 0
  end
end

--- How the body of `resp` to a `method` request is framed: "none",
-- "chunked", "length" (with the length) or "close"; nil, err for
-- ambiguous framing (Content-Length with chunked, conflicting lengths).
function _M.framing(method, resp)
  local s = resp.status
  if method == "HEAD" or s == 204 or s == 304 or (s >= 100 and s < 200) then return "none" end
  local te, cl = resp.headers["transfer-encoding"], resp.headers["content-length"]
  if te then
    if cl then return nil, "malformed response: both Content-Length and Transfer-Encoding" end
    local last = te:lower():match("([%w-]+)%s*$")
    if last == "chunked" then return "chunked" end
    return "close"
  end
  if cl then
    local first
    for v in cl:gmatch("[^,]+") do
      v = v:match("^%s*(%d+)%s*$")
      if not v or (first and v ~= first) then return nil, "malformed response: bad Content-Length" end
      first = v
    end
    local n = tonumber(first)
    if not n then return nil, "malformed response: bad Content-Length" end
    return "length", n
  end
  return "close"
end

--- Whether the connection may carry another request after this response
-- (its body read to the end).
function _M.keepalive(resp, framing)
  if framing == "close" then return false end
  local conn = resp.headers.connection
  if headers.has_token(conn, "close") then return false end
  if resp.version < 1.1 then return headers.has_token(conn, "keep-alive") end
  return true
end

return _M
