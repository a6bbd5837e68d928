--- A chat server: what one user types, everyone else sees.
--   eventlet-lua examples/chat.lua [port]        (default 6001)
--   then, in two terminals: nc 127.0.0.1 6001
-- Each user has a reader (the serve handler) and a writer thread fed by
-- an outbox queue, so a broadcast never waits on a slow client: a user
-- whose outbox overflows is dropped instead of stalling the room.
local eventlet = require "eventlet"

local port = tonumber(arg and arg[1]) or 6001
local OUTBOX = 100                 -- lines a user may fall behind
local users = {}                   -- conn -> outbox queue

--- Queue a line for everyone but `from`; drop users who fell too far behind.
local function broadcast(from, text)
  for conn, outbox in pairs(users) do
    if conn ~= from and not outbox:put(text, 0) then
      users[conn] = nil
      conn:close()                 -- wakes its reader and writer with "closed"
    end
  end
end

--- Write a user's outbox to their connection until it closes.
local function writer(conn, outbox)
  while true do
    local line = outbox:get()
    if line == nil or not conn:send(line .. "\n") then return end
  end
end

--- One user's session: ask for a name, then relay lines until they leave.
local function session(conn)
  conn:settimeout(300)             -- idle users are dropped after 5 min
  conn:send("name? ")
  local name = conn:receive()
  if not name or name == "" then return end
  local outbox = eventlet.Queue(OUTBOX)
  local w = eventlet.spawn(writer, conn, outbox)
  users[conn] = outbox
  broadcast(conn, "* " .. name .. " joined")
  while true do
    local line = conn:receive()
    if not line or line == "/quit" then break end
    broadcast(conn, name .. ": " .. line)
  end
  users[conn] = nil
  broadcast(conn, "* " .. name .. " left")
  w:kill()
end

local server = assert(eventlet.listen("127.0.0.1:" .. port))
print(("chat server on 127.0.0.1:%d"):format(select(2, server:getsockname())))
eventlet.serve(server, session)
