-- The eventlet-lua host behaves like lua(1): flags, arg, exit status.
-- Each case runs the real binary in a child process.

local HOST = "./eventlet-lua"

-- Run a shell command; return its combined output and exit status.
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local body, status = out:match("^(.-)exit=(%d+)\n$")
  return body, tonumber(status)
end

-- Run the script at path under runtime and SIGTERM it after 0.3 s; returns
-- its output and exit status, waiting `linger` seconds more for what its
-- children print.
local function run_and_term(runtime, path, linger)
  return sh(("cd %s && LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='lua/?.so;;' %s %s & pid=$!; "
    .. "sleep 0.3; kill -TERM $pid; wait $pid; st=$?; sleep %s; (exit $st)")
    :format(os.getenv("PWD"), runtime, path, linger or 0))
end

-- Write a temporary script and return its path.
local function script(src)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  return path
end

-- A program that grows the heap by ~60 MB, then prints the VmFlags
-- advice of its [heap] mappings: "hg" (huge pages asked), "nh" (refused).
local HEAP_PROBE = [[
  local keep = {}
  for i = 1, 1000000 do keep[i] = {i} end
  local hg, nh, inside = 0, 0, false
  for line in io.lines("/proc/self/smaps") do
    if line:match("^%x+%-%x+ ") then inside = line:match("%[heap%]$") ~= nil
    elseif inside and line:match("^VmFlags:") then
      if line:match(" hg") then hg = hg + 1 end
      if line:match(" nh") then nh = nh + 1 end
    end
  end
  print(#keep, hg > 0, nh > 0)
]]

describe("the eventlet-lua host", function()
  it("runs a script with arguments in the arg table", function()
    local path = script("print(arg[0] == ..., #arg, arg[1], arg[2], arg[-1])")
    local out, status = sh(HOST .. " " .. path .. " a b")
    os.remove(path)
    assert.equal(0, status)
    assert.equal("false\t2\ta\tb\t" .. HOST .. "\n", out)
  end)

  it("passes the script its arguments as ...", function()
    local path = script("print(...)")
    local out = sh(HOST .. " " .. path .. " x y")
    os.remove(path)
    assert.equal("x\ty\n", out)
  end)

  it("runs the script as a green thread: it may block at top level", function()
    local out, status = sh(HOST .. " -e 'local e = require \"eventlet\"; " ..
      "e.spawn(function() print(\"child\") end); e.sleep(0.01); print(\"main\")'")
    assert.equal(0, status)
    assert.equal("child\nmain\n", out)
  end)

  it("runs the main chunk and -e yieldable (no nested loops)", function()
    local path = script("print(coroutine.isyieldable(), require('eventlet').core.stats().depth)")
    local out = sh(HOST .. " -e 'print(coroutine.isyieldable())' " .. path)
    os.remove(path)
    assert.equal("true\ntrue\t1\n", out)
  end)

  it("waits for spawned threads before exiting", function()
    local out, status = sh(HOST .. " -e 'local e = require \"eventlet\"; " ..
      "e.spawn(function() e.sleep(0.05); print(\"late\") end); print(\"main done\")'")
    assert.equal(0, status)
    assert.equal("main done\nlate\n", out)
  end)

  it("runs -e and -l in order before the script", function()
    local out = sh(HOST .. " -e 'x = 1' -l string -e 'print(x, string == require \"string\")'")
    assert.equal("1\ttrue\n", out)
  end)

  it("supports -l g=mod", function()
    local out = sh(HOST .. " -l s=string -e 'print(s.rep(\"a\", 3))'")
    assert.equal("aaa\n", out)
  end)

  it("prints its version with -v", function()
    local out, status = sh(HOST .. " -v")
    assert.equal(0, status)
    assert.matches("^eventlet%-lua [%d.]+ %(Lua 5%.4%.%d+, libev %d+%.%d+%)\n$", out)
  end)

  it("reads the script from stdin with -", function()
    local out = sh("echo 'print(\"from stdin\", ...)' | " .. HOST .. " - q")
    assert.equal("from stdin\tq\n", out)
  end)

  it("treats what follows -- as the script", function()
    local path = script("print('dashdash', ...)")
    local out = sh(HOST .. " -- " .. path .. " -v")
    os.remove(path)
    assert.equal("dashdash\t-v\n", out)
  end)

  it("exits 1 with message and traceback on an uncaught error", function()
    local out, status = sh(HOST .. " -e 'local function f() error(\"kaboom\") end f()'")
    assert.equal(1, status)
    assert.matches("kaboom", out)
    assert.matches("stack traceback:", out)
  end)

  it("honours os.exit", function()
    local _, status = sh(HOST .. " -e 'os.exit(7)'")
    assert.equal(7, status)
    _, status = sh(HOST .. " -e 'os.exit(false)'")
    assert.equal(1, status)
  end)

  it("says so and exits 1 for a missing script, like lua", function()
    local out, status = sh(HOST .. " /nonexistent/script.lua")
    assert.equal(1, status)
    assert.matches("cannot open /nonexistent/script.lua", out)
  end)

  it("rejects unknown options with usage", function()
    local out, status = sh(HOST .. " -z")
    assert.equal(1, status)
    assert.matches("unrecognized option '%-z'", out)
    assert.matches("usage:", out)
  end)

  it("prints warnings with -W only, like lua", function()
    assert.equal("Lua warning: hi\n", sh(HOST .. " -W -e 'warn(\"hi\")'"))
    assert.equal("", sh(HOST .. " -e 'warn(\"hi\")'"))
  end)

  it("runs LUA_INIT unless -E", function()
    local out = sh("LUA_INIT='print(\"init\")' " .. HOST .. " -e 'print(1)'")
    assert.equal("init\n1\n", out)
    out = sh("LUA_INIT='print(\"init\")' " .. HOST .. " -E -e 'print(1)'")
    assert.equal("1\n", out)
  end)

  it("finds its modules from any working directory", function()
    local out, status = sh("cd / && " .. os.getenv("PWD") .. "/eventlet-lua -e 'print(require(\"eventlet\").version)'")
    assert.equal(0, status)
    assert.matches("^%d+%.%d+%.%d+\n$", out)
  end)

  it("prints an error that ends a green thread, with name and traceback", function()
    local out, status = sh(HOST .. " -e 'local e = require \"eventlet\"; " ..
      "local gt = e.spawn(function() error(\"worker broke\") end); gt:name(\"w1\"); e.sleep(0.01); print(\"alive\")'")
    assert.equal(0, status)
    assert.matches("green thread w1 #%d+ died: .*worker broke", out)
    assert.matches("stack traceback:", out)
    assert.matches("alive\n", out)
  end)

  it("can switch error printing off", function()
    local out = sh(HOST .. " -e 'local e = require \"eventlet\"; e.core.print_errors(false); " ..
      "e.spawn(error, \"quiet\"); e.sleep(0.01); print(\"ok\")'")
    assert.equal("ok\n", out)
  end)
end)

describe("signals", function()
  it("run exit hooks on SIGTERM, then die by the signal", function()
    local path = script([[
      local e = require "eventlet"
      e.on_exit(function(sig) print("hook", sig); io.stdout:flush() end)
      print("ready"); io.stdout:flush()
      e.sleep(30)
    ]])
    for _, runtime in ipairs({HOST, "lua5.4"}) do
      local out, status = run_and_term(runtime, path)
      assert.equal(143, status)
      assert.matches("^ready\nhook\t15\n", out)
    end
    os.remove(path)
  end)

  it("leave a child forked during the exit hooks alone: no parent hooks, no death", function()
    local path = script([[
      local e = require "eventlet"
      local core = require "eventlet.core"
      local processes = require "eventlet.processes"
      local parent, draining = core.getpid(), false
      e.on_exit(function() draining = true; e.sleep(0.5) end)
      e.on_exit(function()
        print("second hook in " .. (core.getpid() == parent and "parent" or "child"))
        io.stdout:flush()
      end)
      e.spawn(function()            -- forks while the first hook drains
        while not draining do e.sleep(0.01) end
        io.stdout:flush()
        if processes.fork() == 0 then
          e.sleep(0.8)              -- outlives the parent's hooks and death
          print("child lives"); io.stdout:flush()
          os.exit(0, true)
        end
      end)
      print("ready"); io.stdout:flush()
      e.sleep(30)
    ]])
    for _, runtime in ipairs({HOST, "lua5.4"}) do
      local out, status = run_and_term(runtime, path, 1)  -- the child prints at 0.8 s
      assert.equal(143, status)
      assert.equal("ready\nsecond hook in parent\nchild lives\n", out)
    end
    os.remove(path)
  end)

  it("run user handlers in green threads", function()
    local e = require "eventlet"
    local hits = {}
    local h = e.signal("SIGUSR1", function(sig) hits[#hits + 1] = sig end)
    local stat = assert(io.open("/proc/self/stat"))
    local pid = stat:read("n")
    stat:close()
    os.execute("kill -USR1 " .. pid)
    e.sleep(0.05)
    h:cancel()
    assert.same({10}, hits)
  end)

  it("ignore SIGPIPE", function()
    local out, status = sh(HOST .. " -e 'require \"eventlet\"; os.execute(\"kill -PIPE \" .. " ..
      "io.open(\"/proc/self/stat\"):read(\"n\")); print(\"survived\")'")
    assert.equal(0, status)
    assert.equal("survived\n", out)
  end)
end)

-- Churn through small blocks of every size class the host's allocator
-- keeps (tables, strings, closures; grown, shrunk, collected), checking
-- that what survives is intact.  Prints "ok" and the blocks it made.  The
-- 6,000 live tables make the collector free more than the cache's 4 MiB
-- at a time, so blocks also go past the full cache back to free().
local CHURN = [[
  local live, made = {}, 0
  for round = 1, 60 do
    for i = 1, 400 do
      local n = (i * 7 + round) % 40 + 1
      local t = {}
      for j = 1, n do t[j] = j * round end
      t.s = string.rep(string.char(65 + i % 26), (i * 13) % 600 + 1)
      t.f = function() return n end
      live[(round * 400 + i) % 6000 + 1] = t
      made = made + 1
    end
    for k = 1, 6000, 3 do
      local t = live[k]
      if t then for j = #t, 1, -1 do t[j] = nil end end
    end
    collectgarbage("step", 50)
    for _, t in pairs(live) do
      local n = t.f()
      assert(#t.s >= 1 and t.s == string.rep(t.s:sub(1, 1), #t.s), "string damaged")
      for j = 1, #t do assert(t[j] == t[1] * j, "table damaged") end
      assert(#t == 0 or #t == n, "length damaged")
    end
  end
  print("ok", made)
]]

describe("the host's heap", function()
  it("hands back small blocks intact through its allocator's cache", function()
    local path = script(CHURN)
    local out, status = sh(HOST .. " " .. path)
    assert.equal(0, status)
    assert.equal("ok\t24000\n", out)
    os.remove(path)
  end)

  it("asks for huge pages once it has grown big, and gives ranges it filled back", function()
    local path = script(HEAP_PROBE)
    local out, status = sh("env -u GLIBC_TUNABLES -u EVENTLET_HUGEPAGES " .. HOST .. " " .. path)
    assert.equal(0, status)
    -- A kernel without transparent huge pages refuses the advice.
    local thp = io.open("/sys/kernel/mm/transparent_hugepage/enabled")
    local expected = thp and "1000000\ttrue\ttrue\n" or "1000000\tfalse\tfalse\n"
    if thp then thp:close() end
    assert.equal(expected, out)
    os.remove(path)
  end)

  it("leaves the heap alone with EVENTLET_HUGEPAGES=0 or malloc tunables set", function()
    local path = script(HEAP_PROBE)
    for _, env in ipairs({"EVENTLET_HUGEPAGES=0", "GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576"}) do
      local out, status = sh("env " .. env .. " " .. HOST .. " " .. path)
      assert.equal(0, status)
      assert.equal("1000000\tfalse\tfalse\n", out)
    end
    os.remove(path)
  end)
end)
