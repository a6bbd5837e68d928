--- demo.lua: one process, many green threads.
--
--   eventlet-lua examples/demo.lua        (or: make demo)
--
-- Starts an HTTP server and a backdoor REPL, sends the server a crowd of
-- concurrent requests through the pooled HTTP client, shows a deadline at
-- work, then keeps serving until Ctrl-C (a graceful stop).  DEMO_EXIT=1
-- ends it after the crowd instead (the spec does that).
local eventlet = require "eventlet"
local httpd = require "eventlet.httpd"
local httpc = require "eventlet.httpc"
local backdoor = require "eventlet.backdoor"

local PORT = tonumber(os.getenv("DEMO_PORT") or "") or 8080
local CROWD, WIDTH = 2000, 100

-- The site: a greeting, a slow page and the hub's own counters.
local routes = {
  ["/"] = function() return 200, {["Content-Type"] = "text/plain"}, "Hello, World!\n" end,
  ["/slow"] = function() eventlet.sleep(2) return 200, {}, "finally\n" end,
  ["/hub"] = function()
    local s = eventlet.get_hub()
    return 200, {["Content-Type"] = "text/plain"},
      ("%d green threads, %d switches, backend %s\n"):format(s.live, s.switches, s.backend)
  end,
}

local server = assert(httpd.server("127.0.0.1:" .. PORT, function(req)
  local route = routes[req.path]
  if not route then return 404, {}, "no such page\n" end
  return route(req)
end, {log = false}))
server:start()
local door = assert(backdoor.listen("127.0.0.1:" .. (PORT + 1)))
print(("HTTP server on %s, backdoor REPL on 127.0.0.1:%d"):format(server:url(), PORT + 1))

-- A crowd: CROWD requests, WIDTH at a time, all green threads.
local client = httpc.client{base_url = server:url(), pool_size = WIDTH}
local pool = eventlet.GreenPool(WIDTH)
local ok, t0 = 0, eventlet.core.time()
for _ = 1, CROWD do
  pool:spawn(function()
    local resp = client:get("/")
    if resp and resp.status == 200 then ok = ok + 1 end
  end)
end
pool:waitall()
local took = eventlet.core.time() - t0
print(("%d/%d requests answered, %d at a time, in %.2f s (%.0f req/s, client and server in one process)")
  :format(ok, CROWD, WIDTH, took, CROWD / took))

-- A deadline: the slow page takes 2 s, we allow 0.2 s.
local answer = eventlet.with_timeout_value(0.2, "gave up after 0.2 s", function()
  return client:get("/slow").body
end)
print("slow page: " .. answer)
print((client:get("/hub").body:gsub("\n$", "")))

if os.getenv("DEMO_EXIT") then
  client:close()
  door:close()
  server:stop{grace = 1}
  return
end
print(("Try: curl %s/   ·   eventlet-lua --attach 127.0.0.1:%d   ·   Ctrl-C stops")
  :format(server:url(), PORT + 1))
eventlet.on_exit(function() door:close() server:stop{grace = 2} end)
