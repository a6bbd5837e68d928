--- eventlet.httpdate: HTTP dates (RFC 9110 section 5.6.7).
--
--   httpdate.format(784111777)              --> "Sun, 06 Nov 1994 08:49:37 GMT"
--   httpdate.parse("Sunday, 06-Nov-94 08:49:37 GMT")   --> 784111777
--
-- format writes the preferred IMF-fixdate (RFC 1123) form, always in
-- English and GMT; parse accepts it and the two obsolete forms a
-- recipient must still read: RFC 850 and asctime.
local core = require "eventlet.core"

local tonumber = tonumber
local type = type
local floor = math.floor

local _M = {}

local MONTHS = {Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12}
local WEEKDAYS = {Mon = true, Tue = true, Wed = true, Thu = true, Fri = true, Sat = true, Sun = true}
local LONG_WEEKDAYS = {Monday = true, Tuesday = true, Wednesday = true, Thursday = true,
                       Friday = true, Saturday = true, Sunday = true}

--- format([t]) -> "Sun, 06 Nov 1994 08:49:37 GMT" for the epoch time t
-- (default: now).
function _M.format(t)
  if t ~= nil and type(t) ~= "number" then error("httpdate.format: number expected", 2) end
  return core.http_date(t and floor(t))
end

--- Days from 1970-01-01 to the given civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- The epoch time of a validated date, or nil.
local function epoch(y, mon, d, hh, mm, ss)
  local m = MONTHS[mon]
  y, d, hh, mm, ss = tonumber(y), tonumber(d), tonumber(hh), tonumber(mm), tonumber(ss)
  if not m or d < 1 or d > 31 or hh > 23 or mm > 59 or ss > 60 then return nil end
  return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss
end

--- parse(s) -> epoch seconds, or nil, "invalid date".  Accepts
-- "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 1123), "Sunday, 06-Nov-94
-- 08:49:37 GMT" (RFC 850; two-digit years are taken within 50 years of
-- now, as RFC 9110 asks) and "Sun Nov  6 08:49:37 1994" (asctime).
function _M.parse(s)
  if type(s) ~= "string" then return nil, "invalid date" end
  local wd, d, mon, y, hh, mm, ss = s:match("^(%a%a%a), (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if wd and WEEKDAYS[wd] then
    local t = epoch(y, mon, d, hh, mm, ss)
    if t then return t end
  end
  wd, d, mon, y, hh, mm, ss = s:match("^(%a+), (%d%d)%-(%a%a%a)%-(%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if wd and LONG_WEEKDAYS[wd] then
    local year = 1900 + tonumber(y)
    local this_year = tonumber(os.date("!%Y"))
    while year < this_year - 50 do year = year + 100 end
    local t = epoch(year, mon, d, hh, mm, ss)
    if t then return t end
  end
  wd, mon, d, hh, mm, ss, y = s:match("^(%a%a%a) (%a%a%a) ([ %d]%d) (%d%d):(%d%d):(%d%d) (%d%d%d%d)$")
  if wd and WEEKDAYS[wd] then
    local t = epoch(y, mon, (d:gsub(" ", "")), hh, mm, ss)
    if t then return t end
  end
  return nil, "invalid date"
end

--- The seed's and modern eventlet's name for format.
_M.format_date_time = _M.format

return _M
