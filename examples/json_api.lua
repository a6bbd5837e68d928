--- json_api.lua: a small JSON API on eventlet.httpd (an in-memory store).
--
--   eventlet-lua examples/json_api.lua [addr]
--   curl -s localhost:8080/items
--   curl -s -X POST -d '{"name":"tea"}' localhost:8080/items
--   curl -s localhost:8080/items/1
--   curl -s -X DELETE localhost:8080/items/1
--
-- Bodies are read with req:read_body() (bounded by max_body), answers are
-- returned as status, headers, body.
local httpd = require "eventlet.httpd"
local cjson = require "cjson.safe"

local addr = arg and arg[1] or "127.0.0.1:8080"
local JSON = {["Content-Type"] = "application/json"}

local items, next_id = {}, 1

-- status, headers, body of a JSON answer.
local function reply(status, value)
  return status, JSON, cjson.encode(value) .. "\n"
end

-- The list of items in id order, as JSON ("[]" when empty: cjson would
-- write an empty table as an object).
local function list()
  local out = {}
  for id = 1, next_id - 1 do
    if items[id] then out[#out + 1] = cjson.encode(items[id]) end
  end
  return "[" .. table.concat(out, ",") .. "]"
end

-- Create an item from the request's JSON body.
local function create(req)
  local body, err = req:read_body()
  if not body then return reply(400, {error = err}) end
  local value = cjson.decode(body)
  if type(value) ~= "table" or type(value.name) ~= "string" then
    return reply(422, {error = "expected {\"name\": string}"})
  end
  local item = {id = next_id, name = value.name}
  items[next_id], next_id = item, next_id + 1
  return 201, {["Content-Type"] = "application/json", Location = "/items/" .. item.id},
         cjson.encode(item) .. "\n"
end

-- Route a request by method and path.
local function handle(req)
  local id = tonumber(req.path:match("^/items/(%d+)$"))
  if req.path == "/items" then
    if req.method == "GET" then return 200, JSON, list() .. "\n" end
    if req.method == "POST" then return create(req) end
    return reply(405, {error = "method not allowed"})
  elseif id then
    local item = items[id]
    if not item then return reply(404, {error = "no such item"}) end
    if req.method == "GET" then return reply(200, item) end
    if req.method == "DELETE" then items[id] = nil return 204, {}, nil end
    return reply(405, {error = "method not allowed"})
  end
  return reply(404, {error = "not found"})
end

local server = assert(httpd.server(addr, handle, {max_body = 64 * 1024}))
io.stderr:write("json_api: serving on ", server:url(), "\n")
server:serve()
