--- eventlet.httpc.body: read a response body off the socket through the
-- connection's llhttp parser (Content-Length, chunked, or until the
-- server closes: the core's http_read_body), optionally gunzipping it,
-- in pieces or all at once.
local core = require "eventlet.core"

local setmetatable = setmetatable
local type = type
local table_concat = table.concat
local http_read_body = core.http_read_body

local _M = {}
_M.__index = _M

local PIECE = 65536
local HUGE = math.huge

--- A reader for the body the parser stands at (none unless
-- parser:state() == "body": HEAD answers, 204, 304 pass nil).
-- opts.gunzip decodes gzip/deflate; opts.max_body caps the decoded size.
function _M.new(sock, parser, opts)
  local r = setmetatable({sock = sock, parser = parser, size = 0,
                          done = parser == nil or parser:state() ~= "body",
                          max = opts and opts.max_body, pending = nil}, _M)
  if opts and opts.gunzip then r.inflater = core.inflater() end
  return r
end

-- What a failed body read means: a framing error the parser found, or
-- the connection ending early (a truncation, whatever the socket said).
local function body_error(status, reason)
  if type(status) == "number" then return "malformed response: " .. (reason or status) end
  if status == "closed" then return "truncated body" end
  return status
end

--- Next raw (still encoded) piece, maybe "", or nil at the end.
function _M:raw()
  if self.done then return nil end
  local data, done, reason = http_read_body(self.parser, self.sock)
  if data == nil then return nil, body_error(done, reason) end
  if done then self.done = true end
  return data
end

-- Next decoded, non-empty piece; nil at the end.
local function decoded(self)
  while true do
    local data, err = self:raw()
    if not data then
      if err then return nil, err end
      if self.inflater and self.encoded and not self.inflater:done() then
        return nil, "truncated gzip body"
      end
      return nil
    end
    if self.inflater then
      self.encoded = true
      data, err = self.inflater:inflate(data)
      if not data then return nil, err end
    end
    if #data > 0 then return data end
  end
end

--- Up to n bytes of the body (default 64 KiB), or nil at its end, or
-- nil, err.
function _M:read(n)
  n = n or PIECE
  local data, err
  if self.pending then
    data, self.pending = self.pending, nil
  else
    data, err = decoded(self)
    if not data then return nil, err end
  end
  if #data > n then data, self.pending = data:sub(1, n), data:sub(n + 1) end
  self.size = self.size + #data
  if self.max and self.size > self.max then return nil, "body too large" end
  return data
end

--- True once the whole body has been consumed.
function _M:finished()
  return self.done and self.pending == nil
end

--- The rest of the body as one string, or nil, err.
function _M:all()
  local first, err = self:read(HUGE)
  if not first then
    if err then return nil, err end
    return ""
  end
  if self.done and not self.pending and not self.inflater then return first end
  local data
  data, err = self:read(HUGE)
  if not data then
    if err then return nil, err end
    return first
  end
  local parts = {first, data}
  while true do
    data, err = self:read(HUGE)
    if not data then
      if err then return nil, err end
      return table_concat(parts)
    end
    parts[#parts + 1] = data
  end
end

--- Release the inflater now.
function _M:close()
  if self.inflater then self.inflater:close() end
end

return _M
