--- Fuzz driver: eventlet.httpdate.  parse must return seconds or nil,
-- "invalid date" for any string, and a date it accepts must come back
-- to the same second through format and parse.
local httpdate = require "eventlet.httpdate"

return function(input)
  local t, err = httpdate.parse(input)
  if not t then
    assert(err == "invalid date", "unexpected error: " .. tostring(err))
    return
  end
  assert(math.type(t) == "integer", "not an integer: " .. tostring(t))
  local s = httpdate.format(t)
  local back = httpdate.parse(s)
  if back ~= t then error(("%q -> %d -> %q -> %s"):format(input, t, s, tostring(back))) end
end
