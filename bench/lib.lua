--- bench/lib.lua: what every Lua benchmark program shares.
-- Timing is CPU time of the process (os.clock): the benchmarks are
-- CPU-bound, and CPU time is what other jobs on a shared machine disturb
-- least.  A program prints one line of `key=value` pairs; bench/lib.sh
-- runs it several times and takes the median of each key.
local os_clock = os.clock
local collectgarbage = collectgarbage
local io_open = io.open
local tonumber = tonumber
local format = string.format
local concat = table.concat

local M = {}

--- Seconds of CPU time used by the process so far.
M.clock = os_clock

--- Resident set size of the process in KB (VmRSS), or 0 off Linux.
function M.rss_kb()
  local f = io_open("/proc/self/status")
  if not f then return 0 end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)")) or 0
end

--- Time fn(n) in CPU seconds; returns nanoseconds per operation.
function M.ns_per_op(fn, n)
  collectgarbage("collect")
  local t0 = os_clock()
  fn(n)
  return (os_clock() - t0) * 1e9 / n
end

-- KB allocated by fn(n) with the collector stopped, so nothing allocated
-- can be freed before it is counted.
local function allocated_kb(fn, n)
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  fn(n)
  local after = collectgarbage("count")
  collectgarbage("restart")
  collectgarbage("collect")
  return after - before
end

--- Bytes allocated per operation by fn: the difference between fn(2n)
-- and fn(n), divided by n, so set-up costs (threads, queues) cancel out.
-- BENCH_NO_ALLOC=1 skips it (bench/profile.sh counts the timed part only).
function M.bytes_per_op(fn, n)
  if os.getenv("BENCH_NO_ALLOC") then return 0 end
  local once = allocated_kb(fn, n)
  local bytes = (allocated_kb(fn, 2 * n) - once) * 1024 / n
  return bytes > 0.01 and bytes or 0  -- below that is the collector's noise
end

--- Print one result line: report{ns=12.5, bytes=0} -> "bytes=0 ns=12.5".
function M.report(results)
  local keys = {}
  for k in pairs(results) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = format("%s=%.6g", k, results[k]) end
  print(concat(out, " "))
end

--- The mode and count from the command line: `prog.lua mode [n]`.
function M.args(default_n)
  local mode = arg[1] or error("usage: " .. arg[0] .. " mode [n]")
  return mode, tonumber(arg[2]) or default_n
end

return M
