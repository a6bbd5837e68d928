--- eventlet.httpc.proxy: which proxy, if any, a request goes through.
-- opts.proxy (false = none, a URL string, or {http=, https=, no_proxy=})
-- wins over the environment: http_proxy (lower case only, as curl: the
-- upper-case one is settable by CGI clients), https_proxy/HTTPS_PROXY,
-- all_proxy/ALL_PROXY and no_proxy/NO_PROXY.  Pure functions, no I/O.
local url = require "eventlet.httpc.url"

local os_getenv = os.getenv
local type = type
local tonumber = tonumber
local select = select

local _M = {}

-- The first non-empty environment variable of the names given.
local function env(getenv, ...)
  for i = 1, select("#", ...) do
    local v = getenv((select(i, ...)))
    if v and v ~= "" then return v end
  end
  return nil
end

--- True when a no_proxy list ("localhost,.example.com,10.0.0.1,host:8080,*")
-- exempts host:port.  An entry matches the host itself and its subdomains
-- (a leading dot is optional); an entry with a port matches that port only.
function _M.bypass(no_proxy, host, port)
  if not no_proxy or no_proxy == "" then return false end
  host = host:lower()
  for entry in no_proxy:gmatch("[^,%s]+") do
    entry = entry:lower()
    if entry == "*" then return true end
    local name, eport = entry:match("^%[?([^%]]-)%]?:(%d+)$")
    if not name then name = entry:match("^%[?([^%]]-)%]?$") or entry end
    name = name:gsub("^%.", "")
    if (not eport or tonumber(eport) == port) and name ~= "" then
      if host == name or host:sub(-(#name + 1)) == "." .. name then return true end
    end
  end
  return false
end

-- Parse a proxy URL; a bare "host:port" means http://host:port.
local function parse_proxy(s)
  if not s:match("^%a[%w+.-]*://") then s = "http://" .. s end
  local p, err = url.parse(s)
  if not p then return nil, "invalid proxy: " .. err end
  if p.scheme ~= "http" then return nil, "unsupported proxy scheme: " .. p.scheme end
  return p
end

--- The proxy settings of the environment as {http=, https=, no_proxy=},
-- or false when no proxy is set.  `getenv` defaults to os.getenv.
function _M.from_env(getenv)
  getenv = getenv or os_getenv
  local http = env(getenv, "http_proxy", "all_proxy", "ALL_PROXY")
  local https = env(getenv, "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
  if not http and not https then return false end
  return {http = http, https = https, no_proxy = env(getenv, "no_proxy", "NO_PROXY")}
end

--- The proxy for URL table u: a parsed proxy URL (with user/password for
-- Proxy-Authorization) or nil for a direct connection; nil, err when the
-- configured proxy is malformed.  `setting` is false (none), a URL string
-- (every scheme), a table {http=, https=, no_proxy=}, or nil (read the
-- environment with `getenv`, default os.getenv).
function _M.select(u, setting, getenv)
  if setting == nil then setting = _M.from_env(getenv) end
  if not setting then return nil end
  local chosen, no_proxy = setting, nil
  if type(setting) == "table" then chosen, no_proxy = setting[u.scheme], setting.no_proxy end
  if not chosen or _M.bypass(no_proxy, u.host, u.port) then return nil end
  return parse_proxy(chosen)
end

return _M
