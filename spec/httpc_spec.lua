-- eventlet.httpc against Debian's nginx on loopback: every verb, query
-- encoding, WebDAV uploads (fixed and chunked), gzip and chunked
-- responses, each kind of redirect, keep-alive reuse, TLS verification,
-- and the 2007 API.
local eventlet = require "eventlet"
local httpc = require "eventlet.httpc"
local support = require "httpc_support"

-- Decode a gzip body with the core's inflater.
local function core_inflate(s)
  local inf <close> = eventlet.core.inflater()
  return inf:inflate(s)
end

local LOCATIONS = [[
    gzip on;
    gzip_types text/plain;
    gzip_min_length 1;
    location /echo { return 200 "$request_method $request_uri"; }
    location /conn { return 200 "$connection $connection_requests"; }
    location /tls { return 200 "$ssl_client_verify"; }
    location /sni { return 200 "$ssl_server_name"; }
    location /dav/ { dav_methods PUT DELETE; create_full_put_path on; }
    location = /r301 { return 301 /echo?from=301; }
    location = /r302 { return 302 /echo?from=302; }
    location = /r303 { return 303 /echo?from=303; }
    location = /r307 { return 307 /dav/from307; }
    location = /r308 { return 308 /dav/from308; }
    location = /loop { return 302 /loop; }
    location /chain/ { return 302 $uri/x; }
    location = /missing { return 404 "no such thing"; }
    location = /boom { return 500 "server fell over"; }
]]

describe("httpc against nginx", function()
  local nginx, client

  setup(function()
    nginx = support.nginx(LOCATIONS)
    support.write(nginx.dir .. "/www/big.txt", ("all work and no play\n"):rep(5000))
  end)

  teardown(function()
    if nginx then nginx.close() end
  end)

  before_each(function()
    client = httpc.client({timeout = 10})
  end)

  after_each(function()
    client:close()
    httpc.default:close()
  end)

  it("sends every verb", function()
    for _, method in ipairs({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) do
      local resp = assert(client:request(method, nginx.url("/echo")))
      assert.same({200, method .. " /echo"}, {resp.status, resp.body})
    end
    local resp = assert(client:head(nginx.url("/echo")))
    assert.same({200, ""}, {resp.status, resp.body})
    assert.equal("text/plain", resp.headers["Content-Type"])
  end)

  it("encodes query tables", function()
    local resp = assert(client:get(nginx.url("/echo?x=1"),
      {query = {q = "a b&c", list = {1, 2}, ["é"] = "ü/"}}))
    assert.equal("GET /echo?x=1&list=1&list=2&q=a%20b%26c&%C3%A9=%C3%BC%2F", resp.body)
  end)

  it("uploads with a length and chunked, and deletes (WebDAV)", function()
    local resp = assert(client:put(nginx.url("/dav/fixed.txt"), {body = "fixed body"}))
    assert.equal(201, resp.status)
    assert.equal("fixed body", assert(client:get(nginx.url("/dav/fixed.txt"))).body)
    local pieces = {"chunk one, ", "chunk two, ", ("x"):rep(100000)}
    local i = 0
    resp = assert(client:put(nginx.url("/dav/chunked.txt"),
      {body = function() i = i + 1 return pieces[i] end}))
    assert.equal(201, resp.status)
    assert.equal(table.concat(pieces), assert(client:get(nginx.url("/dav/chunked.txt"))).body)
    assert.equal(204, assert(client:delete(nginx.url("/dav/chunked.txt"))).status)
    assert.equal(404, assert(client:get(nginx.url("/dav/chunked.txt"))).status)
  end)

  it("decodes gzip (chunked by nginx) when asked, and leaves it alone otherwise", function()
    local expected = ("all work and no play\n"):rep(5000)
    local resp = assert(client:get(nginx.url("/big.txt"), {gzip = true}))
    assert.equal("chunked", resp.headers["transfer-encoding"])
    assert.is_nil(resp.headers["content-encoding"])
    assert.equal(expected, resp.body)
    resp = assert(client:get(nginx.url("/big.txt")))
    assert.same({tostring(#expected), expected}, {resp.headers["content-length"], resp.body})
    resp = assert(client:get(nginx.url("/big.txt"), {headers = {["Accept-Encoding"] = "gzip"}}))
    assert.equal("gzip", resp.headers["content-encoding"])
    assert.equal(expected, assert(core_inflate(resp.body)))
  end)

  it("streams a body with read(n) and lines()", function()
    local resp = assert(client:get(nginx.url("/big.txt"), {stream = true, gzip = true}))
    assert.is_nil(resp.body)
    assert.equal("all work", resp:read(8))
    assert.equal(" and no play", resp:lines()())
    local n = 1
    for line in resp:lines() do
      assert.equal("all work and no play", line)
      n = n + 1
    end
    assert.equal(5000, n)
    assert.is_nil(resp:read(10))
  end)

  it("reuses one keep-alive connection for sequential requests", function()
    local first = assert(client:get(nginx.url("/conn"))).body
    local conn = first:match("^(%d+) 1$")
    assert.is_not_nil(conn)
    for n = 2, 5 do
      assert.equal(conn .. " " .. n, assert(client:get(nginx.url("/conn"))).body)
    end
  end)

  it("follows 301/302/303 to GET, and 307/308 keeping method and body", function()
    for _, code in ipairs({301, 302, 303}) do
      local resp = assert(client:get(nginx.url("/r" .. code)))
      assert.same({200, "GET /echo?from=" .. code}, {resp.status, resp.body})
      assert.equal(nginx.url("/echo?from=" .. code), resp.url)
      resp = assert(client:post(nginx.url("/r" .. code), {body = "x", follow_redirects = true}))
      assert.equal("GET /echo?from=" .. code, resp.body)
    end
    for _, code in ipairs({307, 308}) do
      local resp = assert(client:put(nginx.url("/r" .. code), {body = "kept " .. code,
                                                                follow_redirects = true}))
      assert.equal(201, resp.status)
      assert.equal("kept " .. code, assert(client:get(nginx.url("/dav/from" .. code))).body)
    end
  end)

  it("does not follow POST redirects unless asked", function()
    local resp = assert(client:post(nginx.url("/r302"), {body = "x"}))
    assert.same({302, "/echo?from=302"}, {resp.status, resp.headers.location:match("/echo.*$")})
    resp = assert(client:get(nginx.url("/r302"), {follow_redirects = false}))
    assert.equal(302, resp.status)
  end)

  it("reports redirect loops and chains past the limit", function()
    assert.same({nil, "redirect loop"}, {client:get(nginx.url("/loop"))})
    assert.same({nil, "too many redirects"}, {client:get(nginx.url("/chain/a"))})
    assert.same({nil, "too many redirects"}, {client:get(nginx.url("/r301"), {max_redirects = 0})})
    local resp = assert(client:get(nginx.url("/r301"), {max_redirects = 1}))
    assert.equal("GET /echo?from=301", resp.body)
  end)

  it("verifies TLS against the CA it is given", function()
    local tls = {cafile = nginx.certs.ca}
    local resp = assert(client:get(nginx.tls_url("/echo"), {tls = tls}))
    assert.same({200, "GET /echo"}, {resp.status, resp.body})
    -- no CA: the system store does not know the spec's CA
    local ok, err = client:get(nginx.tls_url("/echo"))
    assert.is_nil(ok)
    assert.matches("certificate", err)
    -- the certificate names localhost, not 127.0.0.1
    ok, err = client:get(nginx.tls_url("/echo", "127.0.0.1"), {tls = tls})
    assert.is_nil(ok)
    assert.matches("certificate", err)
    resp = assert(client:get(nginx.tls_url("/echo", "127.0.0.1"), {tls = {verify = false}}))
    assert.equal(200, resp.status)
    -- SNI carries the URL's host name, or tls.server_name when given
    assert.equal("localhost", assert(client:get(nginx.tls_url("/sni"), {tls = tls})).body)
    resp = assert(client:get(nginx.tls_url("/sni", "127.0.0.1"),
      {tls = {cafile = nginx.certs.ca, server_name = "localhost"}}))
    assert.equal("localhost", resp.body)
  end)

  it("presents a client certificate", function()
    local resp = assert(client:get(nginx.tls_url("/tls"), {tls = {cafile = nginx.certs.ca}}))
    assert.equal("NONE", resp.body)
    resp = assert(client:get(nginx.tls_url("/tls"), {tls = {cafile = nginx.certs.ca,
      certfile = nginx.certs.client_cert, keyfile = nginx.certs.client_key}}))
    assert.equal("SUCCESS", resp.body)
  end)

  it("keeps a configured client's base URL and default headers", function()
    local api = httpc.client({base_url = nginx.url("/dav/"), headers = {["X-Spec"] = "1"}})
    assert.equal(201, assert(api:put("base.txt", {body = "via base"})).status)
    assert.equal("via base", assert(api:get("base.txt")).body)
    assert.equal("GET /echo", assert(api:get("/echo")).body)
    api:close()
  end)

  describe("2007 API", function()
    it("returns bodies and raises status-specific errors", function()
      assert.equal("GET /echo", httpc.get(nginx.url("/echo")))
      local status, headers, body = httpc.get_(nginx.url("/echo"))
      assert.same({200, "text/plain", "GET /echo"}, {status, headers["content-type"], body})
      local ok, e = pcall(httpc.get, nginx.url("/missing"))
      assert.is_false(ok)
      assert.same({"NotFound", 404, "no such thing"}, {e.type, e.status, e.body})
      assert.is_true(httpc.NotFound.is(e))
      assert.is_true(httpc.is_error(e, "ConnectionError"))
      ok, e = pcall(httpc.post, nginx.url("/boom"), "data")
      assert.same({false, "InternalServerError"}, {ok, e.type})
      assert.equal("GET /echo?from=301", httpc.get(nginx.url("/r301")))
    end)

    it("raises MovedPermanently with max_retries = 0, and retry() follows it", function()
      local ok, e = pcall(httpc.get, nginx.url("/r301"), {max_retries = 0})
      assert.is_false(ok)
      assert.equal("MovedPermanently", e.type)
      assert.matches("/echo%?from=301$", e:location())
      assert.equal("GET /echo?from=301", e:retry())
      ok, e = pcall(httpc.post, nginx.url("/r303"), "data")
      assert.same({false, "SeeOther"}, {ok, e.type})
      assert.equal("GET /echo?from=303", e:retry())
    end)

    it("makes suites that swizzle content with a dumper and a loader", function()
      local csv = httpc.make_suite(function(list) return table.concat(list, ",") end,
        function(body)
          if body == "" then return nil end
          local list = {}
          for item in body:gmatch("[^,]+") do list[#list + 1] = item end
          return list
        end, "text/csv")
      assert.is_nil(csv.put(nginx.url("/dav/list.csv"), {"a", "b", "c"}))
      assert.same({"a", "b", "c"}, csv.get(nginx.url("/dav/list.csv")))
      local status, _, list = csv.get_(nginx.url("/dav/list.csv"))
      assert.same({200, {"a", "b", "c"}}, {status, list})
      local ok, e = pcall(csv.get, nginx.url("/dav/absent.csv"))
      assert.same({false, "NotFound"}, {ok, e.type})
    end)

    it("accepts the statuses listed in ok", function()
      assert.equal("no such thing", httpc.get(nginx.url("/missing"), {ok = {404}}))
    end)

    it("raises ConnectionError when there is no server", function()
      local port = support.free_port()
      local ok, e = pcall(httpc.get, "http://127.0.0.1:" .. port .. "/")
      assert.is_false(ok)
      assert.same({"ConnectionError", "connection refused"}, {e.type, e.message})
    end)
  end)
end)
