/*
 * syslog_sink.h -- the syslog sink of eventlet.logutil (syslog.c); not
 * named syslog.h, which would hide <syslog.h> under -Isrc.
 */
#ifndef EVENTLET_SYSLOG_H
#define EVENTLET_SYSLOG_H

#include <lua.h>
#include <lauxlib.h>

void eh_open_syslog(lua_State *L);
extern const luaL_Reg eh_syslog_funcs[];

#endif
