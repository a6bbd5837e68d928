--- eventlet.logformat: how eventlet.logutil turns a record into a line.
-- A record is a table {time, level, pid, thread, logger, msg, fields};
-- a format is a function(record) -> line (without the newline).
--   text    2026-11-22T03:06:00.123Z INFO 4242 [#3 worker] app: listening k=v
--   json    {"time":"2026-11-22T03:06:00.123Z","level":"info","pid":4242,...}
--   access  127.0.0.1 - - [22/Nov/2026:03:06:00 +0000] "GET / HTTP/1.1" 200 5 0.000120
local os_date = os.date
local math_floor = math.floor
local string_format = string.format
local string_upper = string.upper
local table_concat = table.concat
local table_sort = table.sort
local tostring = tostring
local pairs = pairs
local ipairs = ipairs
local next = next
local type = type
local require = require

local _M = {}

--- RFC 3339 UTC time with milliseconds, from seconds since the epoch.
function _M.isotime(t)
  local s = math_floor(t)
  return string_format("%s.%03dZ", os_date("!%Y-%m-%dT%H:%M:%S", s),
    math_floor((t - s) * 1000))
end

-- Sorted keys of a table, so text lines are stable.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table_sort(keys)
  return keys
end

-- Render one k=v pair; values with spaces or quotes are quoted.
local function pair(k, v)
  v = tostring(v)
  if v:find('[%s"=]') or v == "" then v = string_format("%q", v) end
  return k .. "=" .. v
end

--- Plain text: time, LEVEL, pid, [thread], logger:, message, k=v fields.
function _M.text(r)
  local line = string_format("%s %s %d [%s] %s%s", _M.isotime(r.time),
    string_upper(r.level), r.pid, r.thread, r.logger and (r.logger .. ": ") or "", r.msg)
  local fields = r.fields
  if fields and next(fields) then
    local parts = {line}
    for _, k in ipairs(sorted_keys(fields)) do parts[#parts + 1] = pair(k, fields[k]) end
    line = table_concat(parts, " ")
  end
  return line
end

local cjson
-- Values cjson can encode as they are; others are written with tostring.
local plain = {string = true, number = true, boolean = true}

--- JSON lines: one object per line with time, level, pid, thread, logger,
-- msg and every field (fields never overwrite those keys).
function _M.json(r)
  if not cjson then
    cjson = require("cjson").new()
    if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end
  end
  local obj = {time = _M.isotime(r.time), level = r.level, pid = r.pid,
               thread = r.thread, logger = r.logger, msg = r.msg}
  if r.fields then
    for k, v in pairs(r.fields) do
      k = tostring(k)
      if obj[k] == nil then obj[k] = plain[type(v)] and v or tostring(v) end
    end
  end
  return cjson.encode(obj)
end

local months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                "Oct", "Nov", "Dec"}

-- Common Log Format time: [22/Nov/2026:03:06:00 +0000] (UTC).
local function clftime(t)
  local d = os_date("!*t", math_floor(t))
  return string_format("[%02d/%s/%04d:%02d:%02d:%02d +0000]", d.day,
    months[d.month], d.year, d.hour, d.min, d.sec)
end

-- A CLF field: "-" when absent.
local function dash(v) return v == nil and "-" or tostring(v) end

--- Access lines (the Combined Log Format plus the duration in seconds),
-- from an access record's fields: remote, user, method, target, version,
-- status, bytes, referer, agent, duration.  A record without method and
-- status is a line formatted already (httpd's own): written as it is.
function _M.access(r)
  local f = r.fields
  if not f or (f.method == nil and f.status == nil) then return r.msg end  -- a ready line
  local version = f.version and tostring(f.version)
  if version and not version:find("^HTTP/") then version = "HTTP/" .. version end
  local request = f.method and string_format("%s %s %s", f.method, dash(f.target),
    dash(version)) or r.msg
  local line = string_format('%s - %s %s "%s" %s %s', dash(f.remote), dash(f.user),
    clftime(r.time), request, dash(f.status), dash(f.bytes))
  if f.referer or f.agent then
    line = string_format('%s "%s" "%s"', line, dash(f.referer), dash(f.agent))
  end
  if f.duration then line = string_format("%s %.6f", line, f.duration) end
  return line
end

--- The format function for a name or a function.
function _M.get(format)
  if type(format) == "function" then return format end
  local fn = _M[format or "text"]
  if format == "get" or format == "isotime" or not fn then
    error("logutil: unknown format '" .. tostring(format) .. "' (text, json, access)", 3)
  end
  return fn
end

return _M
