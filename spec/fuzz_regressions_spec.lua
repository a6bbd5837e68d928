-- Inputs the fuzzers (src/fuzz_*.c, fuzz/*.lua) found, replayed through
-- the Lua API and over real sockets to eventlet.httpd, so each bug stays
-- fixed.  Each case names the finding.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local H = require "helpers.httpd"
local httpdate = require "eventlet.httpdate"

-- Feed pieces to a fresh request parser the way the socket reader does
-- (same head start, more bytes appended); returns head()'s last results.
local function head_in_pieces(kind, pieces)
  local p = core.http_parser(kind)
  local buf = ""
  for _, piece in ipairs(pieces) do
    buf = buf .. piece
    local msg, a, b = p:head(buf, 1)
    if msg ~= false then return msg, a, b end
  end
  return false
end

local function app(req)
  return 200, {}, "path=" .. req.path
end

describe("fuzz regressions", function()
  -- http_request/http_response, 2026-11-22: a read ending inside the
  -- empty lines allowed before a start line shifted the head scan by the
  -- skipped bytes on the next read: the head was cut at the wrong line
  -- ("Invalid method encountered", or a 400 whose reason was "HPE_OK").
  it("empty lines before a start line, split between reads", function()
    local msg, nextpos = head_in_pieces("request", {"\r", "\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"})
    assert.equal("/a", msg.path)
    assert.equal(31, nextpos)
    msg = head_in_pieces("request", {"\r\nGE", "T /b HTTP/1.1\r\n", "Host: x\r\n\r\n"})
    assert.equal("GET", msg.method)
    assert.equal("/b", msg.path)
    msg = head_in_pieces("response", {"\r\n\r", "\nHTTP/1.1 204 No Content\r\n\r\n"})
    assert.equal(204, msg.status)
    local _, status, reason = head_in_pieces("response", {"\r", "\n\r\n\0\0\0\0\nx: y\r\n\r\n"})
    assert.equal(400, status)
    assert.equal("bare LF in head", reason)
  end)

  -- A head llhttp found unfinished at its empty line was refused with
  -- the reason "HPE_OK".
  it("a head whose start line is a lone CR is a malformed head", function()
    local msg, status, reason = core.http_parser("response"):head("\r\r\n\r\n")
    assert.is_nil(msg)
    assert.equal(400, status)
    assert.equal("malformed head", reason)
  end)

  it("a stream of empty lines is a head over its size limit", function()
    local p = core.http_parser("request", {max_header_size = 1000})
    assert.is_false(p:head(("\r\n"):rep(400), 1))
    local msg, status = p:head(("\r\n"):rep(501), 1)
    assert.is_nil(msg)
    assert.equal(431, status)
  end)

  -- httpdate, 2026-11-22: "Fri, 31 Dec 9999 23:59:60 GMT" parses to a
  -- second of year 10000, which format cut to "... 10000 00:00:00 GM";
  -- far larger times left gmtime_r's result unset (days[] read out of
  -- bounds) and huge or NaN numbers were cast to time_t (undefined).
  it("format keeps to four-digit years, whatever the number", function()
    local t = httpdate.parse("Fri, 31 Dec 9999 23:59:60 GMT")
    assert.equal("Fri, 31 Dec 9999 23:59:59 GMT", httpdate.format(t))
    for _, v in ipairs({1e300, 2 ^ 62, math.huge}) do
      assert.equal("Fri, 31 Dec 9999 23:59:59 GMT", httpdate.format(v))
    end
    for _, v in ipairs({-1e300, -(2 ^ 62), -math.huge, 0 / 0}) do
      assert.equal("Mon, 01 Jan 0001 00:00:00 GMT", httpdate.format(v))
    end
    assert.equal(-62135596800, httpdate.parse(httpdate.format(-1e300)))
  end)

  it("the server answers requests whose leading CRLF arrives in two reads", function()
    H.with_server(app, nil, function(_, port)
      local c = H.connect(port)
      c:setoption("tcp-nodelay", true)
      assert(c:send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n\r"))
      local first = H.read_responses(c, 1)
      eventlet.sleep(0.05)
      assert(c:send("\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"))
      local second = H.read_responses(c, 1)
      c:close()
      assert.equal("path=/one", first[1].body)
      assert.equal(200, second[1].status)
      assert.equal("path=/two", second[1].body)
    end)
  end)
end)
