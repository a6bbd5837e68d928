#!/bin/sh
# Prove the rock: `luarocks make` from this checkout into a throwaway tree,
# then run a script with what was installed -- through the installed
# eventlet-lua host and through plain lua5.4.
set -eu
cd "$(dirname "$0")/.."
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
luarocks --lua-version=5.4 make --tree "$tree" --deps-mode=none \
  eventlet-lua-scm-1.rockspec >"$tree/luarocks.log" 2>&1 || {
  cat "$tree/luarocks.log"; exit 1; }
probe='local e = require "eventlet"
local gt = e.spawn(function(x) e.sleep(0.01) return x * 2 end, 21)
assert(gt:wait() == 42)
assert(package.searchpath("eventlet", package.path):find(os.getenv("TREE"), 1, true))
print("rock ok")'
TREE=$tree "$tree/bin/eventlet-lua" -e "$probe"
TREE=$tree LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$tree/lib/lua/5.4/?.so;;" lua5.4 -e "$probe"
