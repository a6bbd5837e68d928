--- Fuzz driver: the client's response path.  The input's first byte
-- says whether the request was HEAD and how the rest is cut into reads;
-- the bytes go through the parser eventlet.httpc uses (wire.parser),
-- once whole and once in pieces, and both must agree -- interim 1xx
-- heads, bodies by length, chunks or connection close included.
local wire = require "eventlet.httpc.wire"
local feed = require "http_feed"

return function(input)
  if #input < 1 then return end
  local skip_body = input:byte(1) % 2 == 1
  local cuts, bytes = input:sub(2, 5), input:sub(6)
  local whole = feed.feed(wire.parser(), {bytes}, nil, skip_body)
  local split = feed.feed(wire.parser(), feed.pieces(bytes, cuts), nil, skip_body)
  feed.same(whole, split, "whole and split reads")
end
