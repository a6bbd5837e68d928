-- The socket-free parts of eventlet.httpc: URLs and query encoding, the
-- redirect policy, proxy selection, the pool policy, gzip inflate, the
-- request head writer and the 2007 error objects.
local core = require "eventlet.core"
local url = require "eventlet.httpc.url"
local headers = require "eventlet.httpc.headers"
local redirect = require "eventlet.httpc.redirect"
local proxy = require "eventlet.httpc.proxy"
local pool = require "eventlet.httpc.pool"
local wire = require "eventlet.httpc.wire"
local errors = require "eventlet.httpc.errors"

describe("httpc.url", function()
  it("parses scheme, host, port, path, query and user info", function()
    local u = assert(url.parse("HTTPS://User:p%40ss@Example.COM:8443/a/b?x=1&y=2#frag"))
    assert.same({"https", "example.com", 8443, "/a/b", "x=1&y=2", "frag", "User", "p@ss"},
      {u.scheme, u.host, u.port, u.path, u.query, u.fragment, u.user, u.password})
    u = assert(url.parse("http://h"))
    assert.same({80, "/"}, {u.port, u.path})
    u = assert(url.parse("http://[::1]:99/x"))
    assert.same({"::1", 99}, {u.host, u.port})
    assert.equal("[::1]:99", url.host_header(u))
    assert.equal("h", url.host_header(url.parse("http://h:80/")))
    assert.equal("h:81", url.host_header(url.parse("http://h:81/")))
  end)

  it("rejects what is not an http(s) URL", function()
    assert.same({nil, "unsupported scheme: ftp"}, {url.parse("ftp://h/")})
    assert.is_nil((url.parse("/relative")))
    assert.is_nil((url.parse("http:///nohost")))
    assert.is_nil((url.parse("http://h:70000/")))
  end)

  it("percent-encodes outside the unreserved set and decodes back", function()
    assert.equal("a%20b%2Fc~d.e_f-g%26%3D%C3%A9", url.encode("a b/c~d.e_f-g&=é"))
    assert.equal("a b/c&=é", url.decode("a%20b%2Fc%26%3D%C3%A9"))
    assert.equal("a b", url.decode("a+b", true))
  end)

  it("builds query strings from tables in a stable order", function()
    assert.equal("a=1&b=x%20y&flag&k=1&k=2",
      url.encode_query({b = "x y", a = 1, k = {1, 2}, flag = true, off = false}))
    assert.equal("z=1&a=2", url.encode_query({{"z", 1}, {"a", 2}}))
    assert.same({a = "1", b = "x y", k = {"1", "2"}}, url.decode_query("a=1&b=x+y&k=1&k=2"))
    assert.equal("http://h/p?x=1&q=a%26b#f", url.with_query("http://h/p?x=1#f", {q = "a&b"}))
    assert.equal(url.parse_cached("http://h/c"), url.parse_cached("http://h/c"))
  end)

  it("resolves redirect locations against the request URL", function()
    local base = url.parse("http://h:8080/a/b/c?q=1")
    assert.equal("https://o/x", url.resolve(base, "https://o/x"))
    assert.equal("http://o/x", url.resolve(base, "//o/x"))
    assert.equal("http://h:8080/x?y", url.resolve(base, "/x?y"))
    assert.equal("http://h:8080/a/b/d", url.resolve(base, "d"))
    assert.equal("http://h:8080/a/d", url.resolve(base, "../d"))
    assert.equal("http://h:8080/a/b/", url.resolve(base, "./"))
    assert.equal("http://h:8080/a/b/c?z", url.resolve(base, "?z"))
  end)
end)

describe("httpc.headers", function()
  it("looks names up case-insensitively and keeps the spelling", function()
    local h = headers.new({["Content-Type"] = "text/plain"})
    assert.equal("text/plain", h["content-type"])
    h["X-Thing"] = "1"
    local seen = {}
    for name, value in pairs(h) do seen[name] = value end
    assert.same({["Content-Type"] = "text/plain", ["X-Thing"] = "1"}, seen)
    h["x-thing"] = nil
    assert.is_nil(h["X-Thing"])
  end)

  it("finds tokens and encodes Basic credentials", function()
    assert.is_true(headers.has_token("Keep-Alive, Close", "close"))
    assert.equal("Basic dXNlcjpwYXNz", headers.basic("user", "pass"))
    assert.equal("YQ==", headers.base64("a"))
    assert.equal("YWI=", headers.base64("ab"))
  end)
end)

describe("httpc.redirect", function()
  local function req(method, u, body, h)
    return {method = method, url = u, u = url.parse(u), body = body,
            headers = headers.new(h or {})}
  end

  it("follows GET and HEAD by default, others only when asked", function()
    assert.is_true(redirect.enabled("GET"))
    assert.is_true(redirect.enabled("HEAD"))
    assert.is_false(redirect.enabled("POST"))
    assert.is_true(redirect.enabled("POST", true))
    assert.is_false(redirect.enabled("GET", false))
    for _, s in ipairs({301, 302, 303, 307, 308}) do assert.is_true(redirect.is_redirect(s)) end
    assert.is_false(redirect.is_redirect(304))
  end)

  it("turns 303 into GET and 301/302 POST into GET, dropping the body", function()
    for _, status in ipairs({301, 302, 303}) do
      local nxt = redirect.next(redirect.state(), req("POST", "http://h/a", "data",
        {["Content-Type"] = "text/plain", ["X-Keep"] = "1"}), status, "/b")
      assert.same({"GET", "http://h/b", nil, nil, "1"},
        {nxt.method, nxt.url, nxt.body, nxt.headers["content-type"], nxt.headers["x-keep"]})
    end
    local nxt = redirect.next(redirect.state(), req("PUT", "http://h/a", "data"), 302, "/b")
    assert.same({"PUT", "data"}, {nxt.method, nxt.body})
    nxt = redirect.next(redirect.state(), req("HEAD", "http://h/a"), 303, "/b")
    assert.equal("HEAD", nxt.method)
  end)

  it("keeps method and body on 307 and 308", function()
    for _, status in ipairs({307, 308}) do
      local nxt = redirect.next(redirect.state(), req("POST", "http://h/a", "data",
        {["Content-Type"] = "text/plain"}), status, "http://h/b")
      assert.same({"POST", "data", "text/plain"}, {nxt.method, nxt.body, nxt.headers["content-type"]})
    end
    assert.same({nil, "body not replayable"}, {redirect.next(redirect.state(),
      req("POST", "http://h/a", function() end), 307, "/b")})
  end)

  it("strips credentials across origins and keeps them on the same origin", function()
    local creds = {Authorization = "Basic x", Cookie = "c=1", ["Proxy-Authorization"] = "p",
                   Host = "h", ["X-Other"] = "o"}
    local same = redirect.next(redirect.state(), req("GET", "http://h/a", nil, creds), 302, "/b")
    assert.same({"Basic x", "c=1", "p"},
      {same.headers.authorization, same.headers.cookie, same.headers["proxy-authorization"]})
    for _, target in ipairs({"http://other/b", "https://h/b", "http://h:81/b"}) do
      local other = redirect.next(redirect.state(), req("GET", "http://h/a", nil, creds), 302, target)
      assert.same({nil, nil, nil, nil, "o"},
        {other.headers.authorization, other.headers.cookie, other.headers["proxy-authorization"],
         other.headers.host, other.headers["x-other"]})
    end
  end)

  it("stops after the hop limit and on loops", function()
    local state = redirect.state(2)
    local r = req("GET", "http://h/0")
    redirect.visit(state, "GET", r.url)
    r = assert(redirect.next(state, r, 302, "/1"))
    r = assert(redirect.next(state, r, 302, "/2"))
    assert.same({nil, "too many redirects"}, {redirect.next(state, r, 302, "/3")})
    state = redirect.state()
    r = req("GET", "http://h/0")
    redirect.visit(state, "GET", r.url)
    r = assert(redirect.next(state, r, 302, "/1"))
    assert.same({nil, "redirect loop"}, {redirect.next(state, r, 302, "/0")})
    assert.same({nil, "no location"}, {redirect.next(redirect.state(), r, 302, nil)})
  end)
end)

describe("httpc.proxy", function()
  local function env(vars) return function(name) return vars[name] end end

  it("reads http_proxy (lower case only), https_proxy and all_proxy", function()
    local vars = env({http_proxy = "proxy:3128", HTTPS_PROXY = "http://u:p@sp:8080",
                      HTTP_PROXY = "http://evil:1"})
    local p = assert(proxy.select(url.parse("http://h/"), nil, vars))
    assert.same({"proxy", 3128}, {p.host, p.port})
    p = assert(proxy.select(url.parse("https://h/"), nil, vars))
    assert.same({"sp", 8080, "u", "p"}, {p.host, p.port, p.user, p.password})
    assert.is_nil(proxy.select(url.parse("http://h/"), nil, env({HTTP_PROXY = "http://evil:1"})))
    p = assert(proxy.select(url.parse("http://h/"), nil, env({ALL_PROXY = "a:1"})))
    assert.equal("a", p.host)
  end)

  it("honours no_proxy suffixes, ports and *", function()
    local np = "localhost, .example.com,internal.net:8080,127.0.0.1"
    assert.is_true(proxy.bypass(np, "localhost", 80))
    assert.is_true(proxy.bypass(np, "example.com", 80))
    assert.is_true(proxy.bypass(np, "a.b.EXAMPLE.com", 443))
    assert.is_false(proxy.bypass(np, "notexample.com", 80))
    assert.is_true(proxy.bypass(np, "internal.net", 8080))
    assert.is_false(proxy.bypass(np, "internal.net", 80))
    assert.is_true(proxy.bypass(np, "127.0.0.1", 9))
    assert.is_true(proxy.bypass("*", "anything", 1))
    assert.is_false(proxy.bypass("", "h", 1))
    local vars = env({http_proxy = "p:1", no_proxy = np})
    assert.is_nil(proxy.select(url.parse("http://www.example.com/"), nil, vars))
    assert.is_not_nil(proxy.select(url.parse("http://www.example.org/"), nil, vars))
  end)

  it("lets opts.proxy override the environment", function()
    local vars = env({http_proxy = "p:1"})
    assert.is_nil(proxy.select(url.parse("http://h/"), false, vars))
    assert.equal("q", proxy.select(url.parse("http://h/"), "http://q:2", vars).host)
    assert.is_nil(proxy.select(url.parse("http://h/"), {https = "s:3"}, vars))
    assert.is_nil(proxy.select(url.parse("http://h/"), {http = "s:3", no_proxy = "h"}, vars))
    assert.same({nil, "unsupported proxy scheme: https"},
      {proxy.select(url.parse("http://h/"), "https://q:2")})
  end)
end)

describe("httpc.pool", function()
  local function conn(name)
    return {name = name, closed = false, close = function(self) self.closed = true end}
  end

  it("reuses idle connections newest first and limits live ones per origin", function()
    local p = pool.new({size = 2})
    assert.is_false(p:acquire("o"))
    assert.is_false(p:acquire("o"))
    assert.same({nil, "timeout"}, {p:acquire("o", 0.01)})
    assert.is_false(p:acquire("other"))
    local a, b = conn("a"), conn("b")
    p:release("o", a)
    p:release("o", b)
    assert.same({2, 2}, {p:count("o")})
    local got = p:acquire("o")
    assert.same({"b", true}, {got.name, got.reused})
    p:discard("o", got)
    assert.is_true(b.closed)
    assert.same({1, 1}, {p:count("o")})
    p:close()
    assert.is_true(a.closed)
    assert.same({0, 0}, {p:count("o")})
  end)

  it("hands connections and freed slots to waiters in FIFO order", function()
    local p = pool.new({size = 1})
    assert.is_false(p:acquire("o"))
    local order = {}
    local t1 = core.spawn(function() local c = p:acquire("o"); order[#order + 1] = {1, c} end)
    local t2 = core.spawn(function() local c = p:acquire("o"); order[#order + 1] = {2, c} end)
    core.sleep(0.01)
    local a = conn("a")
    p:release("o", a)
    p:discard("o", nil)
    t1:wait()
    t2:wait()
    assert.same({1, a}, order[1])
    assert.same({2, false}, order[2])
    assert.is_true(a.reused)
  end)

  it("closes connections idle past the idle timeout", function()
    local p = pool.new({size = 2, idle_timeout = 0.02})
    assert.is_false(p:acquire("o"))
    local a = conn("a")
    p:release("o", a)
    core.sleep(0.05)
    assert.is_false(p:acquire("o"))
    assert.is_true(a.closed)
    assert.same({0, 1}, {p:count("o")})
  end)

  it("retries only idempotent, replayable requests on reused connections", function()
    assert.is_true(pool.retryable("GET", nil, true, false))
    assert.is_true(pool.retryable("PUT", "x", true, false))
    assert.is_false(pool.retryable("POST", "x", true, false))
    assert.is_false(pool.retryable("GET", nil, false, false))
    assert.is_false(pool.retryable("GET", nil, true, true))
    assert.is_false(pool.retryable("PUT", function() end, true, false))
  end)
end)

describe("httpc.wire", function()
  it("writes request heads with the body's framing", function()
    local block = wire.block(headers.new({Host = "h"}))
    assert.equal("Host: h\r\n", block)
    assert.equal("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
      wire.head("POST", "/p", block, "abc"))
    assert.equal("PUT /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      wire.head("PUT", "/p", block, function() end))
    assert.equal("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", wire.head("POST", "/p", block))
    assert.equal("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", wire.head("GET", "/p", block))
    assert.equal("POST /p HTTP/1.1\r\nHost: h\r\n\r\n", wire.head("POST", "/p", block, "abc", true))
    assert.is_true(wire.framed(headers.new({["Content-Length"] = "3"})))
    assert.is_false(wire.framed(headers.new({Host = "h"})))
    assert.equal("A: 1\r\nA: 2\r\n", wire.block(headers.new({A = {1, 2}})))
    assert.has_error(function() wire.block(headers.new({X = "a\r\nInjected: 1"})) end)
  end)
end)

describe("core.inflater", function()
  -- Compress s with gzip(1).
  local function gzip(s)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
    local p = assert(io.popen("gzip -c " .. path, "r"))
    local out = p:read("a")
    p:close()
    os.remove(path)
    return out
  end

  it("inflates gzip fed in small pieces and knows when the stream ended", function()
    local text = ("hello gzip %d\n"):rep(1):gsub("%%d", "") .. ("0123456789"):rep(5000)
    local z = gzip(text)
    local inf = core.inflater()
    local out = {}
    for i = 1, #z, 13 do out[#out + 1] = assert(inf:inflate(z:sub(i, i + 12))) end
    assert.equal(text, table.concat(out))
    assert.is_true(inf:done())
    assert.matches("eventlet.inflater", tostring(inf))
  end)

  it("decodes concatenated members and reports a truncated stream", function()
    local z = gzip("one ") .. gzip("two")
    local inf <close> = core.inflater()
    assert.equal("one two", inf:inflate(z))
    local cut = core.inflater()
    local whole = gzip(("x"):rep(1000))
    assert.equal("string", type(cut:inflate(whole:sub(1, #whole - 8))))
    assert.is_false(cut:done())
    cut:close()
  end)

  it("returns nil, err on corrupt data", function()
    local ok, err = core.inflater():inflate("\31\139\8\0garbage-garbage-garbage")
    assert.is_nil(ok)
    assert.matches("^gzip: ", err)
  end)
end)

describe("httpc.errors", function()
  it("names errors for their status and renders them", function()
    local e = errors.for_status({method = "GET", url = "http://h/x", status = 404,
                                 reason = "Not Found", body = "nope"})
    assert.equal("NotFound", e.type)
    assert.is_true(errors.is(e, "NotFound"))
    assert.is_true(errors.is(e, "ConnectionError"))
    assert.is_false(errors.is(e, "Gone"))
    assert.is_true(errors.classes.NotFound.is(e))
    assert.equal("NotFound: GET http://h/x -> 404 Not Found\nnope", tostring(e))
    assert.has_error(function() e:retry() end, "NotFound is not retriable")
    local r = errors.for_status({method = "GET", url = "u", status = 301,
                                 headers = headers.new({Location = "/n"})}, function() return "again" end)
    assert.equal("MovedPermanently", r.type)
    assert.equal("/n", r:location())
    assert.equal("again", r:retry())
    assert.equal("ConnectionError", errors.for_status({method = "GET", url = "u", status = 599}).type)
    assert.equal("ConnectionError: GET u: timeout", tostring(errors.connection("GET", "u", "timeout")))
  end)
end)

describe("httpc refuses to smuggle anything into a request", function()
  local httpc = require "eventlet.httpc"

  it("rejects spaces and control bytes in URLs", function()
    for _, bad in ipairs({"http://h/a b", "http://h/a\r\nX: y", "http://h/?q=\n", "http://h/\0"}) do
      local u, err = url.parse(bad)
      assert.is_nil(u)
      assert.matches("space or control character", err)
    end
    local resp, err = httpc.request("GET", "http://127.0.0.1:9/a b\r\nX: y")
    assert.is_nil(resp)
    assert.matches("invalid url", err)
  end)

  it("rejects methods that are not tokens", function()
    assert.has_error(function() httpc.request("G ET", "http://127.0.0.1:9/") end,
                     "request: invalid method G ET")
    assert.has_error(function() httpc.request("GET\r\n", "http://127.0.0.1:9/") end)
  end)

  it("rejects header names that are not tokens", function()
    assert.has_error(function() wire.block({["X\r\nY"] = "a"}) end)
    assert.has_error(function() wire.block({["X Y"] = "a"}) end)
    assert.equal("X-Ok: 1\r\n", wire.block({["X-Ok"] = "1"}))
  end)
end)

describe("httpc TLS options", function()
  local transport = require "eventlet.httpc.transport"

  it("take eventlet.tls's names as well as httpc's older ones", function()
    assert.same({cert = "c.pem", key = "k.pem", hostname = "h", cafile = "ca.pem"},
      transport.tls_options({certfile = "c.pem", keyfile = "k.pem", server_name = "h",
                             cafile = "ca.pem", verify = true}))
    assert.same({cert = "c.pem", ca_pem = "PEM", alpn = {"http/1.1"}, min_version = "tls1.3"},
      transport.tls_options({cert = "c.pem", ca_pem = "PEM", alpn = {"http/1.1"}, min_version = "tls1.3"}))
  end)

  it("keep connections with different TLS settings in different pools", function()
    local u = url.parse("https://example.test/")
    local a = transport.key(u, nil, {cert = "a.pem"})
    assert.equal(a, transport.key(u, nil, {certfile = "a.pem"}))
    assert.not_equal(a, transport.key(u, nil, {cert = "b.pem"}))
    assert.not_equal(transport.key(u, nil, {ca_pem = "X"}), transport.key(u, nil, {ca_pem = "Y"}))
    assert.not_equal(transport.key(u, nil, {verify = false}), transport.key(u, nil, {}))
  end)
end)
