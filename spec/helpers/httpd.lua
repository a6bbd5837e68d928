--- Spec helpers for the HTTP server: a server on a free port, raw
-- request bytes over real sockets, responses parsed back with the core's
-- own llhttp response parser.
local eventlet = require "eventlet"
local httpd = require "eventlet.httpd"
local core = require "eventlet.core"

local _M = {}

--- Run fn(srv, port) against a started server; stops it (and waits for
-- its thread) whatever fn does.
function _M.with_server(handler, opts, fn)
  opts = opts or {}
  if opts.log == nil then opts.log = false end
  if opts.error_log == nil then opts.error_log = false end
  local srv = assert(httpd.server(opts.listen or "127.0.0.1:0", handler, opts))
  srv:start()
  local _, port = srv:address()
  local ok, err = pcall(fn, srv, port)
  srv:stop({grace = opts.stop_grace or 1})
  srv._thread:wait()
  if not ok then error(err, 0) end
end

--- A connected client socket with a 5 s timeout.
function _M.connect(port)
  local c = assert(eventlet.connect("127.0.0.1:" .. port))
  c:settimeout(5)
  return c
end

--- Read n responses from c (answers to HEAD when heads[i] is true).
-- Returns the list of parsed responses and whatever bytes followed.
function _M.read_responses(c, n, heads)
  local buf, out = "", {}
  while #out < n do
    local res, used = core.http_parse_response(buf, nil, heads and heads[#out + 1])
    if res and (res.content_length or res.chunked or res.status == 204 or res.status == 304
                or res.status < 200 or (heads and heads[#out + 1])) then
      res.raw = buf:sub(1, used)
      out[#out + 1] = res
      buf = buf:sub(used + 1)
    else
      local data, err = c:recv(65536)  -- a bulk recv: a buffer of malloc's, not the pool's (counted in specs)
      if not data then
        if res then                -- a close-delimited body ends here
          res.raw = buf
          out[#out + 1] = res
          buf = ""
        end
        out.err = err
        return out, buf
      end
      buf = buf .. data
    end
  end
  return out, buf
end

--- Send bytes on a new connection and read everything until the server
-- closes; returns the raw text.
function _M.exchange(port, bytes)
  local c = _M.connect(port)
  assert(c:send(bytes))
  local all, err, partial = c:receive("*a")
  c:close()
  return all or partial, err
end

--- Send raw bytes on c and read n responses.
function _M.ask(c, bytes, n)
  assert(c:send(bytes))
  return _M.read_responses(c, n or 1)
end

--- A connection that has had its first request, /warm (answered, then
-- handed to Lua, which makes the peer record its later requests share:
-- those the queue's C lane answers alone).
function _M.warm(port)
  local c = _M.connect(port)
  local rs = _M.ask(c, "GET /warm HTTP/1.1\r\nHost: x\r\n\r\n")
  assert(rs[1].status == 200, "the /warm request was not answered with 200")
  return c
end

--- A function returning the C lane's counts now less those at this call:
-- requests answered in C, connections handed to Lua (srv.queue:counts).
function _M.lane_counter(srv)
  local c0, l0 = srv.queue:counts()
  return function()
    local c, l = srv.queue:counts()
    return c - c0, l - l0
  end
end

--- Stop srv in a thread of its own (grace 5 s), run meanwhile() if
-- given (a turn of the hub after the stop began), then check that c's
-- connection ends and that the server drains and stops; closes c.
function _M.stop_closes(srv, c, meanwhile)
  local stopper = eventlet.spawn(function() srv:stop({grace = 5}) end)
  if meanwhile then
    eventlet.sleep(0.02)
    meanwhile()
  end
  local _, err = c:recv(1)
  assert(err == "closed", "the connection did not end: " .. tostring(err))
  stopper:wait()
  srv._thread:wait()
  assert(srv.nconns == 0, "connections left after the stop")
  c:close()
end

--- The first response in raw text, parsed (nil, reason if none).
function _M.parse(raw, head)
  return core.http_parse_response(raw, nil, head)
end

return _M
