--- eventlet.httpc.body: read a response body off the socket as its
-- framing says (Content-Length, chunked, or until the server closes),
-- optionally gunzipping it, in pieces or all at once.
local core = require "eventlet.core"

local setmetatable = setmetatable
local tonumber = tonumber
local table_concat = table.concat
local math_min = math.min

local _M = {}
_M.__index = _M

local PIECE = 65536

--- A reader for a body framed as `framing` ("none", "length" with
-- `length`, "chunked", "close").  opts.gunzip decodes gzip/deflate;
-- opts.max_body caps the decoded size.
function _M.new(sock, framing, length, opts)
  local r = setmetatable({sock = sock, framing = framing, left = length or 0,
                          done = framing == "none", size = 0,
                          max = opts and opts.max_body, pending = nil}, _M)
  if framing == "length" and r.left == 0 then r.done = true end
  if opts and opts.gunzip then r.inflater = core.inflater() end
  return r
end

-- A missing byte of a framed body is a truncation, whatever the socket said.
local function truncated(err)
  if err == "closed" then return "truncated body" end
  return err
end

-- Next raw piece of a Content-Length body.
local function read_length(r, n)
  local data, err = r.sock:receive(math_min(n, r.left))
  if not data then return nil, truncated(err) end
  r.left = r.left - #data
  if r.left == 0 then r.done = true end
  return data
end

-- Read the chunk-size line; sets r.left, or finishes the body (and its
-- trailers) at the last chunk.
local function next_chunk(r)
  local line, err = r.sock:receive("*l")
  if not line then return nil, truncated(err) end
  local hex = line:match("^(%x+)%s*;?.*$")
  if not hex or #hex > 15 then return nil, "malformed response: bad chunk size" end
  r.left = tonumber(hex, 16)
  if r.left > 0 then return true end
  repeat
    line, err = r.sock:receive("*l")
    if not line then return nil, truncated(err) end
  until line == ""
  r.done = true
  return true
end

-- Next raw piece of a chunked body (nil at the end).
local function read_chunked(r, n)
  if r.left == 0 then
    local ok, err = next_chunk(r)
    if not ok then return nil, err end
    if r.done then return nil end
  end
  local data, err = r.sock:receive(math_min(n, r.left))
  if not data then return nil, truncated(err) end
  r.left = r.left - #data
  if r.left == 0 then
    local crlf
    crlf, err = r.sock:receive("*l")
    if crlf ~= "" then return nil, crlf and "malformed response: bad chunk end" or truncated(err) end
  end
  return data
end

-- Next raw piece of a body that ends when the server closes.
local function read_close(r, n)
  local data, err = r.sock:recv(n)
  if data and #data > 0 then return data end
  if err == nil or err == "closed" then r.done = true; return nil end
  return nil, err
end

-- Next raw (still encoded) piece, or nil at the end.
function _M:raw(n)
  if self.done then return nil end
  if self.framing == "length" then return read_length(self, n) end
  if self.framing == "chunked" then return read_chunked(self, n) end
  return read_close(self, n)
end

-- Next decoded piece, at most n bytes; nil at the end.
local function decoded(self, n)
  while true do
    local data, err = self:raw(n)
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
    data, err = decoded(self, n)
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
  local parts = {}
  while true do
    local data, err = self:read(self.framing == "length" and self.left > 0 and self.left or PIECE)
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
