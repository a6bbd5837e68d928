--- eventlet.pretty: Lua values as readable text, for the REPL and the
-- backdoor.  Tables are expanded to a depth limit, keys sorted (the array
-- part first), cycles named instead of followed, long tables cut short;
-- values with a __tostring are shown the way their author wants.
local debug_getinfo = debug.getinfo
local getmetatable = getmetatable
local math_type = math.type
local next = next
local pairs = pairs
local rawget = rawget
local rawlen = rawlen
local string_format = string.format
local table_concat = table.concat
local table_sort = table.sort
local tostring = tostring
local type = type
local utf8_len = utf8.len

local _M = {}

local DEFAULTS = {depth = 4, items = 64, width = 78, indent = "  "}

local ESCAPES = {
  ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\0"] = "\\0",
}

-- Escape one byte the way Lua reads it back.
local function escape(c)
  return ESCAPES[c] or string_format("\\%d", c:byte())
end

-- A string as a double-quoted Lua literal: control bytes escaped, and
-- bytes above 127 too unless the string is valid UTF-8 (binary junk
-- stays readable, text stays text).
local function quote(s)
  local body = s:gsub('[%c\\"]', escape)
  if utf8_len(body) == nil then body = body:gsub("[\128-\255]", escape) end
  return '"' .. body .. '"'
end
_M.quote = quote

-- Where a Lua function was defined ("stdin:3"), or nil for C functions.
local function where(fn)
  local info = debug_getinfo(fn, "S")
  if not info or info.what == "C" then return nil end
  return info.short_src .. ":" .. info.linedefined
end

-- tostring that never raises (a failing __tostring is shown, not thrown).
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

-- A scalar or opaque value on one line.
local function atom(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then
    if math_type(v) == "float" and v == v and v % 1 == 0 and v > -1e15 and v < 1e15 then
      return string_format("%.1f", v)
    end
    return tostring(v)
  end
  if t == "function" then
    local at = where(v)
    return at and (safe_tostring(v) .. " <" .. at .. ">") or safe_tostring(v)
  end
  return safe_tostring(v)
end

local IDENT = "^[%a_][%w_]*$"
local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return "
          .. "then true until while"):gmatch("%a+") do KEYWORDS[w] = true end

-- Order keys: numbers first (numerically), then strings, then the rest.
local RANK = {number = 1, string = 2, boolean = 3}
local function key_less(a, b)
  local ra, rb = RANK[type(a)] or 4, RANK[type(b)] or 4
  if ra ~= rb then return ra < rb end
  if ra <= 2 then return a < b end
  return safe_tostring(a) < safe_tostring(b)
end

-- The keys of t outside its array part 1..n, sorted.
local function other_keys(t, n)
  local keys = {}
  for k in next, t do  -- raw: a debugger shows what is there, not __pairs
    if not (math_type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table_sort(keys, key_less)
  return keys
end

local format_value

-- How a key is written inside a table constructor.
local function key_text(k, st)
  if type(k) == "string" and k:match(IDENT) and not KEYWORDS[k] then return k end
  return "[" .. format_value(k, st, st.opts.depth) .. "]"
end

-- Lay out the entries of one table: on one line when they fit, one entry
-- per line otherwise.
local function layout(entries, more, level, st)
  if more > 0 then entries[#entries + 1] = "... (" .. more .. " more)" end
  if #entries == 0 then return "{}" end
  local flat = "{" .. table_concat(entries, ", ") .. "}"
  if #flat + level * #st.opts.indent <= st.opts.width and not flat:find("\n", 1, true) then
    return flat
  end
  local pad = st.opts.indent:rep(level + 1)
  return "{\n" .. pad .. table_concat(entries, ",\n" .. pad) .. "\n" .. st.opts.indent:rep(level) .. "}"
end

-- A table expanded below the depth limit, with cycles and size capped.
local function format_table(t, st, level)
  if st.seen[t] then return "<cycle: " .. safe_tostring(t) .. ">" end
  if level >= st.opts.depth then return "{...}" end
  st.seen[t] = true
  local entries, budget = {}, st.opts.items
  local n = rawlen(t)
  while n > 0 and rawget(t, n) == nil do n = n - 1 end
  local shown = 0
  for i = 1, n do
    if shown >= budget then break end
    shown = shown + 1
    entries[shown] = format_value(rawget(t, i), st, level + 1)
  end
  local keys = other_keys(t, n)
  for i = 1, #keys do
    if shown >= budget then break end
    local k = keys[i]
    shown = shown + 1
    entries[shown] = key_text(k, st) .. " = " .. format_value(rawget(t, k), st, level + 1)
  end
  st.seen[t] = nil
  return layout(entries, n + #keys - shown, level, st)
end

-- Any value at a nesting level.
format_value = function(v, st, level)
  if type(v) ~= "table" then return atom(v) end
  local mt = getmetatable(v)
  if mt and type(mt) == "table" and rawget(mt, "__tostring") then return safe_tostring(v) end
  return format_table(v, st, level)
end

--- Format one value.
-- @param v any Lua value
-- @param opts optional {depth = 4, items = 64, width = 78, indent = "  "}
-- @return string
function _M.format(v, opts)
  local o = DEFAULTS
  if opts then
    o = {}
    for k, d in pairs(DEFAULTS) do o[k] = opts[k] or d end
  end
  return format_value(v, {opts = o, seen = {}}, 0)
end

return _M
