--- Fuzz driver: eventlet.httpdate.  parse must return seconds or nil,
-- "invalid date" for any string, and a date it accepts must come back
-- to the same second through format and parse (within the four-digit
-- years format keeps to: a leap second after 9999-12-31 23:59:59 or year
-- 0000 are clamped).
local httpdate = require "eventlet.httpdate"

local FIRST, LAST = -62135596800, 253402300799   -- 0001-01-01, 9999-12-31 23:59:59

return function(input)
  local t, err = httpdate.parse(input)
  if not t then
    assert(err == "invalid date", "unexpected error: " .. tostring(err))
    return
  end
  assert(math.type(t) == "integer", "not an integer: " .. tostring(t))
  if t < FIRST or t > LAST then return end
  local s = httpdate.format(t)
  local back = httpdate.parse(s)
  if back ~= t then error(("%q -> %d -> %q -> %s"):format(input, t, s, tostring(back))) end
end
