--- eventlet.httpd.connection: the server's connections and the workers
-- that serve them (the queue in src/serveq.c hands a worker whichever
-- connection has bytes to read): read a head (in C, straight from the
-- socket buffer), call the handler, frame the response, drain what the
-- handler left of the body, and give the connection back to the queue
-- while keep-alive lasts.
local core = require "eventlet.core"
local Request = require "eventlet.httpd.request"
local Response = require "eventlet.httpd.response"
local log = require "eventlet.httpd.log"

local http_parser = core.http_parser
local http_read_head = core.http_read_head
local http_send = core.http_send
local http_reply = core.http_reply
local core_now = core.now
local traceback = debug.traceback
local xpcall = xpcall
local pcall = pcall
local type = type
local tostring = tostring
local ipairs = ipairs
local error = error
local next = next
local rawget = rawget
local res_reset, must_close = Response.reset, Response.must_close

local _M = {}

local F_CLOSE = 0x01
local SEEN_CLOSES = 0x40   -- http_reply: the connection ends (src/http_write.h)
local PLAIN = {["Content-Type"] = "text/plain; charset=utf-8"}

--- Answer a request we could not parse, and log it: the connection closes.
local function reject(server, conn, status, reason)
  local n = http_send(conn.sock, status, PLAIN, reason .. "\n", F_CLOSE)
  if server.log then
    local req = {remote_addr = conn.remote_addr, headers = {}}
    local res = {status = status, bytes = n or 0}
    log.write(server, log.line(server, req, res, core_now()) .. " (" .. reason .. ")", req, res)
  end
end

--- Report a handler's error on the server log (stderr by default).
local function report(server, req, err)
  local sink = server.error_log
  if sink == false then return end
  local line = ("httpd: error handling %s %s: %s"):format(req.method, req.raw_path, tostring(err))
  if type(sink) == "function" then sink(line) else (sink or io.stderr):write(line, "\n") end
end

--- Keep the traceback of a handler error (a kill passes untouched).
local function on_error(e)
  if type(e) == "string" then return traceback(e, 2) end
  return e
end

--- The handler failed: a 500 (or the body's own error status) if the
-- head has not gone out, else the connection is cut.
local function handler_failed(server, conn, req, res, err)
  if conn.killed or core.is_timeout(err) and conn.server.stopping then error(err, 0) end
  report(server, req, err)
  if res.headers_sent then
    conn.closing = true
    return
  end
  res.finished = false  -- a send that raised before anything went out
  local body_error = req.body_error
  if body_error then return res:fail(body_error.status, body_error.reason .. "\n") end
  res:fail(500, server.debug and (tostring(err) .. "\n") or "Internal Server Error\n")
end

--- Run the request's posthooks, each protected.
local function run_posthooks(server, req, res)
  for _, fn in ipairs(req.posthooks) do
    local ok, err = pcall(fn, req, res)
    if not ok then report(server, req, err) end
  end
end

--- Send what a handler returned: status, headers, body.
local function send_result(res, status, headers, body)
  if res.headers_sent then error("httpd: handler returned a response after writing one", 0) end
  return res:send_result(status, headers, body)
end

--- Send what a handler returned through its response object, or finish
-- what it started there.  The common answer, a string body and no
-- res:header() calls, goes out in one C call, its head framed from what
-- the parser noted of the request.
local function answer(conn, res, status, headers, body)
  if res.finished then return end
  if status == nil then return res:finish() end
  if type(body) ~= "string" or res.headers_sent or next(res.headers) ~= nil then
    return send_result(res, status, headers, body)
  end
  res.finished, res.headers_sent, res.status = true, true, status  -- before the send: one that
  -- raises while writing (a Timeout) may have sent a part, so no 500 may follow it
  local n, seen = http_reply(conn.sock, conn.parser, status, headers, body, must_close(conn))
  if n == false then      -- the status or a header cannot go out: nothing did
    res.finished, res.headers_sent = false, false
    error(seen, 0)
  end
  if not n or seen & SEEN_CLOSES ~= 0 then conn.closing = true end
  res.bytes = n or 0
end

--- What a lean handler returned and did not send itself, answered
-- through a response object -- made now unless it asked for one.
local function answer_lean(conn, req, status, headers, body)
  local res = conn.res
  if res == req then res = Response.begin(conn, req) end
  return answer(conn, res, status, headers, body)
end

--- The response object of a lean request, made now if its handler never
-- asked for one -- a 500 and posthooks need it -- with what went out
-- without one (status, bytes) written in.
local function response_after(conn, req, status, bytes)
  local res = conn.res
  if res and res ~= req then return res end
  res = Response.begin(conn, req)
  if status then res.status, res.bytes, res.headers_sent, res.finished = status, bytes, true, true end
  return res
end

--- What follows any answer: a 500 for a failed handler, the posthooks,
-- the access log, the rest of an unread body.
local function after(server, conn, req, res, ok, err, started)
  if not ok then handler_failed(server, conn, req, res, err) end
  if rawget(req, "posthooks") then run_posthooks(server, req, res) end
  if server.log then log.access(server, req, res, started) end
  if req.has_body and not conn.closing and not req:discard() then conn.closing = true end
end

--- What follows the protected call of a handler given a response
-- object (ok and its results): answer through it, in a protected call of
-- its own (a result that cannot be sent is the handler's error, a 500),
-- then what follows any answer.  started: the clock when the request
-- began, for the log.
local function res_ran(server, conn, req, started, ok, status, headers, body)
  local res, err = conn.res, status
  if ok then ok, err = xpcall(answer, on_error, conn, res, status, headers, body) end
  after(server, conn, req, res, ok, err, started)
  res._req = false   -- an idle connection keeps no request
end

--- Read http_reply's pcall results (sent, n, seen) as ok, err, bytes: a
-- raise while writing (some may be out; bytes nil) or an answer that
-- could not go out (a bad status or header: nothing did; bytes false) is
-- the handler's error; a send that ends the connection marks it closing.
local function reply_outcome(conn, sent, n, seen)
  if not sent then return false, n, nil end
  if n == false then return false, seen, false end
  if not n or seen & SEEN_CLOSES ~= 0 then conn.closing = true end
  return true, nil, n or 0
end

--- What follows a string answer the C lane sent through an untouched
-- response object (marked finished before the send, as answer() does):
-- what the send's pcall returned written into res, then what follows any
-- answer.
local function res_replied(server, conn, req, started, _, sent, n, seen)
  local res = conn.res
  local ok, err, bytes = reply_outcome(conn, sent, n, seen)
  if bytes == false then res.finished, res.headers_sent = false, false   -- nothing went out
  elseif bytes then res.bytes = bytes end
  after(server, conn, req, res, ok, err, started)
  res._req = false
end

--- Serve one request on conn with its response object (reset for it).
-- A queue's worker runs the same steps in C while requests are common
-- (q:serve, src/serve_lane.c), and hands over at res_ran or res_replied.
local function handle(server, conn, req)
  local started = server.log and core_now()
  local res = conn.res
  res_reset(res, req)
  return res_ran(server, conn, req, started, xpcall(server.call, on_error, req, res))
end

--- What follows a lean request's answer: a 500 for a failed handler,
-- posthooks, the rest of an unread body -- or nothing, the common case.
-- status and bytes: what went out without a response object, if anything.
local function lean_after(server, conn, req, ok, err, status, bytes)
  local hooks = rawget(req, "posthooks")
  if ok and not hooks and not req.has_body then   -- the common case: all done
    conn.res = false
    return
  end
  local res = (not ok or hooks) and response_after(conn, req, status, bytes or 0)
  after(server, conn, req, res, ok, err)
  conn.res = false
end

--- What follows a string answer sent by http_reply -- sent, bytes, seen:
-- the results of its pcall.
-- A raise while writing (a Timeout, a kill) leaves the status: some
-- may be out, so no 500 after it (headers_sent) -- the connection ends.
local function lean_replied(server, conn, req, status, sent, n, seen)
  local ok, err, bytes = reply_outcome(conn, sent, n, seen)
  if bytes == false then status = false end   -- nothing sent: the handler's error, a 500
  return lean_after(server, conn, req, ok, err, status, bytes)
end

--- What follows a lean handler's protected call (ok and its results):
-- a string body goes out in one C call, in a protected call of its own
-- (http_reply returns false, reason for what it cannot send: the
-- handler's error, as in respond()); anything else through a response
-- object, made now unless the handler asked for one.
local function lean_ran(server, conn, req, ok, status, headers, body)
  if not ok then return lean_after(server, conn, req, false, status, false) end
  if conn.res ~= req or status == nil or type(body) ~= "string" then
    local err
    ok, err = xpcall(answer_lean, on_error, conn, req, status, headers, body)
    return lean_after(server, conn, req, ok, err, false)
  end
  conn.res = false   -- answered: req:write() from another thread meanwhile is refused
  return lean_replied(server, conn, req, status, pcall(http_reply, conn.sock, conn.parser,
                                                       status, headers, body, must_close(conn)))
end

--- handle() for a handler that takes no res (server.lean, never with an
-- access log): no response object is made unless the handler asks for
-- one through req -- conn.res holds the request until then (request.lua).
-- A queue's worker runs the same steps in C while requests are common
-- (q:serve, src/serve_lane.c), and hands over at lean_ran or lean_replied.
local function handle_lean(server, conn, req)
  conn.res = req
  return lean_ran(server, conn, req, xpcall(server.call, on_error, req))
end

--- What every request on conn shares -- remote_addr, remote_port, scheme
-- and the connection record -- kept once in a metatable (chained to
-- Request) the connection gives its requests from the second on, rather
-- than written into each: a connection that stays for more requests
-- pays for the table once; one that serves a single request never does.
local function peer_of(server, conn)
  local peer = setmetatable({remote_addr = conn.remote_addr, remote_port = conn.remote_port,
                             scheme = server.scheme, _conn = conn, __index = false}, Request)
  peer.__index = peer    -- (made with its 5 keys: no rehash)
  return peer
end

--- The connection is done: close it and free its slot.
local function finish(server, conn)
  conn.sock:close()
  server:_untrack(conn)
end

--- Give conn what serving a request takes: a parser and, unless its
-- handler takes no res, a response object (a dozing connection holds
-- neither); returns the parser.
local function equip(server, conn)
  conn.res = not server.lean and Response.new(conn)
  conn.parser = http_parser("request", server.limits, Request)
  server:_track(conn, true)
  return conn.parser
end

--- The request on conn is answered: its socket while the connection
-- stays open (the queue then watches it, or finds the next request
-- already buffered: pipelining), nothing once it is closed.
local function serve_tail(server, conn)
  if conn.closing or server.stopping then return finish(server, conn) end
  if not conn.peer then conn.peer = peer_of(server, conn) end
  return conn.sock
end

--- Answer what a head read on conn returned (http_read_head's results)
-- and return as serve_tail does.
local function serve_head(server, conn, req, status, reason)
  if not req then
    if status == "idle" then return conn.sock end   -- readable, but no request: wait on
    if type(status) == "number" then reject(server, conn, status, reason) end
    return finish(server, conn)
  end
  if status then   -- Expect (HTTP/1.1): 100-continue before a body, or 417
    if status == 417 then
      reject(server, conn, 417, "unsupported expectation: " .. rawget(req.headers, "expect"))
      return finish(server, conn)
    end
    conn.continue_pending = true
  end
  if not conn.peer then   -- the first request: fields of its own (see peer_of)
    req.remote_addr, req.remote_port, req.scheme, req._conn = conn.remote_addr, conn.remote_port,
                                                               server.scheme, conn
  end
  if server.lean then handle_lean(server, conn, req) else handle(server, conn, req) end
  return serve_tail(server, conn)
end

--- Read and answer conn's next request; returns as serve_tail does.
local function serve_one(server, conn)
  local parser = conn.parser or equip(server, conn)   -- (none after a doze)
  local wait = server.header_timeout   -- (bounds a TLS handshake that must write first)
  return serve_head(server, conn, http_read_head(parser, conn.sock, wait, wait, nil, true,
                                                 conn.peer))
end

--- conn was quiet for the queue's trim time (waited seconds): close it
-- if that used up its wait -- header_timeout before a first request,
-- idle_timeout after one -- else let it doze for the rest without its
-- parser, response object and read buffer (serve_one makes them again).
-- A dozing connection (no parser) handed out as idle has used it up.
local function doze(server, conn, waited)
  local limit = server.header_timeout
  if conn.peer then limit = server.idle_timeout end
  local left = limit and limit - waited
  if server.stopping or not conn.parser or left and left <= 0 then return finish(server, conn) end
  server.queue:doze(conn.sock, left)
  server:_track(conn, false)
  conn.res, conn.parser, conn.peer = false, false, false  -- ~900 bytes
end

--- Go on with conn where the queue's C lane handed it over (q:serve,
-- src/serve_lane.c: why and its values); returns as serve_tail does.
local function take_over(server, conn, why, a, b, c, d, e, f)
  if why == nil then return serve_one(server, conn) end
  if why == "idle" then return doze(server, conn, a) end
  if why == "head" then return serve_head(server, conn, a, b, c) end
  local lean = server.lean
  if why == "ran" then
    if lean then lean_ran(server, conn, a, b, c, d, e) else res_ran(server, conn, a, b, c, d, e, f) end
  elseif lean then   -- "replied"
    lean_replied(server, conn, a, b, c, d, e)
  else
    res_replied(server, conn, a, b, c, d, e, f)
  end
  return serve_tail(server, conn)
end

--- A worker's round: serve the connections the queue hands over, giving
-- each back when it runs dry, until the queue has no more use for it.
-- The queue answers the common request in C (q:serve) and hands the rest
-- over.  slot.conn names the connection in hand.
local function work_rounds(server, q, slot)
  local lane = q.serve
  local sock, fresh = nil, true
  while true do
    local conn, why, a, b, c, d, e, f = lane(q, sock, fresh, on_error, server, slot, log)
    if not conn then return end
    fresh = false
    slot.conn = conn
    sock = take_over(server, conn, why, a, b, c, d, e, f)
    slot.conn = false
  end
end

--- work(server, q): the life of one of the server's workers (started by
-- the queue when its ready connections need one).  A worker killed in
-- the middle of a request -- a stop past its grace -- ends that
-- connection with it.  server.busy maps each worker to its slot, whose
-- conn field is the connection it serves, or false.
function _M.work(server, q)
  local me = core.getcurrent(true)
  local slot = {conn = false}
  server.busy[me] = slot
  local ok, err = pcall(work_rounds, server, q, slot)
  local conn = slot.conn
  server.busy[me] = nil
  if conn then finish(server, conn) end
  if not ok and not (conn and conn.killed) then error(err, 0) end
end

--- serve(server, sock, host, port): take on a connection accept()
-- reported (a Unix socket's peer: "unix:path", nil), ready to be read:
-- the server's queue hands it to a worker.  (The conn record keeps to
-- 8 fields, the peer to 5: thousands of idle connections hold both, and
-- every request reads the record -- 8 fit a table half the size of 9.)
function _M.serve(server, sock, host, port)
  local conn = {server = server, sock = sock, closing = false, res = false, parser = false,
                peer = false, remote_addr = host or false, remote_port = port or false}
  equip(server, conn)
  sock:settimeout(server.write_timeout)
  server.queue:add(sock, conn)
end

return _M
