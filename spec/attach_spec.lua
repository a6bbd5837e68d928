-- eventlet-lua --backdoor / --attach: the host's server option and its
-- line-editing client, driven through a real pseudo-terminal (tmux) against
-- a real server process.
local core = require "eventlet.core"

local TMUX = "tmux -L eventlet-attach-spec-" .. core.getpid()

-- Run a shell command; return its output.
local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1"))
  local out = p:read("a")
  p:close()
  return out
end

-- Wait (up to `limit` seconds) until fn() returns a truthy value.
local function eventually(fn, limit)
  local deadline = core.now() + (limit or 10)
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.05)
  until core.now() > deadline
  return nil
end

-- A temporary directory, removed by the returned function.
local function tempdir()
  local dir = sh("mktemp -d"):gsub("%s+$", "")
  return dir, function() os.execute("rm -rf '" .. dir .. "'") end
end

-- Start `eventlet-lua --backdoor 127.0.0.1:0 script` in the background;
-- returns its address and pid.  The script runs until _G.stop is set.
local function start_server(dir, env)
  local script = dir .. "/server.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
    local eventlet = require "eventlet"
    ticks = 0
    while not stop do ticks = ticks + 1 eventlet.sleep(0.02) end
  ]])
  f:close()
  os.execute(("%s ./eventlet-lua --backdoor 127.0.0.1:0 %s 2>%s/err & echo $! > %s/pid")
    :format(env or "", script, dir, dir))
  local addr = eventually(function()
    local e = io.open(dir .. "/err")
    local text = e and e:read("a")
    if e then e:close() end
    return text and text:match("backdoor listening on (%S+)")
  end)
  local p = assert(io.open(dir .. "/pid"))
  local pid = p:read("n")
  p:close()
  return assert(addr, "the server did not start"), pid
end

-- Whether a process is still alive.
local function alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

-- The text on the tmux pane.
local function screen()
  return sh(TMUX .. " capture-pane -p -t attach")
end

-- Send keys to the pane (tmux key names, or literal text with -l).
local function keys(...)
  local args = {}
  for i, k in ipairs({...}) do args[i] = "'" .. k .. "'" end
  os.execute(TMUX .. " send-keys -t attach " .. table.concat(args, " "))
end

-- Wait until the client shows an empty prompt on its last line.
local function at_prompt()
  return eventually(function()
    local last = screen():gsub("%s+$", ""):match("[^\n]*$")
    return last == ">"
  end)
end

-- Type a line, press Enter, wait for the next prompt.
local function type_line(text)
  os.execute(TMUX .. " send-keys -t attach -l '" .. text .. "'")
  keys("Enter")
  at_prompt()
end

-- Wait until the pane shows `pattern`; return the screen.
local function shows(pattern)
  return eventually(function()
    local s = screen()
    return s:find(pattern) and s
  end)
end

describe("eventlet-lua --attach", function()
  it("exits 1 when nothing listens there", function()
    local out = sh("./eventlet-lua --attach 127.0.0.1:1 </dev/null; echo status=$?")
    assert.matches("cannot attach to 127%.0%.0%.1:1", out)
    assert.matches("status=1\n$", out)
  end)

  it("--backdoor keeps its token from the environment children inherit", function()
    local out = sh("EVENTLET_BACKDOOR_TOKEN=s3cret ./eventlet-lua --backdoor 127.0.0.1:0 "
                   .. "-e 'print(os.getenv(\"EVENTLET_BACKDOOR_TOKEN\"))' 2>/dev/null")
    assert.equal("nil\n", out)
  end)

  it("--backdoor refuses a non-loopback address before running anything", function()
    local out = sh("./eventlet-lua --backdoor 0.0.0.0:0 -e 'print(\"ran\")'; echo status=$?")
    assert.matches("backdoor: refusing to bind the backdoor to non%-loopback 0%.0%.0%.0", out)
    assert.not_matches("ran", out)
    assert.not_matches("traceback", out)
    assert.matches("status=1\n$", out)
  end)

  it("exits 2 when the server refuses the token", function()
    local dir, cleanup = tempdir()
    local addr, pid = start_server(dir, "EVENTLET_BACKDOOR_TOKEN=right")
    local out = sh("EVENTLET_BACKDOOR_TOKEN=wrong ./eventlet-lua --attach " .. addr
                   .. " </dev/null; echo status=$?")
    assert.matches("backdoor: wrong token", out)
    assert.matches("status=2\n$", out)
    out = sh("printf 'stop = nil; _G.stop = true\\n' | EVENTLET_BACKDOOR_TOKEN=right ./eventlet-lua --attach "
             .. addr .. "; echo status=$?")
    assert.matches("status=0\n$", out)
    assert.truthy(eventually(function() return not alive(pid) end), "the server ended with its script")
    cleanup()
  end)

  it("eventlet-lua -i: Ctrl-C interrupts an evaluation, and exits at the prompt", function()
    os.execute(TMUX .. [[ new-session -d -s attach -x 120 -y 40 "./eventlet-lua -i; echo EXIT=\$?; sleep 30"]])
    at_prompt()
    os.execute(TMUX .. " send-keys -t attach -l 'while true do end'")
    keys("Enter")
    core.sleep(0.3)
    keys("C-c")
    assert.truthy(shows("interrupted\nstack traceback:"), screen())
    at_prompt()
    type_line("6 * 7")
    assert.truthy(shows("\n42\n"), screen())
    keys("C-c")
    assert.truthy(shows("EXIT=130"), screen())
    os.execute(TMUX .. " kill-server")
  end)

  it("edits lines, keeps history, interrupts with Ctrl-C and ends with Ctrl-D", function()
    local dir, cleanup = tempdir()
    local addr, pid = start_server(dir)
    os.execute(("%s new-session -d -s attach -x 120 -y 40 "
                .. "\"HOME=%s ./eventlet-lua --attach %s; echo EXIT=\\$?; sleep 30\"")
      :format(TMUX, dir, addr))
    assert.truthy(shows("backdoor: .*server%.lua"), "screen:\n" .. screen())
    at_prompt()
    type_line("x = 41")
    type_line("x + 1")
    assert.truthy(shows("\n42\n"), screen())
    -- line editing: type, go to the start of the line, insert
    os.execute(TMUX .. " send-keys -t attach -l '0 + 1'")
    keys("C-a")
    os.execute(TMUX .. " send-keys -t attach -l '1'")
    keys("Enter")
    assert.truthy(shows("\n11\n"), screen())
    -- history: Up recalls the previous line
    keys("Up", "Enter")
    assert.truthy(shows("\n11\n.*\n11\n"), screen())
    -- output of a background thread appears while a line is being typed
    type_line("eventlet.spawn(function() eventlet.sleep(0.3) print(\"from the background\") end)")
    os.execute(TMUX .. " send-keys -t attach -l 'partial'")
    assert.truthy(shows("from the background"), screen())
    keys("C-u")
    -- Ctrl-C interrupts a loop that never waits; the program keeps running
    type_line("t0 = ticks")
    os.execute(TMUX .. " send-keys -t attach -l 'while true do end'")
    keys("Enter")
    core.sleep(0.3)
    keys("C-c")
    assert.truthy(shows("interrupted"), screen())
    type_line("ticks > t0")
    assert.truthy(shows("\ntrue\n"), screen())
    -- Ctrl-D ends the session; the client exits 0
    keys("C-d")
    assert.truthy(shows("EXIT=0"), screen())
    local h = io.open(dir .. "/.eventlet_history")
    local history = h and h:read("a") or ""
    if h then h:close() end
    assert.matches("x\\040%+\\0401", history)
    os.execute(TMUX .. " kill-server")
    -- the server goes on, and ends with its script
    assert.is_true(alive(pid))
    sh("printf '_G.stop = true\\n' | ./eventlet-lua --attach " .. addr)
    assert.truthy(eventually(function() return not alive(pid) end), "the server ended with its script")
    cleanup()
  end)
end)
