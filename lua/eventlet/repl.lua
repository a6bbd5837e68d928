--- eventlet.repl: a read-eval-print loop whose reads go through the hub,
-- so the program's green threads keep running while it waits for input.
local core = require "eventlet.core"

local io_read = io.read
local io_write = io.write
local load = load
local select = select
local tostring = tostring
local table_pack = table.pack

local _M = {}

-- Read one line from stdin without blocking the hub.
local function readline(prompt)
  io_write(prompt)
  io.stdout:flush()
  core.trampoline(0, "r")
  return io_read("L")
end

-- Compile a chunk; an expression first, as `lua -i` does.
-- Returns fn, or nil + "incomplete", or nil + message.
local function compile(src)
  local fn = load("return " .. src, "=stdin")
  if fn then return fn end
  local err
  fn, err = load(src, "=stdin")
  if fn then return fn end
  if err:sub(-5) == "<eof>" then return nil, "incomplete" end
  return nil, err
end

-- Print the results of an evaluation, tab-separated.
local function print_results(r)
  if r.n == 0 then return end
  local out = {}
  for i = 1, r.n do out[i] = tostring(r[i]) end
  io_write(table.concat(out, "\t"), "\n")
end

--- Run the loop until end of input.
function _M.run()
  local buffer
  while true do
    local line = readline(buffer and ">> " or "> ")
    if not line then io_write("\n") return end
    buffer = buffer and (buffer .. line) or line:gsub("^=", "return ")
    local fn, err = compile(buffer)
    if fn then
      buffer = nil
      local r = table_pack(xpcall(fn, debug.traceback))
      if r[1] then
        print_results(table_pack(select(2, table.unpack(r, 1, r.n))))
      else
        io.stderr:write(tostring(r[2]), "\n")
      end
    elseif err ~= "incomplete" then
      buffer = nil
      io.stderr:write(err, "\n")
    end
  end
end

return _M
