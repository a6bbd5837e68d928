/*
 * watchdog.h -- the blocking watchdog (watchdog.c): core.watchdog().
 */
#ifndef EVENTLET_WATCHDOG_H
#define EVENTLET_WATCHDOG_H

#include "hub.h"

extern const luaL_Reg eh_watchdog_funcs[];

#endif
