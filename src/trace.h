/*
 * trace.h -- one line hook for every green thread (trace.c).
 */
#ifndef EVENTLET_TRACE_H
#define EVENTLET_TRACE_H

#include <lua.h>
#include <lauxlib.h>

extern const luaL_Reg eh_trace_funcs[];

#endif
