--- The malformed-request corpus: bytes a client might send and the status
-- eventlet.httpd answers them with (docs/httpd.md "Bad input" and
-- "Edge cases of the request line and framing").  Each case is
-- {name, bytes, status}; status 200 means the request is accepted and
-- reaches the handler, "close" that the connection ends without a
-- response.  spec/malformed_spec.lua replays every case over a real
-- socket; the handler reads the whole body, so framing errors surface.
local cases = {}

local function add(name, bytes, status)
  cases[#cases + 1] = {name = name, bytes = bytes, status = status}
end

local HOST = "Host: x\r\n"

-- A request with the given head lines (each without CRLF) and body.
local function req(line, headers, body)
  return line .. "\r\n" .. table.concat(headers or {}, "") .. HOST .. "\r\n" .. (body or "")
end

-- ---- request smuggling: Content-Length and Transfer-Encoding ----
local CHUNKED_BODY = "5\r\nhello\r\n0\r\n\r\n"
add("CL and TE", req("POST / HTTP/1.1", {"Content-Length: 4\r\n", "Transfer-Encoding: chunked\r\n"},
    CHUNKED_BODY), 400)
add("TE and CL", req("POST / HTTP/1.1", {"Transfer-Encoding: chunked\r\n", "Content-Length: 4\r\n"},
    CHUNKED_BODY), 400)
add("CL 0 and TE", req("POST / HTTP/1.1", {"Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n"},
    CHUNKED_BODY), 400)
add("CL and TE identity", req("POST / HTTP/1.1", {"Content-Length: 5\r\n", "Transfer-Encoding: identity\r\n"},
    "hello"), 400)
add("conflicting CL", req("POST / HTTP/1.1", {"Content-Length: 5\r\n", "Content-Length: 6\r\n"}, "hello!"), 400)
add("duplicate equal CL", req("POST / HTTP/1.1", {"Content-Length: 5\r\n", "Content-Length: 5\r\n"}, "hello"), 400)
add("CL list", req("POST / HTTP/1.1", {"Content-Length: 5, 5\r\n"}, "hello"), 400)
for _, v in ipairs({"+5", "-5", "5a", "0x5", "5.0", "5 5", "five", "1e1", "\"5\"",
                    "99999999999999999999999", "18446744073709551616", "5;", ",5"}) do
  add("invalid CL " .. v, req("POST / HTTP/1.1", {"Content-Length: " .. v .. "\r\n"}, "hello"), 400)
end
add("CL with spaces around", req("POST / HTTP/1.1", {"Content-Length:  5 \r\n"}, "hello"), 200)
add("empty CL", req("POST / HTTP/1.1", {"Content-Length:\r\n"}, ""), 400)
for _, v in ipairs({"gzip", "identity", "chunked, gzip", "deflate", "compress", "xchunked", "chunkedx",
                    "chunked;q=1", "chunk", "\"chunked\""}) do
  add("TE not ending in chunked: " .. v, req("POST / HTTP/1.1", {"Transfer-Encoding: " .. v .. "\r\n"},
      CHUNKED_BODY), 400)
end
add("TE: Chunked (case)", req("POST / HTTP/1.1", {"Transfer-Encoding: Chunked\r\n"}, CHUNKED_BODY), 200)
add("TE: CHUNKED", req("POST / HTTP/1.1", {"Transfer-Encoding: CHUNKED\r\n"}, CHUNKED_BODY), 200)
add("TE with trailing space", req("POST / HTTP/1.1", {"Transfer-Encoding: chunked \r\n"}, CHUNKED_BODY), 200)
add("TE gzip, chunked", req("POST / HTTP/1.1", {"Transfer-Encoding: gzip, chunked\r\n"}, CHUNKED_BODY), 200)
add("TE twice", req("POST / HTTP/1.1", {"Transfer-Encoding: gzip\r\n", "Transfer-Encoding: chunked\r\n"},
    CHUNKED_BODY), 200)
add("TE chunked twice", req("POST / HTTP/1.1", {"Transfer-Encoding: chunked, chunked\r\n"}, CHUNKED_BODY), 400)
add("TE with vertical tab", req("POST / HTTP/1.1", {"Transfer-Encoding: \vchunked\r\n"}, CHUNKED_BODY), 400)
add("TE with NUL", req("POST / HTTP/1.1", {"Transfer-Encoding: chunked\0\r\n"}, CHUNKED_BODY), 400)
add("TE name with space", req("POST / HTTP/1.1", {"Transfer-Encoding : chunked\r\n", "Content-Length: 5\r\n"},
    "hello"), 400)
add("TE name leading space", req("POST / HTTP/1.1", {" Transfer-Encoding: chunked\r\n"}, CHUNKED_BODY), 400)
add("TE folded", req("POST / HTTP/1.1", {"Transfer-Encoding:\r\n chunked\r\n"}, CHUNKED_BODY), 400)
add("TE in HTTP/1.0", req("POST / HTTP/1.0", {"Transfer-Encoding: chunked\r\n"}, CHUNKED_BODY), 200)
add("CL name with space", req("POST / HTTP/1.1", {"Content-Length : 5\r\n"}, "hello"), 400)
add("CL name with tab", req("POST / HTTP/1.1", {"Content-Length\t: 5\r\n"}, "hello"), 400)

-- ---- obs-fold, bare CR and LF ----
add("obs-fold space", req("GET / HTTP/1.1", {"X-A: a\r\n b\r\n"}), 400)
add("obs-fold tab", req("GET / HTTP/1.1", {"X-A: a\r\n\tb\r\n"}), 400)
add("obs-fold first header", "GET / HTTP/1.1\r\n X-A: a\r\n" .. HOST .. "\r\n", 400)
add("bare LF everywhere", "GET / HTTP/1.1\nHost: x\n\n", 400)
add("bare LF after request line", "GET / HTTP/1.1\n" .. HOST .. "\r\n", 400)
add("bare LF in header", "GET / HTTP/1.1\r\nX-A: a\n" .. HOST .. "\r\n", 400)
add("bare LF at end", "GET / HTTP/1.1\r\n" .. HOST .. "\n", 400)
add("bare CR in header value", req("GET / HTTP/1.1", {"X-A: a\rb\r\n"}), 400)
add("bare CR in request line", req("GET /a\rb HTTP/1.1"), 400)
add("bare CR ending a header", "GET / HTTP/1.1\r\nX-A: a\r" .. HOST .. "\r\n", 400)
add("CR CR LF", "GET / HTTP/1.1\r\r\n" .. HOST .. "\r\n", 400)
add("LF in target", req("GET /a\nb HTTP/1.1"), 400)
add("empty lines before request", "\r\n\r\n" .. req("GET / HTTP/1.1"), 200)

-- ---- invalid bytes: every control byte in each part ----
local function hex(b) return ("%02x"):format(b) end
for b = 0, 31 do
  if b ~= 10 and b ~= 13 then
    local c = string.char(b)
    add("byte " .. hex(b) .. " in method", req("GE" .. c .. "T / HTTP/1.1"), 400)
    add("byte " .. hex(b) .. " in header name", req("GET / HTTP/1.1", {"X-" .. c .. "A: v\r\n"}), 400)
    if b ~= 9 then
      add("byte " .. hex(b) .. " in target", req("GET /a" .. c .. "b HTTP/1.1"), 400)
      add("byte " .. hex(b) .. " in header value", req("GET / HTTP/1.1", {"X-A: a" .. c .. "b\r\n"}), 400)
    end
  end
end
add("tab in target", req("GET /a\tb HTTP/1.1"), 400)
add("tab in header value", req("GET / HTTP/1.1", {"X-A: a\tb\r\n"}), 200)
add("DEL in method", req("GE\127T / HTTP/1.1"), 400)
add("DEL in target", req("GET /a\127b HTTP/1.1"), 400)
add("DEL in header name", req("GET / HTTP/1.1", {"X-\127A: v\r\n"}), 400)
add("DEL in header value", req("GET / HTTP/1.1", {"X-A: a\127b\r\n"}), 400)
add("obs-text in header value", req("GET / HTTP/1.1", {"X-A: caf\195\169\r\n"}), 200)
add("UTF-8 in method", req("G\195\137T / HTTP/1.1"), 400)
add("UTF-8 in header name", req("GET / HTTP/1.1", {"X-\195\169: v\r\n"}), 400)
for _, c in ipairs({"(", ")", ",", "/", ";", "<", "=", ">", "?", "@", "[", "\\", "]", "{", "}", "\""}) do
  add("separator " .. c .. " in header name", req("GET / HTTP/1.1", {"X" .. c .. "A: v\r\n"}), 400)
end
add("colon inside a name is the value's", req("GET / HTTP/1.1", {"X:A: v\r\n"}), 200)
add("empty header name", req("GET / HTTP/1.1", {": v\r\n"}), 400)
add("header without colon", req("GET / HTTP/1.1", {"X-A v\r\n"}), 400)
add("space before colon", req("GET / HTTP/1.1", {"X-A : v\r\n"}), 400)
add("%00 in path", req("GET /a%00b HTTP/1.1"), 400)
add("unknown method", req("FOO / HTTP/1.1"), 400)
add("lowercase method", req("get / HTTP/1.1"), 400)
add("method with digit", req("G3T / HTTP/1.1"), 400)
add("two spaces after method", req("GET  / HTTP/1.1"), 200)
add("space in target", req("GET /a b HTTP/1.1"), 400)
add("no target", req("GET HTTP/1.1"), 400)
add("trailing space after version", req("GET / HTTP/1.1 "), 400)
add("leading space", req(" GET / HTTP/1.1"), 400)
add("only a request line of spaces", "   \r\n\r\n", 400)
add("garbage line", "\1\2\3\4\r\n\r\n", 400)
add("binary noise", "\22\3\1\0\5hello\r\n\r\n", 400)

-- ---- versions and HTTP/0.9 ----
add("HTTP/0.9 simple request", "GET /\r\n\r\n", 505)
add("HTTP/0.9 with version", req("GET / HTTP/0.9"), 505)
add("HTTP/2.0", req("GET / HTTP/2.0"), 505)
add("HTTP/3.0", req("GET / HTTP/3.0"), 505)
add("HTTP/1.2", req("GET / HTTP/1.2"), 505)
add("HTTP/9.9", req("GET / HTTP/9.9"), 505)
add("HTTP/1", req("GET / HTTP/1"), 400)
add("HTTP/1.1.1", req("GET / HTTP/1.1.1"), 400)
add("HTTP/11.1", req("GET / HTTP/11.1"), 400)
add("http/1.1 lowercase", req("GET / http/1.1"), 400)
add("HTTPS/1.1", req("GET / HTTPS/1.1"), 400)
add("HTTP/a.b", req("GET / HTTP/a.b"), 400)
add("HTTP 1.1 no slash", req("GET / HTTP 1.1"), 400)
add("PRI preface (h2c)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400)
add("HTTP/1.0 request", "GET / HTTP/1.0\r\n\r\n", 200)

-- ---- Host (RFC 9112 3.2: exactly one in HTTP/1.1) ----
add("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400)
add("HTTP/1.1 absolute-form without Host", "GET http://x/ HTTP/1.1\r\n\r\n", 400)
add("two Host headers", req("GET / HTTP/1.1", {"Host: y\r\n"}), 400)
add("two Host headers, other case", req("GET / HTTP/1.1", {"hOST: x\r\n"}), 400)
add("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200)
add("HTTP/1.0 without Host", "GET / HTTP/1.0\r\nX-A: a\r\n\r\n", 200)

-- ---- oversized fields ----
add("request line over max_request_line", req("GET /" .. ("a"):rep(8200) .. " HTTP/1.1"), 414)
add("request line at the limit", req("GET /" .. ("a"):rep(8192 - 15) .. " HTTP/1.1"), 200)
add("header line over max_header_line", req("GET / HTTP/1.1", {"X-A: " .. ("v"):rep(8200) .. "\r\n"}), 431)
add("header name over max_header_line", req("GET / HTTP/1.1", {("N"):rep(8200) .. ": v\r\n"}), 431)
add("101 headers", req("GET / HTTP/1.1", (function()
  local t = {}
  for i = 1, 101 do t[i] = "X-" .. i .. ": v\r\n" end
  return t
end)()), 431)
add("head over max_header_size", req("GET / HTTP/1.1", (function()
  local t = {}
  for i = 1, 9 do t[i] = "X-" .. i .. ": " .. ("v"):rep(8000) .. "\r\n" end
  return t
end)()), 431)
add("CL over max_body", req("POST / HTTP/1.1", {"Content-Length: 10485761\r\n"}, "x"), 413)
add("CL far over max_body", req("POST / HTTP/1.1", {"Content-Length: 9223372036854775807\r\n"}, "x"), 413)
add("CRLF flood before the request line", ("\r\n"):rep(40000), 431)

-- ---- bad chunking ----
local function chunked(body)
  return req("POST / HTTP/1.1", {"Transfer-Encoding: chunked\r\n"}, body)
end
add("chunk size not hex", chunked("zz\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk size negative", chunked("-5\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk size 0x prefix", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk size with space before", chunked(" 5\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk size overflowing 64 bits", chunked("fffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk larger than max_body", chunked("a00001\r\nhello\r\n0\r\n\r\n"), 413)
add("chunk data longer than its size", chunked("3\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk without CRLF after data", chunked("5\r\nhelloX0\r\n\r\n"), 400)
add("chunk size bare LF", chunked("5\nhello\r\n0\r\n\r\n"), 400)
add("empty chunk size", chunked("\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk extension", chunked("5;name=value\r\nhello\r\n0\r\n\r\n"), 200)
add("chunk extension quoted", chunked("5;name=\"va lue\"\r\nhello\r\n0\r\n\r\n"), 200)
add("chunk extension with CR", chunked("5;a\rb\r\nhello\r\n0\r\n\r\n"), 400)
add("chunk extension with NUL", chunked("5;a\0b\r\nhello\r\n0\r\n\r\n"), 400)
add("trailer fields", chunked("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"), 200)
add("trailer with bad name", chunked("5\r\nhello\r\n0\r\nX T: 1\r\n\r\n"), 400)
add("uppercase hex size", chunked("A\r\n0123456789\r\n0\r\n\r\n"), 200)
add("leading zeros in size", chunked("0005\r\nhello\r\n0\r\n\r\n"), 200)

-- ---- target forms ----
add("absolute-form http", req("GET http://example.com/a?b=c HTTP/1.1"), 200)
add("absolute-form https", req("GET https://example.com:8443/ HTTP/1.1"), 200)
add("absolute-form without path", req("GET http://example.com HTTP/1.1"), 200)
add("absolute-form with userinfo", req("GET http://u:p@example.com/ HTTP/1.1"), 200)
add("asterisk-form OPTIONS", req("OPTIONS * HTTP/1.1"), 200)
add("authority-form CONNECT", req("CONNECT example.com:443 HTTP/1.1"), 200)
add("CONNECT with a body after", req("CONNECT example.com:443 HTTP/1.1") .. "\22\3\1", 200)
add("double slash target", req("GET //a//b HTTP/1.1"), 200)
add("dot segments", req("GET /a/../../etc/passwd HTTP/1.1"), 200)
add("percent-encoded slash", req("GET /a%2fb HTTP/1.1"), 200)
add("bad percent escape", req("GET /a%zz HTTP/1.1"), 200)
add("fragment in target", req("GET /a#frag HTTP/1.1"), 200)

return cases
