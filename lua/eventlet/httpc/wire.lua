--- eventlet.httpc.wire: HTTP/1.1 on a connected socket — write a request
-- (fixed-length or chunked body), read a response head (llhttp, through
-- the core's http_read_head, straight off the socket's buffer).  The
-- same parser then decodes the body (eventlet.httpc.body).
local core = require "eventlet.core"

local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local string_format = string.format
local table_concat = table.concat
local http_parser = core.http_parser
local http_read_head = core.http_read_head

local _M = {}

_M.MAX_HEAD = 65536   -- bytes of status line + headers accepted
_M.MAX_HEADERS = 100  -- header lines accepted

-- Methods whose requests carry a body by default (Content-Length: 0
-- when none is given, as curl does).
local BODY_METHODS = {POST = true, PUT = true, PATCH = true}

-- An RFC 9110 token: header names and methods.
local TOKEN = "^[%w!#$%%&'*+%-.^_`|~]+$"
_M.TOKEN = TOKEN

-- Header names must be tokens, so nothing can be smuggled into the head.
local function check_name(name)
  if type(name) ~= "string" or not name:find(TOKEN) then
    error("invalid header name: " .. tostring(name):gsub("%c", "?"), 3)
  end
  return name
end

-- Header values must not smuggle a line break into the head.
local function check_value(name, value)
  value = tostring(value)
  if value:find("[\r\n]") then error("invalid header value for " .. name, 2) end
  return value
end

--- The wire form "Name: value\r\n..." of a header table (a list value
-- repeats the header).  Raises on a value that would break the head.
function _M.block(h)
  local lines, n = {}, 0
  for name, value in pairs(h) do
    check_name(name)
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
  return table_concat(lines)
end

--- Whether a header table sets the body's framing itself.
function _M.framed(h)
  return h["content-length"] ~= nil or h["transfer-encoding"] ~= nil
end

--- The request head as a string.  `target` is "/path?q" (or an absolute
-- URL through a plain-HTTP proxy); `block` the header lines (wire form);
-- `body` nil, a string or an iterator function (sent chunked); `framed`
-- true when the headers already say how the body is framed.
function _M.head(method, target, block, body, framed)
  local framing = ""
  if not framed then
    if type(body) == "string" then
      framing = "Content-Length: " .. #body .. "\r\n"
    elseif body ~= nil then
      framing = "Transfer-Encoding: chunked\r\n"
    elseif BODY_METHODS[method] then
      framing = "Content-Length: 0\r\n"
    end
  end
  return method .. " " .. target .. " HTTP/1.1\r\n" .. block .. framing .. "\r\n"
end

--- Send a request: head and body (see head for the arguments).  An
-- iterator body is sent chunked, one chunk per value it yields, ended by
-- nil.  @return true, or nil, err
function _M.send(sock, method, target, block, body, framed)
  local head = _M.head(method, target, block, body, framed)
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

-- What a parser error (an HTTP status the parser would answer a client
-- with) means for a response we read.
local function head_error(status, reason)
  if status == 431 or status == 414 then return "response head too large" end
  if status == 408 then return "timeout" end
  if reason and reason:match("^connection closed") then return "malformed response: truncated head" end
  return "malformed response: " .. (reason or status)
end

-- Set-Cookie values as a list (cookies may hold commas, so the parser's
-- ", " join cannot be split again), from the raw name/value pairs.
local function cookie_list(msg)
  local list, raw = {}, msg.headers_raw
  for i = 1, #raw, 2 do
    if raw[i]:lower() == "set-cookie" then list[#list + 1] = raw[i + 1] end
  end
  msg.headers["set-cookie"] = list
end

--- A response parser for one connection (llhttp, in the core), limited to
-- `max_head` bytes of head and MAX_HEADERS header lines.
function _M.parser(max_head)
  return http_parser("response", {max_header_size = max_head or _M.MAX_HEAD,
                                  max_headers = _M.MAX_HEADERS})
end

--- Read the response head off sock, skipping interim 1xx responses
-- (100 Continue), waiting up to `timeout` for it to start and to end.
-- The parser is left at the body (parser:state() == "body") if any.
-- @return resp {status, reason, version ("1.1"), keep_alive, headers
--   (lower-case names)}; or nil, err, got_bytes (whether the server sent
--   anything at all: a pooled connection that died sent nothing)
function _M.read_head(sock, parser, timeout)
  while true do
    local msg, status, reason = http_read_head(parser, sock, timeout, timeout)
    if not msg then
      if type(status) ~= "number" then return nil, status, false end
      return nil, head_error(status, reason), true
    end
    if msg.status >= 200 or msg.status == 101 then
      if msg.headers["set-cookie"] then cookie_list(msg) end
      return msg
    end
  end
end

return _M
