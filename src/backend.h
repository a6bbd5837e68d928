/*
 * backend.h -- libev backends by name: EVENTLET_HUB and eventlet.use_hub().
 */
#ifndef EVENTLET_BACKEND_H
#define EVENTLET_BACKEND_H

#include <lua.h>
#include <lauxlib.h>

/* The libev backend flag for a name ("epoll", "poll", "select", "kqueue",
 * "linuxaio", "iouring"; NULL, "" or "default" = EVFLAG_AUTO).  Raises
 * "<source>=<name>: unknown backend" or "...: backend not available here"
 * naming `source` (e.g. "EVENTLET_HUB" or "use_hub"). */
unsigned eh_backend_flag(lua_State *L, const char *name, const char *source);

/* The name of the backend a loop runs on. */
const char *eh_backend_name(unsigned backend);

extern const luaL_Reg eh_backend_funcs[];

#endif
