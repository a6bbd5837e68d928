--- Fuzz driver: the server's request path.  The input's first byte picks
-- how the rest is cut into reads; the bytes go through an HttpParser
-- with the server's default limits and Request as the message metatable
-- (as eventlet.httpd builds it), once whole and once in pieces: both
-- must see the same requests, bodies and errors, and Request's query
-- helpers must cope with any target.
local core = require "eventlet.core"
local httpd = require "eventlet.httpd"
local Request = require "eventlet.httpd.request"
local feed = require "http_feed"

local defaults = httpd.defaults
local LIMITS = {max_request_line = defaults.max_request_line,
                max_header_line = defaults.max_header_line,
                max_header_size = defaults.max_header_size,
                max_headers = defaults.max_headers,
                max_body = defaults.max_body}

-- Exercise what a handler does with a request head.
local function use(req)
  local line = {}
  for _, p in ipairs(req:query_pairs()) do line[#line + 1] = p[1] .. "=" .. p[2] end
  req:args()
  req:get_header("Host")
  return "query " .. table.concat(line, "&") .. " line " .. req:request_line()
end

return function(input)
  local cuts, bytes = input:sub(1, 4), input:sub(5)
  local whole = feed.feed(core.http_parser("request", LIMITS, Request), {bytes}, use)
  local split = feed.feed(core.http_parser("request", LIMITS, Request), feed.pieces(bytes, cuts), use)
  feed.same(whole, split, "whole and split reads")
end
