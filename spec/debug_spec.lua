-- eventlet.debug on a live hub: what the hub watches (listeners on fds,
-- timers), the spew line tracer across green threads, hub_exceptions and
-- the switches registry.
local core = require "eventlet.core"
local eventlet = require "eventlet"
local dbg = require "eventlet.debug"

local child = require "child_support"

-- Open a FIFO read-write (never readable until written to) and return the
-- file, its descriptor (found in /proc/self/fd) and its path.
local function open_fifo()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkfifo " .. path))
  local f = assert(io.open(path, "r+"))
  local ls = io.popen("ls -l /proc/" .. core.getpid() .. "/fd 2>/dev/null")
  local fd = tonumber(ls:read("a"):match("(%d+) %-> " .. path:gsub("%p", "%%%0")))
  ls:close()
  return f, fd, path
end

-- A file-like object collecting what is written to it.
local function buffer()
  local parts = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      return self
    end,
    text = function() return table.concat(parts) end,
  }
end

-- Run a Lua snippet under the host; return stdout+stderr and status.
local function run(env, code) return child.run(env, child.HOST, code) end

describe("eventlet.debug", function()
  describe("format_hub_listeners", function()
    it("lists the threads waiting on descriptors, with fd and timeout", function()
      local f, fd, path = open_fifo()
      local listener = eventlet.spawn(function() return core.trampoline(fd, "r", 20) end)
      listener:name("listener")
      local forever = eventlet.spawn(function() return core.trampoline(fd, "r") end)
      eventlet.sleep(0.01)
      local text = dbg.format_hub_listeners()
      assert.matches("^Hub listeners %(2, backend %a+%):", text)
      assert.matches("\n  fd " .. fd .. "  #" .. listener:id() ..
        " listener  waiting on [^\n]*%(fd " .. fd .. "%)  timeout in 19%.%d%d%ds", text)
      assert.matches("\n  fd " .. fd .. "  #" .. forever:id() .. "  waiting on [^\n]*%(fd " ..
        fd .. "%)\n?", text)
      assert.is_nil(text:find("stack traceback", 1, true))

      dbg.hub_listener_stacks(true)
      local with_stacks = dbg.format_hub_listeners()
      dbg.hub_listener_stacks(false)
      assert.matches("armed at:\n%s+stack traceback:.-debug_spec%.lua:%d+", with_stacks)

      f:write("x")
      f:flush()
      assert.equal("r", listener:wait())
      assert.equal("r", forever:wait())
      assert.matches("^Hub listeners %(0, backend %a+%):$", dbg.format_hub_listeners())
      f:close()
      os.remove(path)
    end)
  end)

  describe("format_hub_listeners with sockets", function()
    it("shows a server waiting in accept and a client waiting to receive", function()
      local server = eventlet.listen("127.0.0.1:0")
      local acceptor = eventlet.spawn(function() return server:accept() end)
      acceptor:name("acceptor")
      eventlet.sleep(0.01)
      assert.matches("\n  fd " .. server:getfd() .. "  #" .. acceptor:id() .. " acceptor  waiting on ",
        dbg.format_hub_listeners())
      local _, port = server:getsockname()
      local client = eventlet.connect("127.0.0.1:" .. port)
      local conn = acceptor:wait()
      local reader = eventlet.spawn(function() return client:receive() end)
      eventlet.sleep(0.01)
      assert.matches("\n  fd " .. client:getfd() .. "  #" .. reader:id() .. "  waiting on ",
        dbg.format_hub_listeners())
      conn:send("line\n")
      assert.equal("line", reader:wait())
      for _, s in ipairs{conn, client, server} do s:close() end
    end)
  end)

  describe("format_hub_timers", function()
    it("lists sleeps and delayed spawns, soonest first, with stacks on request", function()
      local sleeper = eventlet.spawn(eventlet.sleep, 10)
      sleeper:name("sleeper")
      local delayed = eventlet.spawn_after(15, print, "never")
      eventlet.sleep(0.01)
      local text = dbg.format_hub_timers()
      local mine = {}
      for line in text:gmatch("\n  ([^\n]+)") do
        if line:find("#" .. sleeper:id() .. " ", 1, true) or
           line:find("#" .. delayed:id() .. " ", 1, true) then
          mine[#mine + 1] = line
        end
      end
      assert.equal(2, #mine)
      assert.matches("^in %d%.%d%d%ds  #" .. sleeper:id() .. " sleeper  waiting on sleep$", mine[1])
      assert.matches("^in 1[45]%.%d%d%ds  #" .. delayed:id() .. "  spawn_after$", mine[2])

      dbg.hub_timer_stacks(true)
      local with_stacks = dbg.format_hub_timers()
      dbg.hub_timer_stacks(false)
      assert.matches("sleeper  waiting on sleep\n%s+armed at:\n%s+stack traceback:", with_stacks)

      sleeper:kill()
      assert.is_true(delayed:cancel())
      eventlet.sleep(0)
      assert.is_nil(dbg.format_hub_timers():find("sleeper", 1, true))
    end)
  end)

  describe("spew", function()
    -- A traced function: each line shows up in the output.
    local function traced(x)
      local doubled = x * 2
      return doubled
    end

    it("prints file:line and source for every green thread, filtered by module", function()
      local out = buffer()
      local before = eventlet.spawn(function() eventlet.sleep(0.01); return traced(1) end)
      dbg.spew{trace_names = "debug_spec", out = out}
      local ok, err = pcall(function()
        local after = eventlet.spawn(traced, 2)   -- spawned while tracing
        assert.equal(2, before:wait())
        assert.equal(4, after:wait())
        require("eventlet.logformat").isotime(0)  -- another module: filtered out
      end)
      dbg.unspew()
      assert(ok, err)
      local text = out.text()
      local _, n = text:gsub("debug_spec%.lua:%d+:       local doubled = x %* 2\n", "")
      assert.equal(2, n)
      assert.matches("debug_spec%.lua:%d+:       return doubled\n", text)
      assert.is_nil(text:find("logformat.lua:", 1, true))
      local len = #text
      traced(3)
      assert.equal(len, #out.text())
    end)

    it("shows local values with show_values", function()
      local out = buffer()
      dbg.spew{trace_names = {"nothing-else", "debug_spec"}, show_values = true, out = out}
      local ok, err = pcall(traced, 21)
      dbg.unspew()
      assert(ok, err)
      assert.matches("return doubled\n\tx=21 doubled=42\n", out.text())
    end)
  end)

  describe("hub_exceptions", function()
    it("switches the core's error printing", function()
      assert.is_true(dbg.hub_exceptions())
      assert.is_false(dbg.hub_exceptions(false))
      assert.is_false(core.print_errors())
      assert.is_true(dbg.hub_exceptions(true))
      local out = run("", [[
        local e, dbg = require "eventlet", require "eventlet.debug"
        e.spawn(error, "loud"):name("one")
        e.sleep(0.01)
        dbg.hub_exceptions(false)
        e.spawn(error, "quiet")
        e.sleep(0.01)
      ]])
      assert.matches("green thread one #%d+ died: .*loud", out)
      assert.is_nil(out:find("quiet", 1, true))
    end)
  end)

  describe("switches", function()
    it("lists the built-in switches and ones other modules define", function()
      local value = 1
      dbg.define_switch("spec_switch", function(v)
        if v ~= nil then value = v end
        return value
      end, "a switch for the spec")
      assert.equal(5, dbg.switch("spec_switch", 5))
      assert.equal(5, value)
      local names = {}
      for _, s in ipairs(dbg.switches()) do names[s.name] = s.value end
      assert.equal(5, names.spec_switch)
      assert.is_true(names.hub_exceptions)
      assert.is_false(names.hub_listener_stacks)
      assert.is_false(names.hub_timer_stacks)
      assert.has_error(function() dbg.switch("no_such_switch", true) end,
        "eventlet.debug: unknown switch 'no_such_switch'")
      dbg.apply_env("spec_switch=7,hub_timer_stacks")
      assert.equal(7, value)
      assert.is_true(dbg.hub_timer_stacks())
      dbg.hub_timer_stacks(false)
    end)

    it("include the blocking watchdog when the core has one", function()
      if not core.watchdog then return pending("core.watchdog is not built in") end
      assert.is_false(dbg.switch("watchdog"))
      assert.equal(0.5, dbg.switch("watchdog", 0.5))
      assert.equal(0.5, core.watchdog().threshold)
      assert.is_false(dbg.switch("watchdog", false))
      assert.is_false(core.watchdog())
    end)

    it("hub_blocking_detection raises inside code that does not yield", function()
      if not core.watchdog then return pending("core.watchdog is not built in") end
      assert.is_true(dbg.hub_blocking_detection(true, 0.2))
      local ok, err = pcall(function()
        local t0 = os.clock()
        while os.clock() - t0 < 10 do end   -- busy, never yields
      end)
      assert.is_false(dbg.hub_blocking_detection(false))
      assert.is_false(ok)
      assert.matches("without yielding", tostring(err))
    end)

    it("are set from EVENTLET_DEBUG when the module loads", function()
      local out = run("EVENTLET_DEBUG=hub_exceptions=0,hub_listener_stacks=on,bogus=1", [[
        local dbg = require "eventlet.debug"
        print(dbg.hub_exceptions(), dbg.hub_listener_stacks())
      ]])
      assert.equal("eventlet.debug: EVENTLET_DEBUG names no switch 'bogus'\nfalse\ttrue\n", out)
    end)
  end)
end)
