/*
 * umask.h -- core.umask() (umask.c).
 */
#ifndef EVENTLET_UMASK_H
#define EVENTLET_UMASK_H

#include "hub.h"

extern const luaL_Reg eh_umask_funcs[];

#endif
