--- http_feed: drive an HttpParser over bytes the way the socket readers
-- do (head, then body pieces, then the next pipelined message), and
-- describe what it saw as a list of lines -- so the fuzz drivers can
-- check that feeding the same bytes in pieces changes nothing.
local _M = {}

local concat, sort = table.concat, table.sort
local tostring, pairs = tostring, pairs

-- One line describing a message head: fields and headers in a stable order.
local function describe(msg)
  local names = {}
  for name in pairs(msg.headers) do names[#names + 1] = name end
  sort(names)
  local parts = {tostring(msg.method or msg.status), tostring(msg.raw_path or msg.reason),
                 tostring(msg.version), tostring(msg.keep_alive),
                 tostring(msg.content_length), tostring(msg.chunked), tostring(msg.upgrade)}
  for _, name in ipairs(names) do
    local v = msg.headers[name]
    parts[#parts + 1] = name .. "=" .. (type(v) == "table" and concat(v, "|") or tostring(v))
  end
  return concat(parts, " ")
end

--- feed(parser, chunks, on_head[, skip_body]) -> list of lines: the
-- heads, bodies and the error or end seen while `chunks` arrive one by
-- one.  on_head(msg) may add lines of its own (it returns a string or nil).
function _M.feed(parser, chunks, on_head, skip_body)
  local out, buf, pos, ci, body = {}, "", 1, 0, {}
  local function more()
    ci = ci + 1
    if not chunks[ci] then return false end
    buf, pos = buf:sub(pos) .. chunks[ci], 1
    return true
  end
  local steps = 0
  while true do
    steps = steps + 1
    if steps > 100000 then error("no progress at " .. pos .. " of " .. #buf) end
    local state = parser:state()
    if state == "head" then
      local msg, a, b = parser:head(buf, pos, skip_body)
      if msg == false then
        if not more() then out[#out + 1] = "end in head: " .. #buf - pos + 1 .. " bytes"; break end
      elseif msg == nil then
        out[#out + 1] = "error " .. tostring(a) .. " " .. tostring(b); break
      else
        if a <= pos and parser:state() == "head" then error("head consumed nothing") end
        pos = a
        out[#out + 1] = describe(msg)
        out[#out + 1] = on_head and on_head(msg) or nil
      end
    elseif state == "body" then
      local data, nextpos, done = parser:body(buf, pos)
      if data == nil then
        -- the status only: which check names a bad trailer first depends
        -- on where a read ends (llhttp's token check or http.c's)
        out[#out + 1] = "body error " .. tostring(nextpos); break
      end
      body[#body + 1], pos = data, nextpos
      if done then
        out[#out + 1], body = "body " .. concat(body), {}
      elseif pos > #buf and not more() then
        local ok, status, reason = parser:finish()
        out[#out + 1] = "end in body " .. concat(body) .. " " .. tostring(ok) .. " "
                        .. tostring(status) .. " " .. tostring(reason)
        break
      end
    else
      while more() do end   -- the bytes after an upgrade are not HTTP's
      out[#out + 1] = "upgraded, " .. #buf - pos + 1 .. " bytes left"
      break
    end
  end
  return out
end

--- Split s into pieces at the cut points the bytes of `cuts` choose.
function _M.pieces(s, cuts)
  local list, at = {}, 1
  for i = 1, #cuts do
    local step = cuts:byte(i) % 64 + 1
    if at > #s then break end
    list[#list + 1] = s:sub(at, at + step - 1)
    at = at + step
  end
  if at <= #s then list[#list + 1] = s:sub(at) end
  return list
end

--- Fail when two descriptions differ (the first difference named).
function _M.same(a, b, what)
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then
      error(what .. " differ at line " .. i .. ":\n  " .. tostring(a[i]) .. "\n  " .. tostring(b[i]))
    end
  end
end

return _M
