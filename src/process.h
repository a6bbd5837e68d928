/*
 * process.h -- child processes: posix_spawn with pipes, exit status from
 * libev's child watcher, kill, and fork() support.  See process.c.
 */
#ifndef EVENTLET_PROCESS_H
#define EVENTLET_PROCESS_H

#include "hub.h"

#define EH_PROCESS_MT "eventlet.ChildProcess"

/* process.c */
void eh_open_process(lua_State *L);
extern const luaL_Reg eh_process_funcs[];

#endif
