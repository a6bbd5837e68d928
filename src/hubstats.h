/*
 * hubstats.h -- loop lag and wait counts (hubstats.c): core.lag_monitor(),
 * core.lag_stats(), core.wait_counts().
 */
#ifndef EVENTLET_HUBSTATS_H
#define EVENTLET_HUBSTATS_H

#include "hub.h"

extern const luaL_Reg eh_hubstats_funcs[];

#endif
