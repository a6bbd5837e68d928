--- eventlet.repl: the read-eval-print engine shared by `eventlet-lua -i`
-- and the backdoor's sessions.
--
-- A session turns input lines into evaluations: chunks are compiled by
-- the rule of `lua -i` (an expression first, `=expr` too, a chunk that
-- ends at <eof> waits for more lines behind a `>> ` prompt), each one runs
-- in its own green thread (so it can block, and so an interrupt can kill
-- it), results are pretty-printed and errors come back with a traceback.
-- All output of a session -- results, errors, and print/io.write of code
-- it runs, also in green threads it spawns -- goes through the session's
-- own write function, never to the program's terminal.
local core = require "eventlet.core"
local pretty = require "eventlet.pretty"
local output = require "eventlet.repl_output"

local debug_traceback = debug.traceback
local getmetatable = getmetatable
local load = load
local pcall = pcall
local rawget = rawget
local select = select
local setmetatable = setmetatable
local table_concat = table.concat
local table_pack = table.pack
local tostring = tostring
local type = type
local xpcall = xpcall

local _M = {}

local Session = {}
Session.__index = Session

--- The error value an interrupted evaluation is killed with.
local Interrupted = setmetatable({}, {__tostring = function() return "interrupted" end,
                                      __name = "eventlet.repl.Interrupted"})
_M.Interrupted = Interrupted

-- Text of an error value, the way lua.c's message handler makes it.
local function error_text(e)
  if type(e) == "string" then return e end
  local mt = getmetatable(e)
  if e == core.GreenletExit or e == Interrupted then return "interrupted" end
  if mt and rawget(mt, "__tostring") then return tostring(e) end
  return "(error object is a " .. type(e) .. " value)"
end

-- Message handler of evaluations: message plus traceback, cut where the
-- REPL's own frames begin.
local function traceback(e)
  local tb = debug_traceback(error_text(e), 2)
  local cut = tb:find("\n\t%[C%]: in function 'xpcall'")
  return cut and tb:sub(1, cut - 1) or tb
end

-- Compile a chunk as lua -i does.  Returns fn, or nil + "incomplete", or
-- nil + the syntax error.
local function compile(src, first_line, chunkname, env)
  if first_line then
    local fn = load("return " .. src, chunkname, "t", env)
    if fn then return fn end
  end
  local fn, err = load(src, chunkname, "t", env)
  if fn then return fn end
  if err:sub(-5) == "<eof>" then return nil, "incomplete" end
  return nil, err
end
_M.compile = compile

-- Body of an evaluation's green thread: the results of xpcall, packed.
local function run_eval(fn)
  return table_pack(xpcall(fn, traceback))
end

--- Create a session.
-- @param opts table: write = function(s) (required: the session's output),
--   env = table globals are read from (default _G), chunkname (default
--   "=stdin"), name and eval_name (of the evaluation threads, for
--   threads()), commands = table of extra
--   built-ins, on_exit = function() run by exit().
-- @return Session
function _M.session(opts)
  local self = setmetatable({
    write = assert(opts.write, "repl.session: opts.write is required"),
    chunkname = opts.chunkname or "=stdin",
    name = opts.name or "repl",
    eval_name = opts.eval_name or ((opts.name or "repl") .. " eval"),
    on_exit = opts.on_exit,
    buffer = nil,      -- lines of an incomplete chunk
    running = nil,     -- green thread of the evaluation in progress
    closed = false,
  }, Session)
  self.env = output.environment(self, opts.env or _G)
  local commands = require "eventlet.repl_commands"
  commands.install(self, self.env, opts.commands)
  return self
end

--- The prompt for the next line: "> ", or ">> " inside a chunk.
function Session:prompt()
  return self.buffer and ">> " or "> "
end

--- Write text to this session's output (dropped once it is closed).
function Session:out(s)
  if not self.closed then self.write(s) end
end

--- print() as seen by code running in this session.
function Session:print(...)
  local n = select("#", ...)
  local parts = {...}
  for i = 1, n do parts[i] = tostring(parts[i]) end
  self:out(table_concat(parts, "\t", 1, n) .. "\n")
end

-- Show the results of an evaluation, pretty-printed and tab-separated
-- (a value whose metamethods fail is shown by its error).
function Session:show(r)
  if r.n < 2 then return end
  local parts = {}
  for i = 2, r.n do
    local ok, text = pcall(pretty.format, r[i])
    parts[i - 1] = ok and text or ("<cannot show: " .. tostring(text) .. ">")
  end
  self:out(table_concat(parts, "\t") .. "\n")
end

-- Run fn in a green thread whose output is bound to this session; wait
-- for it and show what it returned or raised.
function Session:evaluate(fn)
  local gt = core.spawn(run_eval, fn)
  gt:name(self.eval_name)
  core.preemptible(gt)  -- a loop typed here must not freeze the program
  output.bind(gt, self)
  self.running = gt
  local ok, r = pcall(gt.wait, gt)
  self.running = nil
  if not ok and not gt:dead() then  -- the kill was for us, not the eval
    core.kill(gt, Interrupted)
    error(r, 0)
  end
  if not ok then
    self:out(error_text(r) .. "\n")
  elseif r[1] then
    self:show(r)
  else
    self:out(tostring(r[2]) .. "\n")
  end
end

--- Handle one line of input: compile, evaluate or wait for more.
-- Blocks while the evaluation runs.
function Session:handle(line)
  if self.closed then return end
  line = line:gsub("\r?\n$", "")
  local first = self.buffer == nil
  if first then
    if line:match("^%s*$") then return end
    line = line:gsub("^=", "return ")
  end
  local src = first and line or (self.buffer .. "\n" .. line)
  local fn, err = compile(src, first, self.chunkname, self.env)
  if err == "incomplete" then
    self.buffer = src
    return
  end
  self.buffer = nil
  if not fn then
    self:out(err .. "\n")
    return
  end
  self:evaluate(fn)
end

--- Stop what the session is doing: kill the evaluation in progress, or
-- drop an unfinished chunk.  Returns "eval", "chunk" or nil.
function Session:interrupt()
  local gt = self.running
  if gt and not gt:dead() and gt ~= core.getcurrent() then
    core.kill(gt, Interrupted)
    return "eval"
  end
  if self.buffer then
    self.buffer = nil
    return "chunk"
  end
  return nil
end

--- End the session: what exit() and Ctrl-D do.  Kills a running
-- evaluation (unless called from it) and stops output.
function Session:close()
  if self.closed then return end
  local gt = self.running
  if gt and not gt:dead() and gt ~= core.getcurrent() then core.kill(gt, Interrupted) end
  self.closed = true
  output.unbind_session(self)
  if self.on_exit then self.on_exit(self) end
end

--- Run the loop: next_line(prompt) shows the prompt and returns the next
-- line, or nil at end of input.
function Session:run(next_line)
  while not self.closed do
    local line = next_line(self:prompt())
    if line == nil then break end
    if line == false then self:interrupt() else self:handle(line) end
  end
  self:close()
end

--- The local REPL of `eventlet-lua -i`: stdin/stdout, read through the
-- hub so the program's green threads keep running while it waits.
function _M.run(opts)
  local stdin = require "eventlet.repl_stdin"
  return stdin.run(_M, opts)
end

return _M
