-- eventlet.jsonhttp round trips: Lua values stored as JSON on nginx
-- (WebDAV) and read back, and a server of our own that checks the JSON
-- headers, answers empty bodies and malformed JSON.
local jsonhttp = require "eventlet.jsonhttp"
local httpc = require "eventlet.httpc"
local support = require "httpc_support"

describe("jsonhttp", function()
  after_each(function() httpc.default:close() end)

  it("stores and loads Lua values through nginx", function()
    local nginx <close> = support.nginx("location /dav/ { dav_methods PUT DELETE; create_full_put_path on; }")
    local value = {name = "eventlet", list = {1, 2, 3}, nested = {ok = true, pi = 3.5}}
    local stored = jsonhttp.put(nginx.url("/dav/v.json"), value)
    assert.is_nil(stored)   -- 201 with an empty body
    assert.same(value, jsonhttp.get(nginx.url("/dav/v.json")))
    local status, headers, got = jsonhttp.get_(nginx.url("/dav/v.json"))
    assert.same({200, value}, {status, got})
    assert.is_string(headers["content-length"])
    jsonhttp.delete(nginx.url("/dav/v.json"))
    local ok, e = pcall(jsonhttp.get, nginx.url("/dav/v.json"))
    assert.same({false, "NotFound"}, {ok, e.type})
  end)

  it("sends JSON headers, echoes values, handles empty and malformed bodies", function()
    local srv <close> = support.http_server(function(req)
      if req.target == "/empty" then return 204, {}, "" end
      if req.target == "/bad" then return 200, {["Content-Type"] = "application/json"}, "{oops" end
      local body = string.format('{"method":"%s","accept":"%s","type":"%s","body":%s}',
        req.method, req.headers.accept or "", req.headers["content-type"] or "",
        req.body and req.body ~= "" and req.body or "null")
      return 200, {["Content-Type"] = "application/json"}, body
    end)
    local got = jsonhttp.post(srv.url("/echo"), {a = 1, b = {"x", "y"}})
    assert.same({method = "POST", accept = "application/json", type = "application/json",
                 body = {a = 1, b = {"x", "y"}}}, got)
    got = jsonhttp.get(srv.url("/echo"))
    assert.same({"GET", jsonhttp.null}, {got.method, got.body})
    assert.is_nil(jsonhttp.get(srv.url("/empty"), {ok = {204}}))
    local ok, e = pcall(jsonhttp.get, srv.url("/bad"))
    assert.is_false(ok)
    assert.same({"UnparseableResponse", "{oops"}, {e.type, e.body})
    assert.matches("UnparseableResponse", tostring(e))
  end)

  it("loads the empty body as nil", function()
    assert.is_nil(jsonhttp.safe_load(""))
    assert.is_nil(jsonhttp.safe_load("  \n"))
    assert.same({1}, jsonhttp.safe_load("[1]"))
  end)
end)

describe("jsonhttp numbers", function()
  it("come back as integers when integral, floats otherwise", function()
    local t = jsonhttp.safe_load('{"id": 12, "list": [1, 2.5, {"n": -3}], "big": 1e3}')
    assert.equal("integer", math.type(t.id))
    assert.equal("integer", math.type(t.list[1]))
    assert.equal(2.5, t.list[2])
    assert.equal("integer", math.type(t.list[3].n))
    assert.equal("integer", math.type(t.big))
    assert.equal("integer", math.type(jsonhttp.safe_load("7")))
  end)
end)
