-- eventlet.logutil: levels, formats (text, JSON lines, access), sinks
-- (stderr in a child process, files with SIGHUP reopening, syslog through a
-- Unix datagram collector run by socat, tee, functions), LineLogger, and the
-- core's thread errors routed through it.
local core = require "eventlet.core"
local eventlet = require "eventlet"
local logutil = require "eventlet.logutil"
local logsinks = require "eventlet.logsinks"
local cjson = require "cjson"
local child = require "child_support"

-- A sink collecting lines and records in memory.
local function collector()
  local lines, records = {}, {}
  return function(line, record)
    lines[#lines + 1] = line
    records[#records + 1] = record
  end, lines, records
end

-- A fresh temporary path (the file itself removed).
local function tmppath(suffix)
  local path = os.tmpname()
  os.remove(path)
  return path .. (suffix or "")
end

-- The whole content of a file, or nil.
local function slurp(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

-- Sleep in small steps until check() is true or the time runs out.
local function wait_until(check, seconds)
  local deadline = core.now() + (seconds or 10)
  while not check() do
    if core.now() > deadline then return false end
    eventlet.sleep(0.01)
  end
  return true
end

local TIME = "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ"

describe("eventlet.logutil", function()
  after_each(function() logutil.reset() end)

  describe("text format", function()
    it("carries time, level, pid, thread and logger name", function()
      local sink, lines = collector()
      logutil.configure{sink = sink, format = "text"}
      logutil.get("app"):info("listening on %s:%d", "127.0.0.1", 8080)
      assert.equal(1, #lines)
      local expected = "^" .. TIME .. " INFO " .. core.getpid() .. " %[" ..
        logutil.thread_label():gsub("%p", "%%%0") .. "%] app: listening on 127%.0%.0%.1:8080$"
      assert.matches(expected, lines[1])
    end)

    it("names the green thread that logs", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      local gt = eventlet.spawn(function() logutil.warn("from worker") end)
      gt:name("worker")
      gt:wait()
      assert.matches(" WARN %d+ %[#" .. gt:id() .. " worker%] from worker$", lines[1])
    end)

    it("filters by level and appends fields as k=v", function()
      local sink, lines = collector()
      logutil.configure{sink = sink, level = "warning"}
      local log = logutil.get("lvl")
      log:debug("no")
      log:info("no")
      log:warn("yes")
      log:event("error", "fields", {b = "two words", a = 1})
      assert.equal(2, #lines)
      assert.matches("WARN .* lvl: yes$", lines[1])
      assert.matches('ERROR .* lvl: fields a=1 b="two words"$', lines[2])
      assert.is_false(log:enabled("info"))
      log:configure{level = "debug"}
      log:debug("now %s", "yes")
      assert.matches("DEBUG .* lvl: now yes$", lines[3])
      assert.has_error(function() log:log("loud", "x") end)
    end)

    it("writes a message without arguments as is, % signs included", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      logutil.info("100% sure")
      assert.matches(" 100%% sure$", lines[1])
    end)
  end)

  describe("JSON lines", function()
    it("parse back with cjson, fields included", function()
      local sink, lines = collector()
      logutil.configure{sink = sink, format = "json", level = "debug"}
      local log = logutil.get("json")
      log:debug('quote " and\nnewline')
      log:event("warn", "slow", {path = "/x", seconds = 2.5, level = "not overwritten"})
      assert.equal(2, #lines)
      for _, line in ipairs(lines) do assert.is_nil(line:find("\n")) end
      local a, b = cjson.decode(lines[1]), cjson.decode(lines[2])
      assert.equal('quote " and\nnewline', a.msg)
      assert.equal("debug", a.level)
      assert.equal(core.getpid(), a.pid)
      assert.equal(logutil.thread_label(), a.thread)
      assert.equal("json", a.logger)
      assert.matches("^" .. TIME .. "$", a.time)
      assert.equal("warn", b.level)
      assert.equal("/x", b.path)
      assert.equal(2.5, b.seconds)
    end)
  end)

  describe("the access log", function()
    it("writes the Combined Log Format plus the duration in text mode", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      local access = logutil.access_logger()
      access:access{remote = "127.0.0.1", method = "GET", target = "/a?b=1", version = "1.1",
                    status = 200, bytes = 5, duration = 0.00012}
      access:access{remote = "::1", method = "POST", target = "/", version = "1.0",
                    status = 404, referer = "http://x/", agent = "curl/8"}
      assert.matches('^127%.0%.0%.1 %- %- %[%d%d/%a%a%a/%d%d%d%d:%d%d:%d%d:%d%d %+0000%] ' ..
                     '"GET /a%?b=1 HTTP/1%.1" 200 5 0%.000120$', lines[1])
      assert.matches('^::1 %- %- %[.-%] "POST / HTTP/1%.0" 404 %- "http://x/" "curl/8"$', lines[2])
    end)

    it("writes a line formatted elsewhere (httpd's log = function(line)) as it is", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      local access = logutil.access_logger()
      local line = '10.0.0.2 - - [22/Nov/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 14 "-" "-" 0.000113'
      access:event("info", line)
      assert.equal(line, lines[1])
    end)

    it("follows the root to JSON and to its sink", function()
      local sink, lines = collector()
      logutil.configure{sink = sink, format = "json"}
      logutil.access_logger():access{remote = "10.0.0.1", method = "GET", target = "/",
                                     status = 204, bytes = 0}
      local r = cjson.decode(lines[1])
      assert.equal("access", r.logger)
      assert.equal(204, r.status)
      assert.equal("10.0.0.1", r.remote)
    end)

    it("can have a sink of its own", function()
      local root_sink, root_lines = collector()
      local own_sink, own_lines = collector()
      logutil.configure{sink = root_sink}
      local access = logutil.access_logger{name = "access2", sink = own_sink}
      access:access{method = "GET", target = "/", status = 200}
      logutil.info("root line")
      assert.equal(1, #own_lines)
      assert.equal(1, #root_lines)
      assert.matches("root line$", root_lines[1])
    end)
  end)

  describe("sinks", function()
    it("stderr: lines reach the stderr of a child process", function()
      local err = tmppath()
      for _, runtime in ipairs(child.RUNTIMES) do
        local out, status = child.run("", runtime, [[
          local l = require "eventlet.logutil"
          l.configure{sink = "stderr"}
          l.get("child"):error("to stderr %d", 42)
        ]], err)
        assert.equal(0, status)
        assert.equal("", out)
        assert.matches("^" .. TIME .. " ERROR %d+ %[[^%]]+%] child: to stderr 42\n$", slurp(err))
      end
      os.remove(err)
    end)

    it("file: appends lines and closes", function()
      local path = tmppath(".log")
      logutil.configure{sink = "file:" .. path}
      logutil.info("one")
      logutil.get("x"):error("two")
      logutil.reset()
      local data = slurp(path)
      os.remove(path)
      assert.matches("INFO %d+ %[.-%] one\n.*ERROR %d+ %[.-%] x: two\n$", data)
    end)

    it("file: reopens on SIGHUP after a rename (log rotation)", function()
      local path = tmppath(".log")
      logutil.configure{sink = path}
      logutil.info("before rotation")
      assert.is_true(os.rename(path, path .. ".1"))
      logutil.info("still to the renamed file")
      assert.is_true(os.execute("kill -HUP " .. core.getpid()))
      assert.is_true(wait_until(function() return slurp(path) ~= nil end))
      logutil.info("after rotation")
      logutil.reset()
      local old, new = slurp(path .. ".1"), slurp(path)
      os.remove(path)
      os.remove(path .. ".1")
      assert.matches("before rotation\n.*still to the renamed file\n$", old)
      assert.is_nil(old:find("after rotation", 1, true))
      assert.matches("^[^\n]*after rotation\n$", new)
    end)

    it("file: a sink object given to configure stays open; one opened from a spec closes", function()
      local path, path2 = tmppath(".log"), tmppath(".log")
      local mine = assert(logsinks.file(path))
      logutil.get("owned"):configure{sink = mine}
      logutil.configure{sink = "file:" .. path2}
      logutil.get("owned"):info("one")
      logutil.reset()
      mine:write("still open")
      mine:close()
      local data, data2 = slurp(path), slurp(path2)
      os.remove(path)
      os.remove(path2)
      assert.matches("owned: one\nstill open\n$", data)
      assert.equal("", data2)
    end)

    it("file: reports a path that cannot be opened", function()
      local sink, err = logsinks.file("/nonexistent-dir/x.log")
      assert.is_nil(sink)
      assert.matches("No such file", err)
      assert.has_error(function() logutil.configure{sink = "file:/nonexistent-dir/x.log"} end)
    end)

    -- Start socat receiving datagrams at sock into out; returns its pid.
    local function collector_process(sock, out)
      local pidfile = tmppath(".pid")
      os.execute(("socat -u UNIX-RECV:%s OPEN:%s,creat,append >/dev/null 2>&1 & echo $! > %s")
        :format(sock, out, pidfile))
      local pid = slurp(pidfile):match("%d+")
      os.remove(pidfile)
      assert.is_true(wait_until(function() return os.execute("test -S " .. sock) end))
      return pid
    end

    -- Stop a collector and remove its socket.
    local function stop_collector(pid, sock)
      os.execute("kill " .. pid .. "; while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.01; done")
      os.remove(sock)
    end

    -- Wait for text to show up in a file; return the file's content.
    local function wait_for(path, text)
      assert.is_true(wait_until(function()
        local data = slurp(path)
        return data and data:find(text, 1, true)
      end), "no '" .. text .. "' in " .. path)
      return slurp(path)
    end

    it("syslog: RFC 3164 datagrams reach a collector socket (socat)", function()
      assert.is_true(os.execute("command -v socat >/dev/null"), "socat is needed (scripts/deps.sh)")
      local sock, out = tmppath(".sock"), tmppath(".out")
      local pid = collector_process(sock, out)
      local sink = assert(logsinks.syslog{ident = "spec", facility = "local3", socket = sock})
      logutil.configure{sink = sink, format = "text"}
      logutil.get("sys"):error("to syslog")
      logutil.warn("second")
      local data = wait_for(out, "second")
      stop_collector(pid, sock)
      -- local3 = 19 * 8; err = 3, warning = 4
      local me = core.getpid()
      assert.matches("<155>%a%a%a [ %d]%d %d%d:%d%d:%d%d spec%[" .. me .. "%]: " .. TIME ..
                     " ERROR " .. me .. " %[.-%] sys: to syslog", data)
      assert.matches("<156>.- spec%[" .. me .. "%]: .* WARN .* second", data)

      -- the collector is gone: the line is dropped with an error, not raised
      local ok, err = sink:write("lost", {level = "info"})
      assert.is_nil(ok)
      assert.is_string(err)
      -- a restarted collector at the same path is reconnected to
      local out2 = tmppath(".out")
      pid = collector_process(sock, out2)
      logutil.info("after restart")
      data = wait_for(out2, "after restart")
      stop_collector(pid, sock)
      logutil.reset()
      sink:close()   -- a sink object passed to configure stays the caller's
      os.remove(out)
      os.remove(out2)
      assert.matches("^<158>.- spec%[" .. me .. "%]: .* INFO .* after restart$", data)
      assert.matches("SyslogSink %(spec %-> .*%.sock, closed%)", tostring(sink))
    end)

    it("syslog: reports a collector that is not there", function()
      local sink, err = logsinks.syslog{socket = tmppath(".sock")}
      assert.is_nil(sink)
      assert.matches("No such file", err)
    end)

    it("syslog: without a socket goes through syslog(3) (delivery unverifiable here)", function()
      local sink = assert(logsinks.syslog{ident = "eventlet-spec", facility = "user"})
      assert.is_true(sink:write("spec message via syslog(3)", {level = "debug"}))
      assert.matches("syslog%(3%)", tostring(sink))
      sink:close()
      assert.has_error(function() sink:write("closed", {level = "info"}) end)
    end)

    it("tee: every line to each sink", function()
      local a, a_lines = collector()
      local path = tmppath(".log")
      logutil.configure{sink = {a, "file:" .. path}}
      logutil.info("both")
      logutil.reset()
      local data = slurp(path)
      os.remove(path)
      assert.matches("both$", a_lines[1])
      assert.equal(a_lines[1] .. "\n", data)
    end)
  end)

  describe("LineLogger", function()
    it("turns writes into lines, keeping a partial one until flush", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      local ll = logutil.LineLogger(logutil.get("out"), "warn")
      ll:write("first\nsec", "ond\r\n"):write(3, "rd")
      assert.equal(2, #lines)
      ll:flush()
      ll:flush()
      assert.equal(3, #lines)
      assert.matches("WARN .* out: first$", lines[1])
      assert.matches("out: second$", lines[2])
      assert.matches("out: 3rd$", lines[3])
    end)
  end)

  describe("the seed's names", function()
    it("LineLogger(emit) calls emit per line", function()
      local got = {}
      local ll = logutil.LineLogger(function(line) got[#got + 1] = line end)
      ll:write("a\nb\n", "c")
      ll:close()
      assert.same({"a", "b", "c"}, got)
    end)

    it("file_logger and stream_logger make loggers of their own", function()
      local root_sink, root_lines = collector()
      logutil.configure{sink = root_sink}
      local path = tmppath(".log")
      local flog, fsink = logutil.file_logger(path)
      flog:warn("to the file")
      local buf = {}
      local slog = logutil.stream_logger({write = function(_, ...) buf[#buf + 1] = table.concat{...} end})
      slog:error("to the stream")
      fsink:close()
      local data = slurp(path)
      os.remove(path)
      assert.equal(0, #root_lines)
      assert.matches("^" .. TIME .. " WARN %d+ %[.-%] to the file\n$", data)
      assert.matches(" ERROR %d+ %[.-%] to the stream\n$", buf[1])
      assert.equal("Logger (unnamed)", tostring(flog))
    end)
  end)

  describe("errors that end green threads", function()
    it("go through logutil once configured, with the traceback", function()
      local sink, lines, records = collector()
      logutil.configure{sink = sink}
      local gt = eventlet.spawn(function() error("boom in thread") end)
      gt:name("doomed")
      assert.has_error(function() gt:wait() end)
      assert.equal(1, #lines)
      assert.equal("error", records[1].level)
      assert.equal("eventlet", records[1].logger)
      assert.matches("green thread #%d+ doomed died: .*boom in thread\nstack traceback:", lines[1])
    end)

    it("are silenced by hub_exceptions(false) and print again after reset", function()
      local sink, lines = collector()
      logutil.configure{sink = sink}
      local dbg = require "eventlet.debug"
      dbg.hub_exceptions(false)
      local gt = eventlet.spawn(error, "quiet")
      pcall(gt.wait, gt)
      dbg.hub_exceptions(true)
      assert.equal(0, #lines)
    end)

    it("one setting redirects everything: loggers, access log, thread errors", function()
      local path = tmppath(".log")
      local out, status = child.run("", child.HOST, [[
        local eventlet = require "eventlet"
        local logutil = require "eventlet.logutil"
        logutil.configure{sink = "file:]] .. path .. [[", format = "json"}
        logutil.get("app"):info("app line")
        logutil.access_logger():access{method = "GET", target = "/", status = 200}
        eventlet.spawn(error, "thread error")
        eventlet.sleep(0.01)
      ]])
      local data = slurp(path) or ""
      os.remove(path)
      assert.equal(0, status)
      assert.equal("", out)
      local loggers = {}
      for line in data:gmatch("[^\n]+") do
        local r = cjson.decode(line)
        loggers[#loggers + 1] = r.logger
      end
      assert.same({"app", "access", "eventlet"}, loggers)
    end)
  end)
end)
