--- eventlet.waiters: a FIFO list of parked green threads, the waiters of
-- every blocking primitive (Event, Semaphore, Queue, channel, pools).
-- The list is the core's waitq (src/waitq.c): it holds exactly the threads
-- still parked in it -- a waiter that times out or is killed leaves it as
-- its park ends -- so waking the head always reaches a live waiter, and
-- values handed to a wake are returned by that waiter's wait.  Waiting
-- and waking allocate nothing.
--   q = waiters.new()
--   q:wait([timeout[, what[, item]]]) -> true, values... | nil, "timeout"
--   q:wake(...) -> true, item | false      (item: what the waiter left)
--   q:wake_all(...) -> n;  q:wake_thread(gt, ...) -> bool;  #q, q:count()
-- The hot paths are also plain functions (_M.wait, _M.wake).  Internal
-- module.
local core = require "eventlet.core"

local new = core.waitq
local methods = getmetatable(new()).__index

return {
  new = new,
  wait = methods.wait,
  wake = methods.wake,
}
