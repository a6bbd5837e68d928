--- eventlet.httpc.response: what a request returns — status, reason,
-- headers, and the body: read whole into resp.body, or streamed with
-- read(n)/lines()/close() (opts.stream).  Reading to the end gives the
-- connection back to its client's pool; abandoning it drops it.
local headers = require "eventlet.httpc.headers"
local body_mod = require "eventlet.httpc.body"

local setmetatable = setmetatable
local table_concat = table.concat

local Response = {}
Response.__index = Response

--- Make the response head `resp` (from the parser, with resp.conn,
-- resp.key, resp.parser) a Response with a body reader.  opts.gzip
-- decodes gzip/deflate bodies (and drops the encoding headers).
function Response.attach(client, resp, opts)
  local encoding = resp.headers["content-encoding"]
  local gunzip = opts.gzip and encoding and (headers.has_token(encoding, "gzip")
                                             or headers.has_token(encoding, "deflate"))
  resp.client = client
  resp.reader = body_mod.new(resp.conn.sock, resp.parser,
                             (gunzip or opts.max_body) and {gunzip = gunzip, max_body = opts.max_body})
  resp.parser = nil
  if gunzip then resp.headers["content-encoding"] = nil; resp.headers["content-length"] = nil end
  return setmetatable(resp, Response)
end

--- Read the whole body into resp.body and give back the connection.
-- @return resp, or nil, err
function Response:slurp()
  local data, err = self.reader:all()
  if not data then self:finish(false); return nil, err end
  self.body = data
  self:finish(true)
  return self
end

-- The next piece of the body: held-back line bytes first, then the
-- reader's (nil at the end, nil, err on failure).
local function next_piece(self, n)
  local pending = self.linebuf
  if pending then
    self.linebuf = #pending > n and pending:sub(n + 1) or nil
    return pending:sub(1, n)
  end
  if not self.reader then return nil end
  local data, err = self.reader:read(n)
  if data then return data end
  self:finish(err == nil)
  return nil, err
end

--- Read a streamed body like file:read(n): n bytes (fewer only at the
-- end), or with no n the next piece as it arrives; nil at the end, nil,
-- err on failure.  The connection goes back to the pool once the body
-- is consumed.
function Response:read(n)
  if n == nil then return next_piece(self, 65536) end
  local parts, got = {}, 0
  while got < n do
    local data, err = next_piece(self, n - got)
    if not data then
      if err then return nil, err end
      break
    end
    parts[#parts + 1] = data
    got = got + #data
  end
  if got == 0 and n > 0 then return nil end
  return table_concat(parts)
end

--- An iterator over the lines of a streamed body (without line ends).
-- Bytes read past a line wait in the response for the next read/line.
function Response:lines()
  return function()
    local buffer = self.linebuf or ""
    while true do
      local line, rest = buffer:match("^(.-)\r?\n(.*)$")
      if line then self.linebuf = rest ~= "" and rest or nil; return line end
      self.linebuf = nil
      local data = self:read()
      if not data then
        if buffer == "" then return nil end
        return buffer
      end
      buffer = buffer .. data
    end
  end
end

--- Give the connection back (body fully read, reusable) or close it.
function Response:finish(complete)
  local reader, conn = self.reader, self.conn
  self.reader, self.conn = nil, nil
  if reader then reader:close() end
  if not conn then return end
  if complete and reader and reader:finished() and self.keep_alive then
    self.client.pool:release(self.key, conn)
  else
    self.client.pool:discard(self.key, conn)
  end
end

--- Stop reading: the unread rest of the body is dropped with the
-- connection (also __close, for `local resp <close> = ...`).
function Response:close()
  self:finish(self.reader ~= nil and self.reader:finished())
end
Response.__close = Response.close

return Response
