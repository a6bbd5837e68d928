--- eventlet.fs: file reads, writes and stat on the thread pool, so a
-- large file or a slow disk stalls only the calling green thread.
-- Expected failures return nil, err, errno ("no such file or directory",
-- "permission denied", ...).
local tpool = require "eventlet.tpool"

local execute, jobs = tpool.execute, tpool.jobs

local _M = {}

--- read(path) -> the whole file as a string, or nil, err, errno.
function _M.read(path)
  return execute(jobs.read, path)
end

--- write(path, data[, mode]) -> #data, or nil, err, errno.  mode "w"
-- (default: create or truncate) or "a" (append).
function _M.write(path, data, mode)
  return execute(jobs.write, path, data, mode or "w")
end

--- stat(path) -> {type, size, mode, mtime, atime, ctime, uid, gid, nlink,
-- ino}, or nil, err, errno.  type: "file", "directory", "fifo", ...
function _M.stat(path)
  return execute(jobs.stat, path)
end

return _M
