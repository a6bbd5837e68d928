rockspec_format = "3.0"
package = "eventlet-lua"
version = "scm-1"
source = {
  url = "git+https://eventlet-lua.invalid/eventlet-lua.git",  -- luarocks make builds the checkout
}
description = {
  summary = "Green threads for Lua 5.4: eventlet rebuilt on libev, OpenSSL and llhttp",
  detailed = [[
Blocking-looking networking code that runs thousands of green threads on one
hub: sockets, TLS, an HTTP server and client, child processes, coordination
primitives and a live REPL backdoor.  Installs `require "eventlet"` and the
eventlet-lua host (a lua(1)-compatible interpreter that runs scripts as green
threads).
]],
  license = "MIT",
}
-- lua-cjson (used by eventlet.jsonhttp) comes from Debian's lua-cjson
-- package, which is not a rock: install with --deps-mode=none after
-- `make deps`; eventlet.jsonhttp says what to install if it is missing.
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  LIBEV = { header = "ev.h", library = "ev" },
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
  ZLIB = { header = "zlib.h", library = "z" },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = {
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "install",
  install_variables = {
    PREFIX = "$(PREFIX)",
    BINDIR = "$(BINDIR)",
    LUADIR = "$(LUADIR)",
    LIBDIR = "$(LIBDIR)",
  },
}
