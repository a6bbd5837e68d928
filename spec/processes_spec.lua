-- eventlet.processes: spawn, pipes, run, exit status, signals, leaks,
-- fork, and the seed's Process/DeadProcess/ProcessPool.  Real children.
local core = require "eventlet.core"
local processes = require "eventlet.processes"
local fs = require "eventlet.fs"

local spawn, run = processes.spawn, processes.run

-- Our pid (the first field of /proc/self/stat).
local function mypid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return pid
end

-- How many descriptors this process has open: stat each /proc/self/fd/N
-- (through eventlet.fs).  Listing the directory with a child such as ls
-- would race with the pipe ends its own spawn leaves open for a moment.
local FD_PROBE = 1024
local function fdcount()
  local n = 0
  for fd = 0, FD_PROBE - 1 do
    if fs.stat("/proc/self/fd/" .. fd) then n = n + 1 end
  end
  return n
end

-- fdcount() once it settles back to `want` (closing may finish on the
-- hub's next turn), or the count after `limit` seconds.
local function fds_settle(want, limit)
  local deadline = core.now() + (limit or 2)
  local n = fdcount()
  while n ~= want and core.now() < deadline do
    core.sleep(0.02)
    n = fdcount()
  end
  return n
end

-- The state letter of pid ("Z" for a zombie), or nil once it is reaped.
local function pstate(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return nil end
  local stat = f:read("a")
  f:close()
  return stat:match("^%d+ %b() (%a)")
end

-- Poll until pid is gone from /proc (reaped), up to `limit` seconds.
local function reaped(pid, limit)
  local deadline = core.now() + (limit or 5)
  while pstate(pid) and core.now() < deadline do core.sleep(0.01) end
  return pstate(pid) == nil
end

-- How many of our children are zombies (exited, not reaped).
local function zombies()
  local ps = assert(io.popen("ps -o stat= --ppid " .. mypid()))
  local n = 0
  for line in ps:lines() do
    if line:match("^%s*Z") then n = n + 1 end
  end
  ps:close()
  return n
end

-- A temporary file name unique to this test run.
local function tmpname(tag)
  return ("/tmp/eventlet-proc-%d-%s"):format(mypid(), tag)
end

describe("processes.spawn", function()
  it("reads lines from a child and returns its exit code", function()
    local p = assert(spawn{"sh", "-c", "echo one; echo two; exit 3"})
    assert.is_number(p.pid)
    assert.equal("one", p:readline())
    assert.equal("two", p:readline())
    assert.same({nil, "closed"}, {p:readline()})
    assert.equal(3, p:wait())
    p:close()
  end)

  it("iterates output with lines() and reads n bytes or everything", function()
    local p = assert(spawn{"printf", "a\\nb\\nc"})
    local got = {}
    for line in p:lines() do got[#got + 1] = line end
    assert.same({"a", "b", "c"}, got)
    p:close()
    p = assert(spawn{"printf", "abcdef"})
    assert.equal("abc", p:read(3))
    assert.equal("def", p:read(10))
    assert.same({nil, "closed"}, {p:read(1)})
    assert.equal("", p:read())
    assert.equal(0, p:wait())
    p:close()
  end)

  it("talks both ways through stdin and stdout", function()
    local p <close> = assert(spawn{"cat"})
    assert.is_true(p:write("hello\n"))
    assert.equal("hello", p:readline())
    assert.is_true(p:write("tail"))
    p:close_stdin()
    assert.equal("tail", p:read())
    assert.equal(0, p:wait())
  end)

  it("merges stderr into stdout with stderr = \"stdout\"", function()
    local p <close> = assert(spawn{"sh", "-c", "echo out; echo err >&2", stderr = "stdout"})
    assert.equal("out\nerr\n", p:read())
    assert.equal(0, p:wait())
  end)

  it("pipes stderr separately and honours env, cwd, null and file paths", function()
    local out = tmpname("out")
    local p <close> = assert(spawn{"sh", "-c", "echo $FOO; pwd; cat; echo e >&2",
                                   env = {FOO = "bar", PATH = os.getenv("PATH")}, cwd = "/tmp",
                                   stdin = "null", stdout = out, stderr = "pipe"})
    assert.is_nil(p.stdin)
    assert.is_nil(p.stdout)
    assert.equal("e", p.stderr:receive("*l"))
    assert.equal(0, p:wait())
    local f = assert(io.open(out))
    assert.equal("bar\n/tmp\n", f:read("a"))
    f:close()
    os.remove(out)
    local q, qerr = spawn{"cat", stdin = out .. ".missing"}
    assert.is_nil(q)
    assert.equal("not found", qerr)
  end)

  it("reports a command that cannot start as nil, err, not exit 127", function()
    local before = fdcount()
    local p, err, errno = spawn{"/nonexistent/command", "x"}
    assert.is_nil(p)
    assert.equal("not found", err)
    assert.is_number(errno)
    p, err = spawn{"no-such-command-anywhere"}
    assert.is_nil(p)
    assert.equal("not found", err)
    local script = tmpname("noexec")
    local f = assert(io.open(script, "w"))
    f:write("#!/bin/sh\necho hi\n")
    f:close()
    p, err = spawn{script}
    assert.is_nil(p)
    assert.equal("permission denied", err)
    os.remove(script)
    p, err = spawn{"true", cwd = "/nonexistent-dir"}
    assert.is_nil(p)
    assert.equal("not found", err)
    p, err = spawn{"cat", stdin = "/nonexistent-dir/file"}
    assert.is_nil(p)
    assert.equal("not found", err)
    assert.equal(before, fdcount())
  end)

  it("rejects bad arguments as programming errors", function()
    assert.has_error(function() spawn("ls") end)
    assert.has_error(function() spawn{} end)
    assert.has_error(function() spawn{"ls", stdout = "stdout"} end)
    assert.has_error(function() spawn{"ls", {}} end)
  end)
end)

describe("Process:wait and kill", function()
  it("times out, then reports death by signal", function()
    local p <close> = assert(spawn{"sleep", "30", stdin = "null", stdout = "null"})
    assert.same({nil, "timeout"}, {p:wait(0.05)})
    assert.is_nil(p:poll())
    assert.is_true(p:kill())
    assert.same({nil, "signal", 15}, {p:wait()})
    assert.same({nil, "signal", 15}, {p:poll()})
    assert.same({nil, "exited"}, {p:kill("KILL")})
  end)

  it("reports children killed by signals they send themselves", function()
    local p <close> = assert(spawn{"sh", "-c", "kill -USR1 $$", stdout = "null"})
    assert.same({nil, "signal", core.signum("SIGUSR1")}, {p:wait()})
    local q <close> = assert(spawn{"sh", "-c", "kill -KILL $$", stdout = "null"})
    assert.same({nil, "signal", 9}, {q:wait()})
  end)

  it("wakes every thread waiting for the same child", function()
    local p <close> = assert(spawn{"sh", "-c", "exit 7", stdin = "null", stdout = "null"})
    local a = core.spawn(function() return p:wait() end)
    local b = core.spawn(function() return p:wait() end)
    assert.equal(7, a:wait())
    assert.equal(7, b:wait())
    assert.equal(7, p:wait())
  end)

  it("leaves no zombie behind and keeps the program going while waiting", function()
    local p = assert(spawn{"sh", "-c", "exit 0", stdin = "null", stdout = "null"})
    local pid = p.pid
    assert.equal(0, p:wait())
    assert.is_nil(pstate(pid))
    p:close()
    local q = assert(spawn{"true", stdin = "null", stdout = "null"})
    core.sleep(0.2)  -- it exits meanwhile; the hub reaps it unasked
    assert.equal(0, zombies())
    assert.equal(0, q:poll())
    q:close()
  end)

  it("reaps a child whose Process was collected while it ran", function()
    local pid
    do
      local p = assert(spawn{"sleep", "0.1", stdin = "null", stdout = "null"})
      pid = p.pid
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(reaped(pid))
  end)
end)

describe("reaping", function()
  it("never steals the exit status of io.popen or os.execute", function()
    local p <close> = assert(spawn{"sleep", "0.05", stdin = "null", stdout = "null"})
    local f = assert(io.popen("sleep 0.1; exit 5"))
    core.sleep(0.2)
    assert.same({nil, "exit", 5}, {f:close()})
    assert.same({nil, "exit", 3}, {os.execute("exit 3")})
    assert.equal(0, p:wait())
  end)

  it("works without pidfds (SIGCHLD mode) as well", function()
    local script = [[
      local core = require "eventlet.core"
      local processes = require "eventlet.processes"
      local ps = {}
      for i = 1, 20 do
        ps[i] = assert(processes.spawn{"sh", "-c", "exit " .. i, stdin = "null", stdout = "null"})
      end
      core.sleep(0.1)
      local sum = 0
      for i = 1, 20 do sum = sum + ps[i]:wait() end
      local out, _, code = processes.run{"sh", "-c", "echo hi; exit 2"}
      local p = assert(processes.spawn{"sleep", "30", stdout = "null"})
      p:kill()
      local _, why, sig = p:wait()
      io.write(sum, " ", out, code, " ", why, " ", sig, "\n")
    ]]
    local out, err, code = run({"lua5.4", "-e", script}, {env = {
      EVENTLET_NO_PIDFD = "1", PATH = os.getenv("PATH"),
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = "lua/?.so;;"}})
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("210 hi\n2 signal 15\n", out)
  end)
end)

describe("pipes", function()
  it("return closed after close_stdin and close", function()
    local p <close> = assert(spawn{"cat"})
    p:close_stdin()
    assert.same({nil, "closed"}, {p:write("x")})
    assert.same({nil, "closed"}, {p:readline()})
    p:close()
    assert.same({nil, "closed"}, {p:read(1)})
    assert.same({nil, "closed"}, {p:readline()})
  end)

  it("report a write to a dead child as closed", function()
    local p <close> = assert(spawn{"true", stdout = "null"})
    assert.equal(0, p:wait())
    assert.same({nil, "closed"}, {p:write(("x"):rep(100000))})
  end)

  it("wake a reader parked on a pipe that another thread closes", function()
    local p <close> = assert(spawn{"sleep", "30"})
    local reader = core.spawn(function() return p.stdout:receive("*l") end)
    core.sleep(0.05)
    p.stdout:close()
    local line, err = reader:wait()
    assert.is_nil(line)
    assert.equal("closed", err)
  end)

  it("stream 10 MB through cat while stdin is being written", function()
    local chunk = ("0123456789abcdef"):rep(64 * 1024)  -- 1 MiB
    local input = chunk:rep(10)
    local out, err, code = run({"cat"}, {input = input})
    assert.equal(0, code)
    assert.equal("", err)
    assert.equal(#input, #out)
    assert.is_true(out == input)
  end)
end)

describe("processes.run", function()
  it("captures stdout, stderr and the exit code", function()
    local out, err, code = run("echo out; echo err >&2; exit 4")
    assert.equal("out\n", out)
    assert.equal("err\n", err)
    assert.equal(4, code)
    out, err, code = run{"cat", input = "abc"}
    assert.same({"abc", "", 0}, {out, err, code})
  end)

  it("reports death by signal and a command that cannot start", function()
    assert.same({"", "", nil, "signal", 9}, {run("kill -9 $$")})
    assert.same({nil, "not found"}, {(function(a, b) return a, b end)(run{"no-such-command-x"})})
  end)

  it("kills the child at the timeout and returns the output so far", function()
    local t0 = core.now()
    local out, err, code, why = run("echo early; exec sleep 30", {timeout = 0.3})
    assert.equal("early\n", out)
    assert.equal("", err)
    assert.is_nil(code)
    assert.equal("timeout", why)
    assert.is_true(core.now() - t0 < 10)
  end)

  it("runs 100 children at once without leaking fds or zombies", function()
    local before = fdcount()
    local results, gts = {}, {}
    for i = 1, 100 do
      gts[i] = core.spawn(function()
        local out, _, code = run{"sh", "-c", "echo $0", tostring(i)}
        results[i] = {out, code}
      end)
    end
    for i = 1, 100 do gts[i]:wait() end
    for i = 1, 100 do assert.same({i .. "\n", 0}, results[i]) end
    assert.equal(before, fdcount())
    assert.equal(0, zombies())
  end)
end)

describe("to-be-closed cleanup", function()
  it("kills and reaps the child and closes pipes when the owner is killed", function()
    local before = fdcount()
    local pid
    local owner = core.spawn(function()
      local p <close> = assert(spawn{"sleep", "30"})
      pid = p.pid
      p:wait()
    end)
    core.sleep(0.05)
    assert.is_number(pid)
    assert.is_true(pstate(pid) ~= nil)
    owner:kill()
    assert.has_error(function() owner:wait() end)
    assert.is_true(reaped(pid))
    assert.equal(before, fds_settle(before))
  end)

  it("cleans up run() when its caller is killed", function()
    local before = fdcount()
    local owner = core.spawn(run, "exec sleep 30", {input = "x"})
    core.sleep(0.1)
    owner:kill()
    assert.has_error(function() owner:wait() end)
    assert.equal(before, fds_settle(before))
  end)
end)

describe("processes.fork", function()
  it("drops the parent's green threads and children in the child", function()
    local file = tmpname("fork")
    local sleeper = core.spawn(core.sleep, 30)
    local other <close> = assert(spawn{"sleep", "30", stdout = "null"})
    core.sleep(0)
    io.stdout:flush()
    io.stderr:flush()
    local pid, child = require("eventlet").fork()
    if pid == 0 then
      local f = io.open(file, "w")
      local _, why = other:wait()
      f:write(tostring(core.stats().live), " ", tostring(sleeper:dead()), " ", why)
      f:close()
      core.die("KILL")
    end
    assert.is_number(pid)
    assert.same({nil, "signal", 9}, {child:wait()})
    local f = assert(io.open(file))
    local live, rest = f:read("n"), f:read("a")
    f:close()
    os.remove(file)
    assert.is_true(live <= core.stats().live - 1)
    assert.equal(" true not a child", rest)
    assert.is_false(sleeper:dead())
    sleeper:kill()
    pcall(sleeper.wait, sleeper)
    child:close()
    assert.is_true(other:kill())
    assert.same({nil, "signal", 15}, {other:wait()})
  end)

  it("drops the parent's exit hooks in the child", function()
    -- The parent's hook would never return (a server draining forever):
    -- a SIGTERM reaching the child while it unwinds the parent's threads
    -- must end it, not run the parent's shutdown there.
    local eventlet = require "eventlet"
    local hook = eventlet.on_exit(function() core.sleep(30) end)
    io.stdout:flush()
    io.stderr:flush()
    local pid, child = processes.fork()
    if pid == 0 then
      core.sleep(5)
      core.die("KILL")
    end
    eventlet.cancel_on_exit(hook)
    assert(child:kill("TERM"))
    local ended = {child:wait(3)}
    if ended[2] == "timeout" then child:kill("KILL") child:wait() end
    child:close()
    assert.same({nil, "signal", 15}, ended)
  end)

  it("keeps the threads in the child when asked", function()
    local file = tmpname("forkkeep")
    local sleeper = core.spawn(core.sleep, 30)
    core.sleep(0)
    io.stdout:flush()
    io.stderr:flush()
    local pid, child = processes.fork{keep_threads = true}
    if pid == 0 then
      local f = io.open(file, "w")
      f:write(tostring(sleeper:dead()))
      f:close()
      core.die("KILL")
    end
    child:wait()
    local f = assert(io.open(file))
    assert.equal("false", f:read("a"))
    f:close()
    os.remove(file)
    sleeper:kill()
    pcall(sleeper.wait, sleeper)
    child:close()
  end)
end)

describe("the seed's Process, DeadProcess and ProcessPool", function()
  it("merges output and raises DeadProcess at the end", function()
    local called = 0
    local p = assert(processes.Process("sh", {"-c", "echo out; echo err >&2"},
                                       function() called = called + 1 end))
    assert.equal("out", p:readline())
    assert.equal("err", p:readline())
    local ok, e = pcall(p.readline, p)
    assert.is_false(ok)
    assert.is_true(processes.DeadProcess.is(e))
    assert.equal("DeadProcess", e.type)
    assert.is_true(p.dead)
    assert.equal(1, called)
    ok, e = pcall(p.write, p, ("x"):rep(100000))
    assert.is_false(ok)
    assert.is_true(processes.DeadProcess.is(e))
    assert.matches("DeadProcess", tostring(e))
    assert.equal(0, p:wait())
    p:close()
  end)

  it("reuses live workers and drops dead ones", function()
    local pool <close> = processes.ProcessPool("cat", {}, {max_size = 2})
    local a = assert(pool:get())
    a:write("ping\n")
    assert.equal("ping", a:readline())
    pool:put(a)
    local b = assert(pool:get())
    assert.equal(a, b)
    b:kill("KILL")
    b:wait()
    assert.has_error(function() b:readline() end)
    pool:put(b)
    assert.equal(0, pool.current_size)
    local c = assert(pool:get())
    assert.are_not.equal(b:getpid(), c:getpid())
    pool:put(c)
  end)

  it("makes callers wait FIFO at max_size", function()
    local pool <close> = processes.ProcessPool("cat", {}, {max_size = 1})
    local first = assert(pool:get())
    local order = {}
    local w1 = core.spawn(function()
      local p = pool:get()
      order[#order + 1] = 1
      pool:put(p)
    end)
    local w2 = core.spawn(function()
      local p = pool:get()
      order[#order + 1] = 2
      pool:put(p)
    end)
    core.sleep(0.01)
    assert.equal(2, pool:waiting())
    assert.same({nil, "timeout"}, {pool:get(0.01)})
    pool:put(first)
    w1:wait()
    w2:wait()
    assert.same({1, 2}, order)
    assert.equal(1, pool.current_size)
  end)
end)
