-- eventlet.httpc against eventlet.httpd (this project's server) on
-- loopback: bodies echoed both ways (fixed and chunked), streamed
-- responses, query decoding on the other side, keep-alive reuse and the
-- JSON suite.
local eventlet = require "eventlet"
local httpd = require "eventlet.httpd"
local httpc = require "eventlet.httpc"
local jsonhttp = require "eventlet.jsonhttp"

-- Start an httpd on a free loopback port; closing the result stops it.
local function server(handler)
  local srv = assert(httpd.server("127.0.0.1:0", handler, {log = false}))
  srv:start()
  local _, port = srv:address()
  return setmetatable({url = function(path) return "http://127.0.0.1:" .. port .. path end},
                      {__close = function() srv:stop({grace = 1}) end})
end

-- Echo what arrived: method, path, query args, whether the upload was
-- chunked, and the body; /stream answers in chunks.
local function echo(req, res)
  if req.path == "/stream" then
    for i = 1, 5 do
      res:write("piece " .. i .. "\n")
      eventlet.sleep(0)
    end
    res:finish()
    return
  end
  local args = req:args()
  local body = req:read_body()
  local chunked = req.headers["transfer-encoding"] and "chunked" or "fixed"
  return 200, {["Content-Type"] = req.headers["content-type"] or "text/plain"},
    req.method .. " " .. req.path .. " q=" .. tostring(args.q) .. " " .. chunked .. " " .. body
end

describe("httpc against eventlet.httpd", function()
  it("sends bodies of fixed length and chunked, and every verb", function()
    local srv <close> = server(echo)
    local client <close> = httpc.client()
    local resp = assert(client:post(srv.url("/p"), {body = "fixed", query = {q = "a b&c"}}))
    assert.equal("POST /p q=a b&c fixed fixed", resp.body)
    local parts = {"one ", "two ", ("z"):rep(70000)}
    local i = 0
    resp = assert(client:put(srv.url("/c"), {body = function() i = i + 1 return parts[i] end}))
    assert.equal("PUT /c q=nil chunked " .. table.concat(parts), resp.body)
    for _, method in ipairs({"GET", "DELETE", "PATCH", "OPTIONS"}) do
      assert.equal(method .. " /v q=nil fixed ", assert(client:request(method, srv.url("/v"))).body)
    end
  end)

  it("reads a chunked, streamed answer line by line and reuses the connection", function()
    local srv <close> = server(echo)
    local client <close> = httpc.client()
    local resp = assert(client:get(srv.url("/stream"), {stream = true}))
    assert.equal("chunked", resp.headers["transfer-encoding"])
    local lines = {}
    for line in resp:lines() do lines[#lines + 1] = line end
    assert.same({"piece 1", "piece 2", "piece 3", "piece 4", "piece 5"}, lines)
    local origin = "http://127.0.0.1:" .. srv.url(""):match(":(%d+)$")
    assert.same({1, 1}, {client.pool:count(origin)})
    assert.equal("GET /x q=nil fixed ", assert(client:get(srv.url("/x"))).body)
    assert.same({1, 1}, {client.pool:count(origin)})
  end)

  it("drops a connection whose streamed body was abandoned", function()
    local srv <close> = server(echo)
    local client <close> = httpc.client()
    local resp = assert(client:get(srv.url("/stream"), {stream = true}))
    assert.equal("piece 1\n", resp:read(8))
    resp:close()
    local origin = "http://127.0.0.1:" .. srv.url(""):match(":(%d+)$")
    assert.same({0, 0}, {client.pool:count(origin)})
    assert.equal("GET /y q=nil fixed ", assert(client:get(srv.url("/y"))).body)
  end)

  it("round-trips JSON through the suite", function()
    local srv <close> = server(function(req)
      local value = jsonhttp.safe_load(req:read_body())
      return 200, {["Content-Type"] = "application/json"},
        jsonhttp.dump({method = req.method, got = value or jsonhttp.null,
                       accept = req.headers.accept})
    end)
    local got = jsonhttp.put(srv.url("/j"), {list = {1, 2, 3}, name = "x"})
    assert.same({method = "PUT", got = {list = {1, 2, 3}, name = "x"}, accept = "application/json"}, got)
    local status, _, value = jsonhttp.delete_(srv.url("/j"))
    assert.same({200, "DELETE", jsonhttp.null}, {status, value.method, value.got})
    httpc.default:close()
  end)
end)
