/*
 * umask.c -- umask([mask]) -> the previous mask: lets Lua create files and
 * Unix sockets private from birth (the backdoor binds its socket under
 * umask 0177, so it is 0600 with no window where others could connect).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include "umask.h"

/* umask([mask]) -> previous mask; without an argument, reads it (by
 * setting and restoring).  [-0, +1, e] */
static int l_umask(lua_State *L) {
  mode_t old;
  if (lua_isnoneornil(L, 1)) {
    old = umask(0077);
    umask(old);
  } else {
    lua_Integer mask = luaL_checkinteger(L, 1);
    luaL_argcheck(L, mask >= 0 && mask <= 0777, 1, "mask must be in 0..0777");
    old = umask((mode_t)mask);
  }
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}

const luaL_Reg eh_umask_funcs[] = {{"umask", l_umask}, {NULL, NULL}};
