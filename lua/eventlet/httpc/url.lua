--- eventlet.httpc.url: parse, build and resolve http(s) URLs, and
-- percent-encode query strings.  Pure functions, no I/O.
local string_format = string.format
local string_byte = string.byte
local string_char = string.char
local tonumber = tonumber
local tostring = tostring
local type = type
local pairs = pairs
local ipairs = ipairs
local table_concat = table.concat
local table_sort = table.sort

local _M = {}

local DEFAULT_PORT = {http = 80, https = 443}
_M.DEFAULT_PORT = DEFAULT_PORT

--- Percent-encode every byte outside RFC 3986's unreserved set.
-- @return the encoded string
function _M.encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return string_format("%%%02X", string_byte(c))
  end))
end

--- Decode %XX escapes (and "+" as a space when `plus` is true).
function _M.decode(s, plus)
  if plus then s = s:gsub("+", " ") end
  return (s:gsub("%%(%x%x)", function(h) return string_char(tonumber(h, 16)) end))
end

-- The keys of t in a stable order (strings sorted), so a query built from a
-- table is the same every time.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table_sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- Build "a=1&b=x%20y" from {a=1, b="x y"}; a list value repeats the key
-- ({k={1,2}} -> "k=1&k=2"), `true` gives a bare key.  An array of
-- {name, value} pairs keeps its order.
function _M.encode_query(q)
  local encode = _M.encode
  local parts = {}
  local function add(k, v)
    if v == true then parts[#parts + 1] = encode(k)
    elseif v ~= false then parts[#parts + 1] = encode(k) .. "=" .. encode(v) end
  end
  if q[1] ~= nil then
    for _, pair in ipairs(q) do add(pair[1], pair[2]) end
    return table_concat(parts, "&")
  end
  for _, k in ipairs(sorted_keys(q)) do
    local v = q[k]
    if type(v) == "table" then
      for _, item in ipairs(v) do add(k, item) end
    else
      add(k, v)
    end
  end
  return table_concat(parts, "&")
end

--- Parse "a=1&b=x+y" into {a="1", b="x y"}; repeated keys become lists.
function _M.decode_query(s)
  local q = {}
  for pair in s:gmatch("[^&;]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = _M.decode(k, true), _M.decode(v, true)
    local old = q[k]
    if old == nil then q[k] = v
    elseif type(old) == "table" then old[#old + 1] = v
    else q[k] = {old, v} end
  end
  return q
end

-- Split "host:port" / "[v6]:port" into host and port (nil when absent).
local function split_hostport(hp)
  local host, port = hp:match("^%[([%x:.]+)%]:?(%d*)$")
  if not host then host, port = hp:match("^([^:]*):?(%d*)$") end
  if not host then return nil end
  return host, port ~= "" and tonumber(port) or nil
end

--- Parse an absolute http(s) URL.
-- @return {scheme, host, port, path, query, fragment, user, password}
--   (path always starts with "/"), or nil, err
function _M.parse(s)
  if type(s) ~= "string" then return nil, "url must be a string" end
  -- Spaces and control bytes (CR, LF, NUL, DEL...) would be sent as they
  -- are and could split the request line: percent-encode them instead.
  if s:find("[%c ]") then return nil, "invalid url (space or control character): " .. s:gsub("%c", "?") end
  local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "invalid url: " .. s end
  scheme = scheme:lower()
  if not DEFAULT_PORT[scheme] then return nil, "unsupported scheme: " .. scheme end
  local authority, tail = rest:match("^([^/?#]*)(.*)$")
  local userinfo, hostport = authority:match("^(.*)@(.*)$")
  hostport = hostport or authority
  local host, port = split_hostport(hostport)
  if not host or host == "" then return nil, "invalid url (no host): " .. s end
  if port and (port < 1 or port > 65535) then return nil, "invalid port in url: " .. s end
  local path, query, fragment = tail:match("^([^?#]*)%??([^#]*)#?(.*)$")
  local u = {
    scheme = scheme, host = host:lower(), port = port or DEFAULT_PORT[scheme],
    path = path ~= "" and path or "/", query = query ~= "" and query or nil,
    fragment = fragment ~= "" and fragment or nil,
  }
  if userinfo then
    local user, password = userinfo:match("^([^:]*):?(.*)$")
    u.user, u.password = _M.decode(user), _M.decode(password)
  end
  return u
end

--- "host" or "host:port" as the Host header wants it (port omitted when it
-- is the scheme's default; IPv6 literals bracketed).  Derived strings are
-- memoized in the URL table, which is never modified after parsing.
function _M.host_header(u)
  local hh = u._host
  if hh then return hh end
  hh = u.host:find(":", 1, true) and ("[" .. u.host .. "]") or u.host
  if u.port ~= DEFAULT_PORT[u.scheme] then hh = hh .. ":" .. u.port end
  u._host = hh
  return hh
end

--- The origin "scheme://host:port": the unit of pooling and of credential
-- scoping across redirects.
function _M.origin(u)
  local o = u._origin
  if not o then
    o = u.scheme .. "://" .. u.host .. ":" .. u.port
    u._origin = o
  end
  return o
end

--- The request target "/path?query".
function _M.target(u)
  local t = u._target
  if not t then
    t = u.query and (u.path .. "?" .. u.query) or u.path
    u._target = t
  end
  return t
end

--- The URL back as a string (without the fragment and user info).
function _M.build(u)
  local b = u._url
  if not b then
    b = u.scheme .. "://" .. _M.host_header(u) .. _M.target(u)
    u._url = b
  end
  return b
end

local cache, cached = {}, 0
local CACHE_MAX = 256

--- parse(s), remembered for the URLs used most recently (a client
-- fetching the same URLs again parses each once).  The table returned is
-- shared: read it, never modify it.
function _M.parse_cached(s)
  local u = cache[s]
  if u then return u end
  local err
  u, err = _M.parse(s)
  if not u then return nil, err end
  if cached >= CACHE_MAX then cache, cached = {}, 0 end
  cache[s], cached = u, cached + 1
  return u
end

-- Remove "." and ".." segments (RFC 3986 5.2.4) from a path starting "/".
local function remove_dots(path)
  local segs, out = {}, {}
  for seg in (path:sub(2) .. "/"):gmatch("([^/]*)/") do segs[#segs + 1] = seg end
  for i, seg in ipairs(segs) do
    if seg == ".." then
      out[#out] = nil
      if i == #segs then out[#out + 1] = "" end
    elseif seg == "." then
      if i == #segs then out[#out + 1] = "" end
    else
      out[#out + 1] = seg
    end
  end
  return "/" .. table_concat(out, "/")
end

--- Resolve a reference (a Location header) against a base URL table.
-- @return the absolute URL string, or nil, err
function _M.resolve(base, ref)
  if ref:match("^%a[%w+.-]*://") then return ref end
  if ref:sub(1, 2) == "//" then return base.scheme .. ":" .. ref end
  local prefix = base.scheme .. "://" .. _M.host_header(base)
  if ref:sub(1, 1) == "/" then
    local path, rest = ref:match("^([^?#]*)(.*)$")
    return prefix .. remove_dots(path) .. rest
  end
  if ref:sub(1, 1) == "?" then return prefix .. base.path .. ref end
  if ref == "" then return _M.build(base) end
  local dir = base.path:match("^(.*/)") or "/"
  local path, rest = ref:match("^([^?#]*)(.*)$")
  return prefix .. remove_dots(dir .. path) .. rest
end

--- Append a query table or string to a URL string.
function _M.with_query(s, query)
  if query == nil then return s end
  local q = type(query) == "table" and _M.encode_query(query) or tostring(query)
  if q == "" then return s end
  local base, frag = s:match("^([^#]*)(#?.*)$")
  return base .. (base:find("?", 1, true) and "&" or "?") .. q .. frag
end

return _M
