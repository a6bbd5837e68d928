--- eventlet.repl_stdin: the REPL of `eventlet-lua -i` on stdin/stdout.
-- Input is read through the hub (the program's green threads keep running
-- while the prompt waits); Ctrl-C interrupts an evaluation in progress
-- and, at the prompt, exits as it would without a REPL.
local core = require "eventlet.core"

local io_stdin = io.stdin
local io_stdout = io.stdout

local _M = {}

-- Read one line from stdin without blocking the hub.  stdin is
-- unbuffered, so no line can hide in stdio's buffer while we wait on fd 0.
local function read_line(prompt)
  io_stdout:write(prompt)
  io_stdout:flush()
  core.trampoline(0, "r")
  return io_stdin:read("L")
end

-- SIGINT while the REPL runs: interrupt the evaluation, or exit.
local function on_sigint(session, handler)
  if session.running then
    io_stdout:write("\n")
    session:interrupt()
    return
  end
  handler:cancel()
  io_stdout:write("\n")
  require("eventlet").exit(130)
end

--- Run the local REPL until end of input or exit().
-- @param repl the eventlet.repl module
-- @param opts optional {env = table}
function _M.run(repl, opts)
  opts = opts or {}
  io_stdin:setvbuf("no")
  core.lag_monitor()
  local session = repl.session({
    write = function(s) io_stdout:write(s) io_stdout:flush() end,
    env = opts.env, chunkname = "=stdin", name = "repl",
  })
  local handler
  handler = core.signal("SIGINT", function() on_sigint(session, handler) end)
  session:run(function(prompt)
    local line = read_line(prompt)
    if line == nil then io_stdout:write("\n") end
    return line
  end)
  handler:cancel()
end

return _M
