-- eventlet.repl: the REPL engine (lua -i rules, per-session output and
-- globals, errors, interrupts, commands), eventlet.pretty, and the local
-- REPL of `eventlet-lua -i`.
local eventlet = require "eventlet"
local repl = require "eventlet.repl"
local pretty = require "eventlet.pretty"

-- A session whose output is collected; returns session, read_output().
local function capture(opts)
  local out = {}
  opts = opts or {}
  opts.write = function(s) out[#out + 1] = s end
  local s = repl.session(opts)
  return s, function()
    local text = table.concat(out)
    out = {}
    return text
  end
end

-- Feed lines to a session and return what it wrote.
local function run(session, read, ...)
  for _, line in ipairs({...}) do session:handle(line) end
  return read()
end

describe("repl session", function()
  local s, read
  before_each(function() s, read = capture() end)
  after_each(function() s:close() end)

  it("prints expressions, =expr and several results like lua -i", function()
    assert.equal("2\n", run(s, read, "1 + 1"))
    assert.equal("1\t\"two\"\n", run(s, read, "=1, 'two'"))
    assert.equal("", run(s, read, "local y = 3"))
    assert.equal("nil\n", run(s, read, "return nil"))
    assert.equal("", run(s, read, "   "))
  end)

  it("waits for more lines behind >> when a chunk is incomplete", function()
    assert.equal("> ", s:prompt())
    s:handle("for i = 1, 2 do")
    assert.equal(">> ", s:prompt())
    s:handle("  print(i)")
    assert.equal("", read())
    s:handle("end")
    assert.equal("> ", s:prompt())
    assert.equal("1\n2\n", read())
  end)

  it("reports syntax errors and keeps going", function()
    local out = run(s, read, "x = = 1")
    assert.matches("^stdin:1: unexpected symbol near '='\n$", out)
    assert.equal("> ", s:prompt())
    assert.equal("3\n", run(s, read, "1 + 2"))
  end)

  it("reports runtime errors with a traceback, without the REPL's frames", function()
    local out = run(s, read, "local function f() error('boom') end f()")
    assert.matches("^stdin:1: boom\nstack traceback:", out)
    assert.matches("in local 'f'", out)
    assert.not_matches("xpcall", out)
    assert.not_matches("repl%.lua", out)
    assert.equal("(error object is a table value)\n", run(s, read, "error({})"):match("^[^\n]*\n"))
    assert.equal("4\n", run(s, read, "2 * 2"))
  end)

  it("keeps assignments in the session and reaches the program through _G", function()
    local other, read_other = capture()
    run(s, read, "private = 42")
    assert.equal("42\n", run(s, read, "private"))
    assert.equal("nil\n", run(other, read_other, "private"))
    assert.is_nil(rawget(_G, "private"))
    run(other, read_other, "_G.repl_spec_shared = 'seen'")
    assert.equal("seen", rawget(_G, "repl_spec_shared"))
    assert.equal('"seen"\n', run(s, read, "repl_spec_shared"))
    _G.repl_spec_shared = nil
    other:close()
  end)

  it("sends print and io.write to the session, also from threads it spawns", function()
    assert.equal("a\t1\tnil\n", run(s, read, "print('a', 1, nil)"))
    -- io.write returns its file, which lua -i prints as well
    assert.matches("^xy3file %(session stdout%)\n$", run(s, read, "io.write('x', 'y', 3)"))
    assert.matches("^z\n", run(s, read, "io.stdout:write('z\\n')"))
    -- a program function using the global print, called from the session
    _G.repl_spec_program = function(v) print("program says", v) end
    assert.equal("program says\t7\n", run(s, read, "repl_spec_program(7)"))
    -- a thread the session spawns writes to it after the evaluation ended
    run(s, read, "t = eventlet.spawn(function() eventlet.sleep(0.05) repl_spec_program('bg') end)")
    assert.equal("", read())
    eventlet.sleep(0.2)
    assert.equal("program says\tbg\n", read())
    -- the program's own threads are not bound to any session
    local output = require "eventlet.repl_output"
    local bound_here
    eventlet.spawn(function() bound_here = output.current_session() end):wait()
    assert.is_nil(bound_here)
    assert.equal("true\n", run(s, read, "require('eventlet.repl_output').current_session() ~= nil"))
    _G.repl_spec_program = nil
  end)

  it("interrupts a running evaluation and drops an unfinished chunk", function()
    local gt = eventlet.spawn(function() s:handle("eventlet.sleep(20) print('not reached')") end)
    eventlet.sleep(0.05)
    assert.is_truthy(s.running)
    assert.equal("eval", s:interrupt())
    gt:wait()
    local out = read()
    assert.matches("^interrupted\nstack traceback:", out)
    assert.not_matches("not reached", out)
    s:handle("if true then")
    assert.equal("chunk", s:interrupt())
    assert.equal("> ", s:prompt())
    assert.is_nil(s:interrupt())
  end)

  it("ends with exit() and restores the global print when the last session ends", function()
    s:handle("exit()")
    assert.is_true(s.closed)
    assert.equal("", run(s, read, "print('after')"))
    local ran = 0
    s:run(function() ran = ran + 1 return "1" end)
    assert.equal(0, ran)
  end)
end)

describe("repl commands", function()
  local s, read
  before_each(function() s, read = capture() end)
  after_each(function() s:close() end)

  it("threads() lists live threads with name, state and wait", function()
    local gt = eventlet.spawn(function() eventlet.sleep(10) end)
    gt:name("spec sleeper")
    eventlet.sleep(0)
    local out = run(s, read, "threads()")
    assert.matches("id%s+name%s+state", out)
    local line = out:match("[^\n]*spec sleeper[^\n]*")
    assert.matches("^%s+" .. gt:id() .. "%s", line)
    assert.matches("parked", line)
    assert.matches("sleep", line)
    assert.matches("%*%s*%d+%s+repl eval%s+running", out)
    gt:kill()
  end)

  it("tb(id) shows where a thread waits; kill(id) kills it", function()
    local function parked_here() eventlet.sleep(10) end
    local gt = eventlet.spawn(parked_here)
    eventlet.sleep(0)
    local out = run(s, read, "tb(" .. gt:id() .. ")")
    assert.matches("stack traceback:", out)
    assert.matches("repl_spec%.lua:%d+: in function", out)
    assert.matches("^killing GreenThread #" .. gt:id(), run(s, read, "kill(" .. gt:id() .. ")"))
    assert.is_true(gt:dead())
    assert.equal("no live green thread #99999\n", run(s, read, "tb(99999)"))
  end)

  it("hub(), mem(), gc() and help() report", function()
    assert.matches("threads live %(%d+ ready, %d+ parked%), %d+ timers, %d+ fd waits", run(s, read, "hub()"))
    assert.matches("^Lua heap: [%d.]+%a+, RSS: [%d.]+%a+\n$", run(s, read, "mem()"))
    assert.matches("^gc: freed", run(s, read, "gc()"))
    local help = run(s, read, "help()")
    for _, name in ipairs({"threads", "tb", "kill", "hub", "mem", "gc", "exit"}) do
      assert.matches(name .. "%(", help)
    end
  end)
end)

describe("pretty", function()
  it("formats scalars as Lua literals", function()
    assert.equal('"a\\nb\\"\\0"', pretty.format('a\nb"\0'))
    assert.equal("1.0", pretty.format(1.0))
    assert.equal("3", pretty.format(3))
    assert.equal("true", pretty.format(true))
    assert.equal('"\\255\\254"', pretty.format("\255\254"))
    assert.equal('"héllo"', pretty.format("héllo"))
  end)

  it("sorts keys, array part first, and quotes odd keys", function()
    assert.equal('{1, 2, a = 1, b = {c = true}, ["end"] = 1, ["not ident"] = 0}',
      pretty.format({1, 2, b = {c = true}, a = 1, ["not ident"] = 0, ["end"] = 1}))
  end)

  it("stops at the depth limit, names cycles and cuts long tables", function()
    assert.equal("{{{...}}}", pretty.format({{{{}}}}, {depth = 2}))
    local t = {} t.self = t
    assert.matches("^{self = <cycle: table: 0x%x+>}$", pretty.format(t))
    local long = {}
    for i = 1, 100 do long[i] = i end
    assert.matches("%.%.%. %(90 more%)}$", pretty.format(long, {items = 10}))
  end)

  it("goes multi-line when wide and respects __tostring", function()
    local wide = {}
    for i = 1, 30 do wide["key" .. i] = i end
    assert.matches("^{\n  key1 = 1,\n", pretty.format(wide))
    local obj = setmetatable({}, {__tostring = function() return "<obj>" end})
    assert.equal("{<obj>}", pretty.format({obj}))
    assert.matches("^function: 0x%x+ <.*repl_spec%.lua:%d+>$", pretty.format(function() end))
  end)
end)

describe("eventlet-lua -i", function()
  -- Run the host with stdin from a file; return its output.
  local function host(script, input)
    local dir = os.tmpname()
    local f = assert(io.open(dir, "w"))
    f:write(input)
    f:close()
    local p = assert(io.popen("./eventlet-lua -i " .. script .. " < " .. dir .. " 2>&1"))
    local out = p:read("a")
    p:close()
    os.remove(dir)
    return out
  end

  it("runs the REPL while the script's green threads keep running", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local eventlet = require "eventlet"
      ticks = 0
      eventlet.spawn(function() while true do ticks = ticks + 1 eventlet.sleep(0.01) end end)
    ]])
    f:close()
    local out = host(script, "start = ticks\neventlet.sleep(0.3)\nticks - start > 5\nfor i=1,2 do\nprint(i)\nend\n"
                             .. "error('x')\nos.exit(0)\n")
    os.remove(script)
    assert.matches("> true\n", out)
    assert.matches(">> >> 1\n2\n", out)
    assert.matches("stdin:1: x\nstack traceback:", out)
  end)
end)
