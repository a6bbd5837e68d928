--- eventlet.tpool: run blocking C calls on the core's thread pool.
-- execute(job, ...) parks only the calling green thread while a pool
-- thread runs the job; a Timeout or kill ends the wait (the job itself
-- finishes in the background and is cleaned up).  Jobs are C: a Lua
-- function cannot run on another OS thread (a Lua state belongs to one
-- thread), so a job is a light userdata exported by a C module (see
-- src/tpool.h and docs/processes.md).  The core's own jobs are in
-- tpool.jobs: read, write, stat (used by eventlet.fs) and sleep.
local core = require "eventlet.core"

local execute = core.tpool_execute
local type, error = type, error

local _M = {jobs = core.tpool_jobs()}

--- execute(job, ...) -> the job's results.
function _M.execute(job, ...)
  if type(job) == "function" then
    error("tpool.execute: Lua functions cannot run on the thread pool; "
          .. "pass a C job (light userdata from a C module)", 2)
  end
  return execute(job, ...)
end

return _M
