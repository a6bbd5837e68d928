-- eventlet.fs: read, write and stat through the thread pool.
local core = require "eventlet.core"
local fs = require "eventlet.fs"

-- A temporary path unique to this run.
local function tmpname(tag)
  return ("/tmp/eventlet-fs-%d-%s-%s"):format(math.floor(core.time() * 1000), tag,
                                            tostring(math.random(1e9)))
end

describe("eventlet.fs", function()
  it("writes, appends, reads and stats a file", function()
    local path = tmpname("a")
    assert.equal(5, fs.write(path, "hello"))
    assert.equal(6, fs.write(path, " world", "a"))
    assert.equal("hello world", fs.read(path))
    local st = assert(fs.stat(path))
    assert.equal("file", st.type)
    assert.equal(11, st.size)
    assert.is_number(st.mtime)
    assert.equal(0, fs.write(path, ""))
    assert.equal("", fs.read(path))
    os.remove(path)
    assert.equal("directory", fs.stat("/tmp").type)
  end)

  it("moves a large file without stalling other green threads", function()
    local path = tmpname("big")
    local data = ("0123456789abcdef"):rep(1024 * 1024)  -- 16 MiB
    local ticks = 0
    local ticker = core.spawn(function()
      while true do core.sleep(0) ticks = ticks + 1 end
    end)
    assert.equal(#data, fs.write(path, data))
    local back = fs.read(path)
    ticker:kill()
    pcall(ticker.wait, ticker)
    assert.equal(#data, #back)
    assert.is_true(back == data)
    assert.is_true(ticks > 0)
    os.remove(path)
  end)

  it("returns nil, err, errno for expected failures", function()
    local data, err, errno = fs.read("/nonexistent-dir/file")
    assert.is_nil(data)
    assert.equal("no such file or directory", err)
    assert.is_number(errno)
    assert.same({nil, "no such file or directory"},
                {(function(a, b) return a, b end)(fs.stat("/nonexistent-dir"))})
    local n, werr = fs.write("/nonexistent-dir/file", "x")
    assert.is_nil(n)
    assert.equal("no such file or directory", werr)
    local r, rerr = fs.read("/tmp")
    assert.is_nil(r)
    assert.is_string(rerr)
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() fs.read() end)
    assert.has_error(function() fs.write("/tmp/x") end)
    assert.has_error(function() fs.write("/tmp/x", "y", "r") end)
  end)
end)
