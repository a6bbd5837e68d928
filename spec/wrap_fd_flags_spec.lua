-- wrap_fd borrows a descriptor: O_NONBLOCK (shared with other processes
-- through the open file description) and FD_CLOEXEC are given back.
describe("wrap_fd", function()
  it("restores the descriptor's flags on detach and before close", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local eventlet = require "eventlet"
      local function flags(fd)
        local info = assert(io.open("/proc/self/fdinfo/" .. fd)):read("a")
        return tonumber(info:match("flags:%s*(%d+)"), 8)
      end
      local NONBLOCK = 0x800
      local before = flags(0) & NONBLOCK
      local s = eventlet.wrap_fd(0)
      local during = flags(0) & NONBLOCK
      assert(s:detach() == 0)
      print(before, during, flags(0) & NONBLOCK)
    ]])
    f:close()
    local p = io.popen("./eventlet-lua " .. script .. " < " .. script .. " 2>&1")
    local out = p:read("a")
    p:close()
    os.remove(script)
    assert.equal("0\t2048\t0\n", out)
  end)
end)
