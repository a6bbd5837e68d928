--- eventlet.timeout: modern eventlet's timeout module (eventlet.timeout),
-- for code that requires it by that name.  The same objects as
-- eventlet.Timeout, eventlet.with_timeout and eventlet.is_timeout.
local eventlet = require "eventlet"

return {
  Timeout = eventlet.Timeout,
  with_timeout = eventlet.with_timeout,
  with_timeout_value = eventlet.with_timeout_value,
  is_timeout = eventlet.is_timeout,
}
