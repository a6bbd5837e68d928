/*
 * gzip.h -- zlib inflate for HTTP bodies (Content-Encoding: gzip/deflate).
 */
#ifndef EVENTLET_GZIP_H
#define EVENTLET_GZIP_H

#include <lua.h>
#include <lauxlib.h>

void eh_open_gzip(lua_State *L);
extern const luaL_Reg eh_gzip_funcs[];

#endif
