--- Fuzz driver: eventlet.httpc.url.  The input is a URL, optionally
-- followed by "\n" and a reference to resolve against it and then a
-- query; parse must return a table or nil, err, never raise, and what
-- it parsed must survive build -> parse unchanged (but the fragment,
-- which build leaves out as a request target does).
local url = require "eventlet.httpc.url"

local FIELDS = {"scheme", "host", "port", "path", "query"}   -- build drops the fragment

return function(input)
  local s, ref, query = input:match("^([^\n]*)\n?([^\n]*)\n?(.*)$")
  url.decode_query(s)
  url.decode(s, true)
  url.encode(s)
  url.with_query(s, query)
  url.with_query(s, url.decode_query(query))
  local u, err = url.parse(s)
  if not u then
    assert(type(err) == "string", "parse failed without a reason")
    return
  end
  local again = assert(url.parse(url.build(u)), "build(parse(s)) does not parse")
  for _, f in ipairs(FIELDS) do
    if again[f] ~= u[f] then
      error(("field %s changed by build: %q -> %q"):format(f, tostring(u[f]), tostring(again[f])))
    end
  end
  url.host_header(u)
  url.origin(u)
  url.target(u)
  url.resolve(u, ref)
end
