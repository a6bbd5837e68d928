-- The malformed-request corpus (spec/malformed_corpus.lua) replayed over
-- real sockets to a real eventlet.httpd: every case gets its documented
-- status (4xx/5xx with Connection: close, or 200 when the request is
-- acceptable), and after every case the server still answers a valid
-- request.  Truncated and garbled TLS records go to a TLS listener.
local eventlet = require "eventlet"
local H = require "helpers.httpd"
local support = require "net_support"
local cases = require "malformed_corpus"

local GOOD = "GET /good HTTP/1.1\r\nHost: x\r\n\r\n"
local GROUP = 30

-- The handler reads the whole body, so framing errors surface as the
-- body's own status (docs/httpd.md).
local function app(req)
  local body = assert(req:read_body())
  return 200, {}, "ok " .. req.method .. " " .. #body
end

-- Send bytes on a new connection and read until the server closes; a
-- send cut short by the server's early close is part of the test.
local function exchange(port, bytes)
  local c = H.connect(port)
  c:send(bytes)
  local all, _, partial = c:receive("*a")
  c:close()
  return all or partial or ""
end

-- What the server made of one case: the status of its first response
-- (or "close" when none came) and whether a rejection said
-- Connection: close and was followed by the close.
local function outcome(port, bytes)
  local c = H.connect(port)
  c:send(bytes)
  local rs = H.read_responses(c, 1)
  local res = rs[1]
  if res and res.status >= 400 then
    local rest = c:receive("*a")      -- nil: the server never closed
    c:close()
    return res.status, res.headers.connection == "close" and rest ~= nil
  end
  c:close()
  if not res then return "close", true end
  return res.status, true
end

-- Whether the server still answers a valid request on a new connection.
local function still_serving(port)
  local res = H.parse(H.exchange(port, GOOD:gsub("\r\n\r\n$", "\r\nConnection: close\r\n\r\n")))
  return res and res.status == 200
end

-- Replay cases[first..last]; returns the list of mismatches.
local function replay(port, first, last)
  local bad = {}
  for i = first, last do
    local case = cases[i]
    local status, closed = outcome(port, case.bytes)
    if status ~= case.status then
      bad[#bad + 1] = ("#%d %s: got %s, documented %s"):format(i, case.name, tostring(status),
                                                            tostring(case.status))
    elseif not closed then
      bad[#bad + 1] = ("#%d %s: %s without Connection: close"):format(i, case.name, status)
    end
    if not still_serving(port) then
      bad[#bad + 1] = ("#%d %s: the server stopped answering"):format(i, case.name)
    end
  end
  return bad
end

describe("malformed requests", function()
  it("the corpus holds at least 200 cases", function()
    assert.is_true(#cases >= 200)
  end)

  for first = 1, #cases, GROUP do
    local last = math.min(first + GROUP - 1, #cases)
    it(("cases %d-%d get their documented status"):format(first, last), function()
      H.with_server(app, {body_timeout = 5, header_timeout = 5}, function(_, port)
        assert.same({}, replay(port, first, last))
      end)
    end)
  end
end)

describe("malformed TLS records", function()
  local certs
  setup(function() certs = support.certs() end)

  local RECORDS = {
    {"empty then close", ""},
    {"one byte of a record header", "\22"},
    {"record header only", "\22\3\1\2\0"},
    {"truncated ClientHello", "\22\3\1\2\0\1\0\1\252\3\3" .. ("\0"):rep(20)},
    {"record length past 2^14", "\22\3\3\255\255" .. ("A"):rep(100)},
    {"wrong content type", "\99\3\3\0\5hello"},
    {"alert record", "\21\3\3\0\2\2\40"},
    {"application data before handshake", "\23\3\3\0\5hello"},
    {"SSLv2 hello", "\128\46\1\0\2\0\21\0\0\0\16" .. ("\1"):rep(40)},
    {"plain HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"random bytes", "\0\1\2\3\4\5\6\7\8\9\10\11\12\13\14\15"},
  }

  it("end that connection only; TLS clients are served after each", function()
    local tls = {server = true, cert = certs.server_cert, key = certs.server_key}
    H.with_server(app, {tls = tls, header_timeout = 5}, function(_, port)
      for _, rec in ipairs(RECORDS) do
        local got = exchange(port, rec[2])
        assert.not_matches("^HTTP/", got, rec[1])
        local c = assert(eventlet.connect("127.0.0.1:" .. port,
                                          {tls = {cafile = certs.ca_cert, hostname = "localhost"}}))
        c:settimeout(5)
        assert(c:send(GOOD))
        local rs = H.read_responses(c, 1)
        c:close()
        assert.equal(200, rs[1] and rs[1].status, rec[1])
      end
    end)
  end)
end)
