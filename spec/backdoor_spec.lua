-- eventlet.backdoor over real sockets (TCP and Unix), and the blocking
-- watchdog and loop-lag sampler it reports through hub().
local core = require "eventlet.core"
local eventlet = require "eventlet"
local backdoor = require "eventlet.backdoor"

-- Connect a client socket to "host:port" or "unix:/path".
local function connect(addr)
  local unix = addr:match("^unix:(.*)")
  local sock = assert(core.socket(unix and "unix" or "inet"))
  sock:settimeout(5)
  if unix then
    assert(sock:connect(unix))
  else
    local host, port = addr:match("^(.*):(%d+)$")
    assert(sock:connect(host, tonumber(port)))
  end
  return sock
end

-- Read until the received text ends with `tail` (default the prompt);
-- returns everything read, or nil, err, partial.
local function read_until(sock, tail)
  tail = tail or "\n> "
  local buf = ""
  while buf:sub(-#tail) ~= tail do
    local data, err = sock:recv()
    if not data then return nil, err, buf end
    buf = buf .. data
  end
  return buf
end

-- Send a line and return the output up to the next prompt (prompt cut).
local function eval(sock, line)
  assert(sock:send(line .. "\n"))
  local out = assert(read_until(sock, "> "))
  return (out:gsub(">* $", ""))
end

-- Wait (up to `limit` seconds, default 5) until pred() holds.
local function eventually(pred, limit)
  local deadline = core.now() + (limit or 5)
  while not pred() do
    if core.now() > deadline then return false end
    core.sleep(0.01)
  end
  return true
end

-- Close a server and wait for its sessions to be gone.
local function shutdown(server)
  server:close()
  assert.is_true(eventually(function() return next(server.conns) == nil end))
  server.thread:wait()
end

-- A test body run with a fresh server (closed inside the test: the spec
-- helper checks for leftovers before after_each would run).
local function with_server(opts, body)
  return function()
    local server = assert(backdoor.listen("127.0.0.1:0", opts))
    body(server)
    shutdown(server)
  end
end

describe("backdoor over TCP", function()

  it("greets with a banner and runs a REPL with lua -i rules", with_server(nil, function(server)
    assert.matches("^127%.0%.0%.1:%d+$", server.addr)
    local c = connect(server.addr)
    local banner = assert(read_until(c))
    assert.matches("^eventlet%-lua [%d.]+ backdoor: .* %(pid " .. core.getpid() .. "%), Lua 5%.4\n", banner)
    assert.equal("2\n", eval(c, "1 + 1"))
    assert.equal("", eval(c, "for i = 1, 2 do"))
    assert.equal("", eval(c, "print(i)"))
    assert.equal("1\n2\n", eval(c, "end"))
    assert.equal('{1, 2, k = "v"}\n', eval(c, "{1, 2, k = 'v'}"))
    local err = eval(c, "error('boom')")
    assert.matches("^backdoor:1: boom\nstack traceback:", err)
    assert.equal("ok\n", eval(c, "print('ok')"))
    c:close()
  end))

  it("shows threads() and ends the session with exit()", with_server(nil, function(server)
    local worker = eventlet.spawn(function() eventlet.sleep(10) end)
    worker:name("spec worker")
    local c = connect(server.addr)
    read_until(c)
    local out = eval(c, "threads()")
    assert.matches("spec worker%s+parked", out)
    assert.matches("backdoor listener 127%.0%.0%.1", out)
    assert.matches("%*%s*%d+%s+backdoor eval", out)
    assert.matches("loop lag", eval(c, "hub()"))
    assert(c:send("exit()\n"))
    local rest, err = read_until(c)
    assert.is_nil(rest)
    assert.equal("closed", err)
    c:close()
    worker:kill()
  end))

  it("gives two concurrent clients their own output and globals", with_server(nil, function(server)
    local a, b = connect(server.addr), connect(server.addr)
    read_until(a)
    read_until(b)
    assert.equal("", eval(a, "mine = 'a'"))
    assert.equal("", eval(b, "mine = 'b'"))
    assert.equal('"a"\n', eval(a, "mine"))
    assert.equal('"b"\n', eval(b, "mine"))
    assert.equal("from a\n", eval(a, "print('from a')"))
    -- a thread spawned in a prints to a after its evaluation ended
    assert.matches("^GreenThread", eval(a, "eventlet.spawn(function() eventlet.sleep(0.1) print('late a') end)"))
    assert.equal("from b\n", eval(b, "print('from b')"))
    assert.equal("late a\n", assert(read_until(a, "late a\n")))
    assert.equal("1\n", eval(b, "1"))
    a:close()
    b:close()
  end))

  it("interrupts an evaluation on telnet's IAC IP", with_server(nil, function(server)
    local c = connect(server.addr)
    read_until(c)
    assert(c:send("eventlet.sleep(20) print('not reached')\n"))
    core.sleep(0.05)
    assert(c:send("\255\244"))
    local out = assert(read_until(c))
    assert.matches("^interrupted\nstack traceback:", out)
    assert.not_matches("not reached", out)
    -- at the prompt it drops an unfinished chunk
    assert(c:send("if true then\n"))
    assert.equal(">> ", assert(read_until(c, ">> ")))
    assert(c:send("\255\244"))
    assert.equal("> ", assert(read_until(c, "> ")))
    assert.equal("3\n", eval(c, "3"))
    c:close()
  end))

  it("preempts a loop that never waits, so the program runs and Ctrl-C reaches it",
     with_server(nil, function(server)
    local ticks = 0
    local ticker = eventlet.spawn(function() while true do ticks = ticks + 1 eventlet.sleep(0.01) end end)
    local c = connect(server.addr)
    read_until(c)
    assert(c:send("local n = 0 while true do n = n + 1 end\n"))
    eventlet.sleep(0.2)
    local before = ticks
    eventlet.sleep(0.2)
    assert.is_true(ticks > before, "the program kept running")
    assert(c:send("\255\244"))
    assert.matches("^interrupted\n", assert(read_until(c)))
    assert.equal("8\n", eval(c, "8"))
    c:close()
    ticker:kill()
  end))

  it("survives binary junk and very long lines", with_server({max_line = 1024}, function(server)
    local c = connect(server.addr)
    read_until(c)
    assert.matches("^backdoor:1: ", eval(c, "\0\1\2\254\253junk ) ("))
    local out = eval(c, ("x"):rep(5000))
    assert.equal("backdoor: line longer than 1024 bytes dropped\n", out)
    assert(c:send(("y"):rep(3000)))
    assert(c:send(("y"):rep(3000) .. "\n"))
    assert.equal("backdoor: line longer than 1024 bytes dropped\n", assert(read_until(c)):gsub(">* $", ""))
    assert.equal("2\n", eval(c, "1 + 1"))
    c:close()
  end))

  it("disconnects a client that never reads its output; the program goes on",
     with_server({output_limit = 65536, output_timeout = 0.5}, function(server)
    local ticks = 0
    local ticker = eventlet.spawn(function() while true do ticks = ticks + 1 eventlet.sleep(0.01) end end)
    local c = connect(server.addr)
    c:setoption("rcvbuf", 4096)
    assert(c:send("while true do print(('x'):rep(1000)) end\n"))
    assert.is_true(eventually(function() return next(server.conns) ~= nil end))
    -- the kernel's socket buffers fill first: slow under valgrind
    assert.is_true(eventually(function() return next(server.conns) == nil end, 25))
    local before = ticks
    eventlet.sleep(0.1)
    assert.is_true(ticks > before)
    -- the server still accepts and answers
    local d = connect(server.addr)
    read_until(d)
    assert.equal("5\n", eval(d, "5"))
    d:close()
    c:close()
    ticker:kill()
  end))

  it("ends only the session of a client that vanishes", with_server(nil, function(server)
    local a, b = connect(server.addr), connect(server.addr)
    read_until(a)
    read_until(b)
    assert(a:send("eventlet.sleep(0.2) print('gone')\n"))
    a:close()
    assert.is_true(eventually(function()
      local n = 0
      for _ in pairs(server.conns) do n = n + 1 end
      return n == 1
    end))
    assert.equal("7\n", eval(b, "7"))
    b:close()
  end))

  it("ends a session whose thread is killed from another session", with_server(nil, function(server)
    local a, b = connect(server.addr), connect(server.addr)
    read_until(a)
    read_until(b)
    assert(a:send("eventlet.sleep(10)\n"))
    local id = eval(b, "for _, t in ipairs(eventlet.core.threads()) do "
                       .. "if (t.name or ''):match('^backdoor session') and t.state == 'parked' "
                       .. "and t.waiting == 'wait' then print(t.id) end end"):match("%d+")
    assert.truthy(id)
    assert.matches("^killing", eval(b, "kill(" .. id .. ")"))
    local rest, err = read_until(a)
    assert.is_nil(rest)
    assert.equal("closed", err)
    assert.is_true(eventually(function()
      local n = 0
      for _ in pairs(server.conns) do n = n + 1 end
      return n == 1
    end))
    assert.equal("1\n", eval(b, "1"))
    a:close()
    b:close()
  end))

  it("keeps serving HTTP while a session is open and evaluating", with_server(nil, function(server)
    local httpd = require "eventlet.httpd"
    local web = assert(httpd.server("127.0.0.1:0", function()
      return 200, {["Content-Type"] = "text/plain"}, "hello\n"
    end, {log = false}))
    web:start()
    local host, port = web:address()
    local c = connect(server.addr)
    read_until(c)
    assert(c:send("eventlet.sleep(0.5)\n"))  -- a session busy evaluating
    for _ = 1, 3 do
      local h = connect(host .. ":" .. port)
      assert(h:send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
      local resp = h:receive("*a")
      assert.matches("^HTTP/1%.1 200", resp)
      assert.matches("hello\n$", resp)
      h:close()
    end
    assert.equal("> ", assert(read_until(c, "> ")))
    c:close()
    web:stop()
  end))
end)

describe("backdoor, eventlet's names", function()
  it("backdoor_server(sock, locals) serves sessions on a listening socket", function()
    local sock = assert(core.socket("inet"))
    assert(sock:bind("127.0.0.1", 0))
    assert(sock:listen())
    local _, port = sock:getsockname()
    local server = eventlet.spawn(backdoor.backdoor_server, sock, {answer = 42})
    local c = connect("127.0.0.1:" .. port)
    read_until(c)
    assert.equal("42\n", eval(c, "answer"))
    c:close()
    sock:close()
    server:wait()
  end)

  it("backdoor(conn, addr, locals) runs one session, as a serve handler", function()
    local a, b = core.socketpair()
    local gt = eventlet.spawn(backdoor.backdoor, a, "pair", {answer = 7})
    b:settimeout(5)
    read_until(b)
    assert.equal("7\n", eval(b, "answer"))
    assert(b:send("exit()\n"))
    gt:wait()
    b:close()
  end)
end)

describe("backdoor security", function()
  it("requires the token as the first line, before revealing anything", function()
    local server = assert(backdoor.listen("127.0.0.1:0", {token = "s3cret"}))
    local bad = connect(server.addr)
    assert(bad:send("guess\n"))
    local text = bad:receive("*a")
    assert.equal("backdoor: wrong token\n", text)
    bad:close()
    local good = connect(server.addr)
    assert(good:send("s3cret\n"))
    assert.matches("backdoor", assert(read_until(good)))
    assert.equal("1\n", eval(good, "1"))
    good:close()
    shutdown(server)
  end)

  it("refuses a non-loopback address unless allow_remote", function()
    local server, err = backdoor.listen("0.0.0.0:0")
    assert.is_nil(server)
    assert.matches("refusing .* non%-loopback 0%.0%.0%.0", err)
    server = assert(backdoor.listen("0.0.0.0:0", {allow_remote = true}))
    shutdown(server)
  end)

  it("listens on a Unix socket created with mode 0600, removed on close", function()
    local path = os.tmpname()
    os.remove(path)
    local server = assert(backdoor.listen("unix:" .. path))
    local p = io.popen("stat -c %a " .. path)
    local mode = p:read("l")
    p:close()
    assert.equal("600", mode)
    local c = connect("unix:" .. path)
    read_until(c)
    assert.equal("6\n", eval(c, "2 * 3"))
    c:close()
    shutdown(server)
    assert.is_nil(io.open(path))
  end)
end)

describe("blocking watchdog", function()
  after_each(function() core.watchdog(false) end)

  -- Run Lua code without yielding for `seconds`.
  local function spin(seconds)
    local t = os.clock()
    while os.clock() - t < seconds do end
  end

  it("reports a thread that runs too long, with its name and traceback", function()
    local reports = {}
    core.watchdog(0.1, {report = function(msg, gt) reports[#reports + 1] = {msg, gt} end})
    local gt = eventlet.spawn(spin, 0.5)
    gt:name("spinner")
    gt:wait()
    -- On a loaded machine another thread may stall too and be reported;
    -- the spinner must be reported exactly once, with name and traceback.
    local mine = {}
    for _, r in ipairs(reports) do
      if r[2] == gt then mine[#mine + 1] = r[1] end
    end
    assert.equal(1, #mine)
    assert.matches("^blocking: green thread #%d+ %(spinner%) has run [%d.]+ s without yielding\n"
                   .. "stack traceback:\n.*spec/backdoor_spec%.lua:%d+: in function", mine[1])
    local state = core.watchdog()
    assert.equal(#reports, state.fired)
    assert.equal(0.1, state.threshold)
  end)

  it("stays quiet while the hub waits or threads yield", function()
    local reports = 0
    -- generous threshold: the watchdog measures wall time, and a loaded
    -- machine may deschedule us for a while
    core.watchdog(0.3, {report = function() reports = reports + 1 end})
    eventlet.sleep(1)
    local gt = eventlet.spawn(function()
      for _ = 1, 100 do spin(0.01) eventlet.sleep(0) end
    end)
    gt:wait()
    assert.equal(0, reports)
  end)

  it("raises inside the blocking code when asked to", function()
    core.watchdog(0.1, {raise = true})
    local gt = eventlet.spawn(function() while true do end end)
    local ok, err = pcall(gt.wait, gt)
    assert.is_false(ok)
    assert.matches("^blocking: green thread #%d+ has run", err)
  end)

  it("is off after watchdog(false) and leaves no watchers", function()
    core.watchdog(0.05, {raise = true})
    core.watchdog(false)
    assert.is_false(core.watchdog())
    eventlet.spawn(spin, 0.2):wait()
  end)
end)

describe("loop lag", function()
  after_each(function() core.lag_monitor(false) end)

  it("measures how late the loop ran and the switch rate", function()
    core.lag_monitor(0.02)
    eventlet.sleep(0.1)
    local calm = core.lag_stats()
    assert.is_true(calm.on)
    assert.is_true(calm.samples >= 2)
    local gt = eventlet.spawn(function() local t = os.clock() while os.clock() - t < 0.3 do end end)
    gt:wait()
    eventlet.sleep(0.1)
    local s = core.lag_stats()
    assert.is_true(s.max >= 0.2, "max lag " .. s.max)
    assert.is_true(s.max >= s.mean)
    core.lag_monitor(false)
    assert.is_false(core.lag_stats().on)
  end)

  it("is switched and read through eventlet.debug", function()
    local debug = require "eventlet.debug"
    assert.equal(0.02, debug.switch("loop_lag", 0.02))
    eventlet.sleep(0.1)
    assert.is_true(debug.loop_lag().samples >= 2)
    assert.is_false(debug.switch("loop_lag", false))
    assert.is_false(debug.loop_lag().on)
  end)

  it("counts parked threads with timers and fd waits", function()
    local a, b = core.socketpair()
    local sleeper = eventlet.spawn(function() eventlet.sleep(5) end)
    local reader = eventlet.spawn(function() a:recv() end)
    eventlet.sleep(0.01)
    local timers, fds = core.wait_counts()
    assert.is_true(timers >= 1)
    assert.is_true(fds >= 1)
    sleeper:kill()
    b:close()
    reader:wait()
    a:close()
  end)
end)
