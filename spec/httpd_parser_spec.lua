-- The llhttp binding on its own: core.http_parse_request/response, the
-- HttpParser object, limits and every rejection, the head writer.
local core = require "eventlet.core"

local parse = core.http_parse_request

describe("core.http_parse_request", function()
  it("parses a head into a table with decoded path, query and headers", function()
    local text = "GET /a%20b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nAccept: a\r\n"
                 .. "accept: b\r\nCookie: a=1\r\nCookie: b=2\r\nX-Empty:\r\n\r\nrest"
    local req, used = parse(text)
    assert.equal(#text - 4, used)
    assert.equal("GET", req.method)
    assert.equal("/a b", req.path)
    assert.equal("/a%20b?x=1&y=2", req.raw_path)
    assert.equal("x=1&y=2", req.query)
    assert.equal("1.1", req.version)
    assert.is_true(req.keep_alive)
    assert.equal("h", req.headers.host)
    assert.equal("h", req.headers.HOST)
    assert.equal("a, b", req.headers.Accept)
    assert.equal("a=1; b=2", req.headers.cookie)
    assert.equal("", req.headers["x-empty"])
    assert.same({"Host", "h", "Accept", "a", "accept", "b", "Cookie", "a=1", "Cookie", "b=2",
                 "X-Empty", ""}, req.headers_raw)
  end)

  it("stores every header name lowercase, common ones and their near misses alike", function()
    -- Common names come interned from a list (http.c: header_names); the
    -- near misses share a common name's length and first letter, or are a
    -- prefix or an extension of one (the longest known has 25 bytes).
    local names = {"Host", "AGE", "Date", "hosx", "Agx", "Sec-Fetch-Dest", "sec-fetch-MODE",
                   "Sec-Fetch-Site", "Sec-Fetch-User", "Sec-Fetch-Xxxx", "Content-Length",
                   "Content-Lengtx", "X-Forwarded-For", "x-forwarded-FOX", "Accept-Language",
                   "UPGRADE-INSECURE-REQUESTS", "Upgrade-Insecure-Requestz", "If-None-Match",
                   "X-Real-IP", "Set-Cookie", "Cookie", "Hos", "Ag", "Accep", "Content-Lengt",
                   "Hostx", "Upgrade-Insecure-Request", "Upgrade-Insecure-Requestss"}
    local lines = {"POST / HTTP/1.1"}
    for i, name in ipairs(names) do
      lines[#lines + 1] = name .. ": " .. (name == "Content-Length" and "0" or "v" .. i)
    end
    local req = assert(parse(table.concat(lines, "\r\n") .. "\r\n\r\n"))
    local stored = {}
    for name, value in pairs(req.headers) do stored[name] = value end
    local expected = {}
    for i, name in ipairs(names) do
      expected[name:lower()] = name == "Content-Length" and "0" or "v" .. i
    end
    assert.same(expected, stored)
  end)

  it("tells path from raw_path for every shape of target", function()
    -- {target, path, query, absolute_uri}: a plain path is both at once
    for _, case in ipairs({{"/", "/"}, {"/plain/path", "/plain/path"}, {"/a%2Fb", "/a/b"},
                           {"/p?", "/p", ""}, {"/p?q=1", "/p", "q=1"}, {"/p#frag", "/p"},
                           {"/p%", "/p%"}, {"http://h/x", "/x", nil, "http://h/x"},
                           {"https://h", "/", nil, "https://h"}, {"*", "*"}}) do
      local req = assert(parse("OPTIONS " .. case[1] .. " HTTP/1.1\r\nHost: h\r\n\r\n"))
      assert.equal(case[1], req.raw_path)
      assert.equal(case[2], req.path, case[1])
      assert.equal(case[3], req.query, case[1])
      assert.equal(case[4], req.absolute_uri, case[1])
    end
  end)

  it("decodes chunked bodies, ignoring extensions and trailers", function()
    local text = "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 .. "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\nGET"
    local req, used = parse(text)
    assert.equal("abcde", req.body)
    assert.is_true(req.chunked)
    assert.equal(#text - 3, used)
  end)

  it("reads a Content-Length body and says when input is incomplete", function()
    local req = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    assert.equal("hello", req.body)
    assert.equal(5, req.content_length)
    assert.same({nil, nil, "incomplete"}, {parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel")})
    assert.same({nil, nil, "incomplete"}, {parse("GET / HTTP/1.1\r\nHost: x\r\n")})
  end)

  it("knows HTTP/1.0 keep-alive rules and absolute-form targets", function()
    local req = parse("GET http://example.com/x?q HTTP/1.0\r\n\r\n")
    assert.is_false(req.keep_alive)
    assert.equal("/x", req.path)
    assert.equal("q", req.query)
    assert.equal("http://example.com/x?q", req.absolute_uri)
    req = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert.is_true(req.keep_alive)
    req = parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert.is_false(req.keep_alive)
  end)

  it("skips empty lines before the request line", function()
    local req, used = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert.equal("GET", req.method)
    assert.equal(31, used)
  end)

  local rejections = {
    {"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
    {"a space in a header name", "GET / HTTP/1.1\r\nHost: x\r\nHo st: x\r\n\r\n", 400},
    {"a space before the colon", "GET / HTTP/1.1\r\nHost: x\r\nHost : x\r\n\r\n", 400},
    {"Content-Length with Transfer-Encoding",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 400},
    {"duplicate Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 400},
    {"invalid Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\na", 400},
    {"negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
    {"a Transfer-Encoding not ending in chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"a bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
    {"a bad method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a bad version", "GET / HTTP/1.x\r\n\r\n", 400},
    {"an unsupported version", "GET / HTTP/2.0\r\n\r\n", 505},
    {"NUL in the path", "GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"a control byte in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\1b\r\n\r\n", 400},
  }
  for _, case in ipairs(rejections) do
    it("rejects " .. case[1] .. " with " .. case[3], function()
      local req, status, reason = parse(case[2])
      assert.is_nil(req)
      assert.equal(case[3], status)
      assert.is_string(reason)
    end)
  end

  it("enforces each limit with its status", function()
    local long = ("a"):rep(100)
    assert.equal(414, select(2, parse("GET /" .. long .. " HTTP/1.1\r\nHost: x\r\n\r\n", {max_request_line = 50})))
    assert.equal(431, select(2, parse("GET / HTTP/1.1\r\nHost: x\r\n"
      .. "X: " .. long .. "\r\n\r\n", {max_header_line = 50})))
    assert.equal(431, select(2, parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", {max_headers = 2})))
    assert.equal(431, select(2, parse("GET / HTTP/1.1\r\nHost: x\r\nA: " .. long .. "\r\nB: " .. long .. "\r\n\r\n",
                                      {max_header_size = 150})))
    assert.equal(413, select(2, parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", {max_body = 4})))
    assert.equal(413, select(2, parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      .. "5\r\nhello\r\n0\r\n\r\n", {max_body = 4})))
    -- a request line still arriving is refused as soon as it is too long
    assert.equal(414, select(2, parse("GET /" .. long, {max_request_line = 50})))
  end)

  it("takes limits parsed once by core.http_limits, as a table's", function()
    local long = ("a"):rep(100)
    local lim = core.http_limits{max_request_line = 50, max_body = 4, raw_headers = false}
    assert.matches("^HttpLimits %(line 50, .*body 4%)$", tostring(lim))
    assert.equal(414, select(2, parse("GET /" .. long .. " HTTP/1.1\r\nHost: x\r\n\r\n", lim)))
    assert.equal(413, select(2, parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", lim)))
    local p = core.http_parser("request", lim)
    local req = p:head("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1)
    assert.is_nil(req.headers_raw)         -- raw_headers = false, kept by the object
    assert.equal("x", req.headers.host)
    local keeps = core.http_parser("request", core.http_limits{})
    assert.is_table(keeps:head("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1).headers_raw)
    assert.has_error(function() core.http_limits{max_body = -1} end)
    assert.has_error(function() core.http_parser("request", io.stdout) end)
  end)
end)

describe("core.http_parse_response", function()
  it("parses status, reason and a body by length, chunks or end of input", function()
    local res = core.http_parse_response("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")
    assert.equal(404, res.status)
    assert.equal("Not Found", res.reason)
    assert.equal("no", res.body)
    res = core.http_parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    assert.equal("ok", res.body)
    res = core.http_parse_response("HTTP/1.0 200 OK\r\n\r\nuntil the end")
    assert.equal("until the end", res.body)
  end)

  it("reads no body in a response to HEAD", function()
    local res, used = core.http_parse_response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", nil, true)
    assert.equal("", res.body)
    assert.equal(38, used)
  end)
end)

describe("HttpParser", function()
  it("parses pipelined messages one at a time from a buffer", function()
    local p = core.http_parser("request")
    local buf = "GET /1 HTTP/1.1\r\nHost: x\r\n"
      .. "\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
    local req, pos = p:head(buf, 1)
    assert.equal("/1", req.path)
    assert.equal("head", p:state())
    req, pos = p:head(buf, pos)
    assert.equal("/2", req.path)
    assert.equal("body", p:state())
    local data, done
    data, pos, done = p:body(buf, pos)
    assert.equal("abc", data)
    assert.is_true(done)
    req = p:head(buf, pos)
    assert.equal("/3", req.path)
    assert.matches("HttpParser %(request, head%)", tostring(p))
  end)

  it("resumes a head that arrives in pieces", function()
    local p = core.http_parser("request", nil, {__index = {kind = "mine"}})
    local text = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
    for i = 1, #text - 1 do
      assert.is_false(p:head(text:sub(1, i), 1))
    end
    local req = p:head(text, 1)
    assert.equal("/slow", req.path)
    assert.equal("mine", req.kind)
  end)
end)

describe("core.http_format", function()
  it("writes status line, headers, Date, Server, Content-Length and Connection", function()
    local text = core.http_format(200, {["Content-Type"] = "text/plain", ["Set-Cookie"] = {"a=1", "b=2"}},
                                  "hello", 0x01)
    assert.matches("^HTTP/1.1 200 OK\r\n", text)
    assert.matches("\r\nContent%-Type: text/plain\r\n", text)
    assert.matches("\r\nSet%-Cookie: a=1\r\n", text)
    assert.matches("\r\nSet%-Cookie: b=2\r\n", text)
    assert.matches("\r\nDate: %a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT\r\n", text)
    assert.matches("\r\nServer: eventlet%-lua\r\n", text)
    assert.matches("\r\nContent%-Length: 5\r\n", text)
    assert.matches("\r\nConnection: close\r\n\r\nhello$", text)
  end)

  it("adds no length to 204/304 and keeps the caller's own headers", function()
    local text = core.http_format(204, {}, nil, 0x10)
    assert.not_matches("Content%-Length", text)
    local seen
    text, seen = core.http_format(200, {["content-length"] = "3", Connection = "close", Date = "x"}, "abc")
    assert.not_matches("Content%-Length", text)
    assert.matches("\r\nDate: x\r\n", text)
    assert.equal(0x01 | 0x04 | 0x08 | 0x20 | 0x40, seen)  -- 0x40: the connection ends
  end)

  it("refuses header injection", function()
    assert.has_error(function() core.http_format(200, {X = "a\r\nEvil: 1"}, "") end)
    assert.has_error(function() core.http_format(200, {["X\r\nY"] = "a"}, "") end)
    assert.has_error(function() core.http_format("200 OK\r\nEvil: 1", {}, "") end)
    assert.has_error(function() core.http_format("200 OK\nEvil: 1", {}, "") end)
    assert.has_error(function() core.http_format("200\0", {}, "") end)
    assert.has_error(function() core.http_format("2000", {}, "") end)
    assert.has_error(function() core.http_format(1000, {}, "") end)
    assert.matches("^HTTP/1.1 299 Odd\tbut fine\r\n", (core.http_format("299 Odd\tbut fine", {}, "")))
    assert.matches("^HTTP/1.1 200 OK\r\n", (core.http_format(200.0, {}, "")))
    assert.matches("^HTTP/1.1 404 Not Found\r\n", (core.http_format("404", {}, "")))
  end)

  it("knows its reason phrases and formats dates", function()
    assert.equal("Not Found", core.http_reason(404))
    assert.equal("Sun, 06 Nov 1994 08:49:37 GMT", core.http_date(784111777))
  end)
end)

describe("core.http_read_head/http_read_body on a socket", function()
  -- A socket pair with bytes already sent to a (from b), and a parser of kind.
  local function fed(kind, bytes)
    local a, b = core.socketpair()
    a:settimeout(5)
    b:settimeout(5)
    assert(b:send(bytes))
    return a, b, core.http_parser(kind)
  end

  it("read responses (the client's side): length, chunked, HEAD, close-delimited", function()
    local a, b, p = fed("response", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                  .. "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
                  .. "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
                  .. "HTTP/1.0 200 OK\r\n\r\nto the end")
    b:shutdown("send")
    local res = assert(core.http_read_head(p, a))
    assert.equal(200, res.status)
    assert.same({"abc", true}, {core.http_read_body(p, a)})
    res = assert(core.http_read_head(p, a))
    assert.is_true(res.chunked)
    local body, done = "", false
    while not done do
      local data
      data, done = core.http_read_body(p, a)
      body = body .. data
    end
    assert.equal("de", body)
    res = assert(core.http_read_head(p, a, nil, nil, true))   -- the answer to a HEAD
    assert.equal("99", res.headers["content-length"])
    res = assert(core.http_read_head(p, a))
    assert.equal("1.0", res.version)
    body, done = "", false
    while not done do
      local data
      data, done = core.http_read_body(p, a)
      body = body .. data
    end
    assert.equal("to the end", body)
    assert.same({nil, "closed"}, {core.http_read_head(p, a)})
    a:close()
    b:close()
  end)

  it("tell what a request's Expect asks, and nothing for a response or HTTP/1.0", function()
    local a, b, p = fed("request",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx"
      .. "GET / HTTP/1.1\r\nHost: h\r\nEXPECT: teapot\r\n\r\n"   -- a name in any case
      .. "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
      .. "POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\ny")
    local function head() return table.pack(core.http_read_head(p, a)) end
    local r = head()
    assert.same({2, 100}, {r.n, r[2]})
    assert.same({"x", true}, {core.http_read_body(p, a)})
    r = head()
    assert.same({2, 417}, {r.n, r[2]})      -- bodiless: decided before the message ends
    r = head()
    assert.same({1, "GET"}, {r.n, r[1].method})
    r = head()
    assert.same({1, "1.0"}, {r.n, r[1].version})
    assert.same({"y", true}, {core.http_read_body(p, a)})
    local q = core.http_parser("response")
    assert(b:send("HTTP/1.1 200 OK\r\nExpect: teapot\r\nContent-Length: 0\r\n\r\n"))
    r = table.pack(core.http_read_head(q, a))
    assert.same({1, 200}, {r.n, r[1].status})
    a:close()
    b:close()
  end)

  it("read a request head that arrives byte by byte, and time out a silent peer", function()
    local a, b = core.socketpair()
    a:settimeout(5)
    local p = core.http_parser("request")
    local writer = core.spawn(function()
      for ch in ("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"):gmatch(".") do
        b:send(ch)
        core.sleep(0.001)
      end
    end)
    local req = assert(core.http_read_head(p, a, 5, 5))
    assert.equal("/slow", req.path)
    writer:wait()
    assert.same({nil, "timeout"}, {core.http_read_head(p, a, 0.05, 5)})
    assert.equal(5, a:gettimeout())        -- the socket's own timeout is back
    a:close()
    b:close()
  end)
end)
