-- Wrapped sockets: every method, timeouts on each blocking call, close
-- while parked, full duplex, IPv6, Unix, UDP, pipes, bad peers, fds.
local eventlet = require "eventlet"
local core = require "eventlet.core"
local ns = require "net_support"

local pair = ns.pair

local function close_all(...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    if s then s:close() end
  end
end

describe("socket", function()
  local fds_before, fds_after = ns.fd_guard()
  before_each(fds_before)
  after_each(fds_after)

  it("receives lines, counts, everything, with a prefix", function()
    local c, s, l = pair()
    assert.equal(30, c:send("line one\r\nline two\nabcdefg" .. "tail"))
    assert.equal("line one", s:receive())
    assert.equal("line two", s:receive("*l"))
    assert.equal("abc", s:receive(3))
    assert.equal(">>defg", s:receive(4, ">>"))
    c:close()
    assert.equal("tail", s:receive("*a"))
    assert.equal("", s:receive("a"))
    close_all(s, l)
  end)

  it("returns partial data with the error, luasocket style", function()
    local c, s, l = pair()
    c:send("no newline")
    c:close()
    local data, err, partial = s:receive()
    assert.is_nil(data)
    assert.equal("closed", err)
    assert.equal("no newline", partial)
    close_all(s, l)
  end)

  it("recv returns what is there, up to n, and nil, closed at the end", function()
    local c, s, l = pair()
    c:send("hello world")
    eventlet.sleep(0.05)
    assert.equal("hello", s:recv(5))
    assert.equal(" world", s:recv(100))
    c:close()
    local data, err = s:recv(10)
    assert.is_nil(data)
    assert.equal("closed", err)
    close_all(s, l)
  end)

  it("send takes i, j and reports the last byte sent", function()
    local c, s, l = pair()
    assert.equal(4, c:send("abcdef", 2, 4))
    assert.equal(6, c:send("abcdef", 5))
    assert.equal("bcdef", s:receive(5))
    close_all(c, s, l)
  end)

  it("names, options, fd, tostring, timeout getters", function()
    local c, s, l = pair()
    local host, port, fam = l:getsockname()
    assert.equal("127.0.0.1", host)
    assert.equal("inet", fam)
    local phost, pport = c:getpeername()
    assert.equal("127.0.0.1", phost)
    assert.equal(port, pport)
    assert.same({c:getsockname()}, {s:getpeername()})
    assert.is_true(c:setoption("tcp-nodelay", true) == 1)
    assert.is_true(c:getoption("tcp-nodelay"))
    assert.equal(1, c:setoption("keepalive", true))
    assert.is_true(c:getoption("keepalive"))
    assert.equal(1, c:setoption("sndbuf", 65536))
    assert.is_true(c:getoption("sndbuf") >= 65536)
    assert.equal(1, c:setoption("linger", {on = true, timeout = 0}))
    assert.is_true(c:getoption("linger").on)
    assert.equal(1, l:setoption("reuseport", true))
    local deferred, why = l:setoption("tcp-defer-accept", 5)   -- Linux only
    if deferred then
      assert.is_true(l:getoption("tcp-defer-accept") >= 5)   -- rounded up to the resend times
      assert.equal(1, l:setoption("tcp-defer-accept", false))
      assert.equal(0, l:getoption("tcp-defer-accept"))
      assert.equal(1, l:setoption("tcp-defer-accept", 0.2))   -- whole seconds, rounded up
      assert.equal(1, l:getoption("tcp-defer-accept"))
      assert.equal(1, l:setoption("tcp-defer-accept", 1e20))  -- clamped, not overflowed
      assert.is_true(l:getoption("tcp-defer-accept") > 1)
    else
      assert.matches("not", why)
    end
    assert.has_error(function() c:setoption("bogus", 1) end)
    assert.is_true(c:getfd() >= 0)
    assert.matches("socket{tcp client}", tostring(c))
    assert.matches("socket{tcp server}", tostring(l))
    assert.is_nil(c:gettimeout())
    c:settimeout(1.5)
    assert.equal(1.5, c:gettimeout())
    close_all(c, s, l)
    assert.equal(-1, c:getfd())
    assert.matches("closed", tostring(c))
    assert.equal(1, c:close())  -- idempotent
  end)

  it("shutdown(send) ends the peer's stream, the other way still works", function()
    local c, s, l = pair()
    c:send("last words")
    assert.equal(1, c:shutdown("send"))
    assert.equal("last words", s:receive("*a"))
    s:send("reply\n")
    assert.equal("reply", c:receive())
    close_all(c, s, l)
  end)

  it("times out each blocking call: receive, recv, accept, send, connect", function()
    local c, s, l = pair()
    s:settimeout(0.1)
    local t0 = eventlet.now()
    local data, err, partial = s:receive()
    assert.is_nil(data); assert.equal("timeout", err); assert.equal("", partial)
    assert.is_true(eventlet.now() - t0 >= 0.09)
    assert.same({nil, "timeout"}, {s:recv(1)})
    c:send("part")
    assert.same({nil, "timeout", "part"}, {s:receive(10)})
    l:settimeout(0.1)
    assert.same({nil, "timeout"}, {l:accept()})
    -- send: the peer never reads, the buffers fill, the rest times out
    c:setoption("sndbuf", 4096)
    c:settimeout(0.2)
    local big = string.rep("x", 8 * 1024 * 1024)
    local n, serr, last = c:send(big)
    assert.is_nil(n); assert.equal("timeout", serr)
    assert.is_true(last > 0 and last < #big)
    close_all(c, s, l)
    -- connect: a listener whose backlog is full drops new SYNs
    local full = assert(eventlet.listen("127.0.0.1:0", {backlog = 0}))
    local _, port = full:getsockname()
    local fillers = {}
    local err2
    for _ = 1, 16 do
      local f, e = eventlet.connect("127.0.0.1:" .. port, {timeout = 0.2})
      if not f then err2 = e break end
      fillers[#fillers + 1] = f
    end
    assert.equal("timeout", err2)
    for _, f in ipairs(fillers) do f:close() end
    full:close()
  end)

  it("settimeout(0) never waits", function()
    local c, s, l = pair()
    s:settimeout(0)
    assert.same({nil, "timeout", ""}, {s:receive()})
    c:send("x\n")
    eventlet.sleep(0.05)
    assert.equal("x", s:receive())
    close_all(c, s, l)
  end)

  it("a Timeout or kill interrupts a parked read and disarms it", function()
    local c, s, l = pair()
    local ok, e = pcall(eventlet.with_timeout, 0.05, function() return s:receive() end)
    assert.is_false(ok)
    assert.is_true(eventlet.is_timeout(e))
    local gt = eventlet.spawn(function() return s:receive() end)
    eventlet.sleep(0.02)
    gt:kill()
    assert.has_error(function() gt:wait() end)
    c:send("still works\n")
    assert.equal("still works", s:receive())
    close_all(c, s, l)
  end)

  it("close wakes parked readers and writers with nil, closed", function()
    local c, s, l = pair()
    local reader = eventlet.spawn(function() return s:receive() end)
    c:setoption("sndbuf", 4096)
    local writer = eventlet.spawn(function() return c:send(string.rep("y", 4 * 1024 * 1024)) end)
    eventlet.sleep(0.05)
    s:close()
    c:close()
    local r1, r2 = reader:wait()
    assert.is_nil(r1); assert.equal("closed", r2)
    local w1, w2 = writer:wait()
    assert.is_nil(w1); assert.equal("closed", w2)
    l:close()
  end)

  it("two readers at once is an error naming the problem", function()
    local c, s, l = pair()
    local first = eventlet.spawn(function() return s:receive() end)
    eventlet.sleep(0.01)
    local ok, err = pcall(s.receive, s)
    assert.is_false(ok)
    assert.matches("another green thread is already reading", err)
    c:send("one\n")
    assert.equal("one", first:wait())
    close_all(c, s, l)
  end)

  it("reads past its first buffer's size, and every buffer goes back on close", function()
    local held_before = core.stats().read_buffers
    local c, s, l = pair()
    local long = ("0123456789abcdef"):rep(2500)   -- 40,000 bytes: more than a 16 KiB buffer
    assert(c:send("short\n" .. long .. "\nafter"))
    assert.equal("short", s:receive())
    assert.equal(held_before + 1, core.stats().read_buffers)   -- s holds a pooled one
    assert.equal(long, s:receive())       -- grown: moved out of the pool
    assert.equal(held_before, core.stats().read_buffers)
    assert.equal("after", s:receive(5))
    close_all(c, s, l)
    assert.equal(held_before, core.stats().read_buffers)
  end)

  it("keeps 32 given-back buffers warm and reuses the cold ones past them", function()
    local before = core.stats()
    local function read_on_pairs(n, text)
      local socks = {}
      for i = 1, n do
        local c, s, l = pair()
        assert(c:send(text .. i .. "\n"))
        assert.equal(text .. i, s:receive())
        socks[#socks + 1] = c; socks[#socks + 1] = s; socks[#socks + 1] = l
      end
      assert.equal(before.read_buffers + n, core.stats().read_buffers)
      close_all(table.unpack(socks))
      assert.equal(before.read_buffers, core.stats().read_buffers)
    end
    read_on_pairs(40, "first ")
    local warm = core.stats().read_buffers_warm
    if before.read_buffer_pool == "mapped" then
      assert.equal(32, warm)     -- the other 8 went cold: their pages back to the kernel
    else
      assert.equal("malloc", before.read_buffer_pool)   -- a memory checker: no pool
      assert.equal(0, warm)
    end
    read_on_pairs(40, "again ")  -- 32 warm ones, then 8 cold ones, filled afresh
  end)

  it("is full duplex: 8 MB each way at once", function()
    local c, s, l = pair()
    local size = 8 * 1024 * 1024
    local a = string.rep("a", size)
    local b = string.rep("b", size)
    local function pump(sock, out)
      local w = eventlet.spawn(function() return sock:send(out) end)
      local got = sock:receive(size)
      return w:wait(), got
    end
    local other = eventlet.spawn(pump, s, b)
    local sent, got = pump(c, a)
    local osent, ogot = other:wait()
    assert.equal(size, sent); assert.equal(size, osent)
    assert.is_true(got == b)
    assert.is_true(ogot == a)
    close_all(c, s, l)
  end)

  it("accept reports the peer as \"host:port\", host and port", function()
    local l = assert(eventlet.listen("127.0.0.1:0"))
    local c = assert(eventlet.connect("127.0.0.1:" .. select(2, l:getsockname())))
    local s, addr, host, port = l:accept()
    local cport = select(2, c:getsockname())
    assert.same({"127.0.0.1:" .. cport, "127.0.0.1", cport}, {addr, host, port})
    assert.equal("integer", math.type(port))
    close_all(c, s, l)
  end)

  it("works over IPv6 (::1)", function()
    local l = assert(eventlet.listen("[::1]:0"))
    local host, port, fam = l:getsockname()
    assert.equal("::1", host); assert.equal("inet6", fam)
    local c = assert(eventlet.connect("[::1]:" .. port))
    local s, addr, peer_host, peer_port = l:accept()
    local cport = select(2, c:getsockname())
    assert.equal("[::1]:" .. cport, addr)
    assert.equal("::1", peer_host); assert.equal(cport, peer_port)
    c:send("six\n")
    assert.equal("six", s:receive())
    close_all(c, s, l)
  end)

  it("works over Unix sockets, replacing a stale socket file", function()
    local path = os.tmpname()
    os.remove(path)
    local l = assert(eventlet.listen("unix:" .. path))
    assert.equal(path, l:getsockname())
    assert.matches("socket{unix server}", tostring(l))
    local c = assert(eventlet.connect("unix:" .. path))
    local s = assert(l:accept())
    c:send("over unix\n")
    assert.equal("over unix", s:receive())
    close_all(c, s, l)
    -- the file stays behind; nobody listens: listen again replaces it
    local l2 = assert(eventlet.listen({path = path}))
    l2:close()
    os.remove(path)
    assert.same({nil, "no such file or directory"}, {eventlet.connect("unix:" .. path)})
  end)

  it("sends and receives UDP datagrams", function()
    local a = assert(eventlet.listen("127.0.0.1:0", {dgram = true}))
    local _, aport = a:getsockname()
    local b = assert(core.socket("inet", "dgram"))
    assert.equal(5, b:sendto("hello", "127.0.0.1", aport))
    local data, host, port = a:receivefrom()
    assert.equal("hello", data)
    assert.equal("127.0.0.1", host)
    assert.equal(select(2, b:getsockname()), port)
    assert.matches("socket{udp", tostring(a))
    -- connected UDP: send/receive
    local cu = assert(eventlet.connect("127.0.0.1:" .. aport, {dgram = true}))
    cu:send("dgram two")
    assert.equal("dgram two", (a:receive()))
    a:settimeout(0.05)
    assert.same({nil, "timeout"}, {a:receivefrom()})
    close_all(a, b, cu)
  end)

  it("wraps pipes and other fds", function()
    local r, w = core.pipe()
    assert.matches("socket{fd", tostring(r))
    local reader = eventlet.spawn(function() return r:receive("*a") end)
    w:send("through ")
    eventlet.sleep(0.01)
    w:send("a pipe")
    w:close()
    assert.equal("through a pipe", reader:wait())
    r:close()
    local r2, w2 = core.pipe()
    local wrapped = eventlet.wrap_fd(r2:detach())
    assert.equal(-1, r2:getfd())
    w2:send("x\n")
    assert.equal("x", wrapped:receive())
    close_all(wrapped, w2, r2)
  end)

  it("reports refused, reset, writes to a closed peer; never SIGPIPE", function()
    local port = ns.free_port()
    assert.same({nil, "connection refused"}, {eventlet.connect("127.0.0.1:" .. port)})
    local c, s, l = pair()
    s:setoption("linger", {on = true, timeout = 0})
    s:close()
    eventlet.sleep(0.02)
    local data, err = c:receive()
    assert.is_nil(data)
    assert.equal("connection reset by peer", err)
    c:close()
    local c2, s2 = assert(eventlet.connect("127.0.0.1:" .. select(2, l:getsockname()))), assert(l:accept())
    s2:close()
    local last
    for _ = 1, 50 do
      local ok, e = c2:send(string.rep("z", 65536))
      if not ok then last = e break end
      eventlet.sleep(0.005)
    end
    assert.is_true(last == "closed" or last == "connection reset by peer", last)
    close_all(c2, l)
  end)

  it("refuses I/O after close with nil, closed", function()
    local c, s, l = pair()
    c:close()
    assert.same({nil, "closed", ""}, {c:receive()})
    assert.same({nil, "closed", 0}, {c:send("x")})
    assert.has_error(function() c:bind("127.0.0.1", 0) end)
    close_all(s, l)
  end)
end)
